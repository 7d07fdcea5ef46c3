"""Running a term on top of collect: what an instructor needs between the deadlines.

Each module works on a *grading folder*, the nbgrader course folder that
``python -m autograder.collect ... --out GRADING`` writes (its gradebook, grades.csv,
submitted/ and autograded/ notebooks), and has a command line of its own:

    folder       the grading folder: its gradebook, notebooks, grades.csv (no command)
    people       names, emails and LMS ids from optional roster columns into the gradebook
    deadlines    due dates, extensions and late penalties (nbgrader's late-submission plugin)
    regrades     which results are stale (the tests changed since), and the scores they had
    handgrading  the Formgrader on the grading folder; hand scores into grades and feedback
    report       report.html: plots and tables of the class, for the instructor
    lms          grades in the CSV formats Canvas and Moodle import
    similarity   pairs of submissions whose answers are unusually alike (copydetect)
    refresh      every step after grading, in order: what collect runs at its end
"""
