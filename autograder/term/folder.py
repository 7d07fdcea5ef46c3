"""The grading folder that collect writes, as the term tools read it.

    GRADING/
        nbgrader_config.py                 the course's configuration and the gradebook's URL
        gradebook.db                       nbgrader's gradebook (unless --db named another)
        submitted/<student>/<assignment>/  each notebook as committed, and timestamp.txt
        autograded/<student>/<assignment>/ each notebook as graded (outputs, messages)
        feedback/<student>/<assignment>/   each student's page
        grades.csv, report.txt             what collect writes at its end
"""

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.grading import ScratchCourse, load_course

DB_URL_LINE = re.compile(r"^c\.CourseDirectory\.db_url = (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class GradingFolder:
    """A grading folder and its gradebook's URL."""
    root: Path
    db_url: str

    @classmethod
    def open(cls, root, db=None):
        """The grading folder at ``root``; its gradebook is ``db`` when given, else the one its
        nbgrader_config.py names (collect writes it), else ``root/gradebook.db``.

        Raises ValueError when ``root`` holds no gradebook to read.
        """
        root = Path(root).resolve()
        db_url = db or configured_db_url(root) or f"sqlite:///{root / 'gradebook.db'}"
        if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///"):]).is_file():
            raise ValueError(f"{root}: no gradebook.db; give the folder that collect --out wrote "
                             "(or its --db)")
        return cls(root, db_url)

    def gradebook(self):
        """nbgrader's Gradebook on this folder's database (a context manager)."""
        from autograder.gradebook import open_gradebook

        return open_gradebook(self.db_url)

    def assignments(self):
        """The course assignments the gradebook holds, in teaching order."""
        with self.gradebook() as gradebook:
            names = {a.name for a in gradebook.assignments}
        return [a for a in load_course() if a.name in names]

    def autograded(self, student, assignment):
        """The path of a student's autograded notebook (it may not exist)."""
        return self.root / "autograded" / student / assignment.name / assignment.notebook

    @property
    def grades_csv(self):
        return self.root / "grades.csv"

    def course(self, sandbox="bwrap"):
        """A ScratchCourse on this folder, configured exactly as collect configures it
        (sandboxed, feedback without hidden tests), whose commands run in a sandbox or, with
        ``sandbox`` "none", without one."""
        from autograder.feedback import enable_feedback_without_hidden_tests

        course = ScratchCourse(self.root, db_url=self.db_url)
        enable_feedback_without_hidden_tests(course)
        course.sandbox = sandbox  # this run's choice; the folder's configuration stays sandboxed
        return course


@dataclass(frozen=True)
class Result:
    """A student's grade for one assignment, as grades.csv has it."""
    raw: float        # points earned, autograded and hand-graded
    penalty: float    # points taken off for lateness
    max_score: float
    submitted: bool   # False: no submission (zero)

    @property
    def score(self):
        """The points that count: the raw points less the penalty, never below zero."""
        return max(0.0, self.raw - self.penalty)


def results(folder, assignments=None):
    """{(assignment name, student): Result} for every student of the gradebook in every
    assignment it holds (or ``assignments``): a student without a submission has zero."""
    assignments = assignments or folder.assignments()
    found = {}
    with folder.gradebook() as gradebook:
        students = [s.id for s in gradebook.students]
        for assignment in assignments:
            maximum = gradebook.find_assignment(assignment.name).max_score
            for student in students:
                found[assignment.name, student] = Result(0.0, 0.0, maximum, False)
            for submission in gradebook.assignment_submissions(assignment.name):
                found[assignment.name, submission.student_id] = Result(
                    submission.score, submission.late_submission_penalty or 0.0, maximum, True)
    return found


def configured_db_url(root):
    """The gradebook URL that ``root/nbgrader_config.py`` sets last, or None."""
    config = Path(root) / "nbgrader_config.py"
    if not config.is_file():
        return None
    found = DB_URL_LINE.findall(config.read_text())
    return ast.literal_eval(found[-1]) if found else None


def write_grades(folder):
    """Write ``folder``'s grades.csv with nbgrader's CSV export (what `nbgrader export`
    writes: due date, timestamp, raw score, late penalty, score, names and emails); return
    its path."""
    from nbgrader.plugins import CsvExportPlugin

    with folder.gradebook() as gradebook:
        CsvExportPlugin(to=str(folder.grades_csv)).export(gradebook)
    return folder.grades_csv


def command_parser(doc):
    """An argument parser for a term command on a grading folder (GRADING and --db), described
    by the first line of the command's docstring ``doc``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("grading", help="the folder collect --out wrote")
    parser.add_argument("--db", metavar="URL", help="the gradebook, when collect had --db")
    return parser


def open_from_command_line(args):
    """The GradingFolder that parsed ``args`` name, or exit saying why there is none."""
    try:
        return GradingFolder.open(args.grading, args.db)
    except ValueError as err:
        sys.exit(f"error: {err}")
