"""Hand grading: points and a comment given to a written answer (as the Formgrader saves
them) reach grades.csv, the report and a feedback page made again; the Formgrader's command
runs in the grading folder with the course's configuration."""

import csv
import shutil
import subprocess

from autograder.feedback import html_text
from autograder.term import handgrading, refresh
from autograder.term.folder import configured_db_url

from .conftest import Work

HAND = "06_tf_char_rnn"  # the assignment with written answers
QUESTION = "question_lstm_vs_gru"
ANSWER = "The GRU merges the forget and input gates, so it has fewer weights to train."
COMMENT = "Right about the gates; say what the reset gate does."
SANDBOX = "bwrap" if shutil.which("bwrap") else "none"


def give_points(folder, student, points, comment):
    """What the Formgrader saves when a grader marks the answer (its grade API)."""
    with folder.gradebook() as gradebook:
        grade = gradebook.find_grade(QUESTION, "tf_char_rnn", HAND, student)
        grade.manual_score, grade.needs_manual_grade = points, False
        gradebook.find_comment(QUESTION, "tf_char_rnn", HAND, student).manual_comment = comment
        gradebook.db.commit()


def test_hand_scores_reach_grades_csv_the_report_and_a_new_feedback_page(grading_folder, tmp_path):
    folder = grading_folder([Work("ann", answers={QUESTION: ANSWER}), Work("ben")], ["ann", "ben"],
                            HAND, generated=True)
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,github_username,first_name,last_name\nann,ann,Ann,Lee\nben,ben,,\n")
    with open(refresh.write_grades(folder), newline="") as f:
        before = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}
    give_points(folder, "ann", 1.5, COMMENT)
    assert refresh.hand_graded(folder) == {HAND: ["ann"]}

    lines = refresh.refresh(folder, roster, sandbox=SANDBOX)

    assert not [line for line in lines if line.startswith("!")], lines
    with open(folder.grades_csv, newline="") as f:
        after = {row["student_id"]: row for row in csv.DictReader(f)}
    assert float(after["ann"]["raw_score"]) == before["ann"] + 1.5
    assert float(after["ben"]["raw_score"]) == before["ben"]
    assert after["ann"]["first_name"] == "Ann"
    page = html_text(folder.root / "feedback" / "ann" / HAND / "tf_char_rnn.html")
    assert COMMENT in page and ANSWER in page and "Written response (Score: 1.5 / 2.0)" in page
    assert "Test cell test_get_batches (Score: 1.0 / 1.0)" in " ".join(page.split()), "summary names tests"
    assert "Awaiting hand grading" not in page.split(ANSWER)[1][:200], "her answer is graded now"
    assert not (folder.root / "feedback" / "ben").exists(), "only hand-graded students' pages"
    with open(folder.root / "lms" / "canvas.csv", newline="") as f:
        assert [row for row in csv.reader(f) if row[0] == "Lee, Ann"][0][-1] == f"{before['ann'] + 1.5:g}"
    assert f"class report: {folder.root / 'report.html'}" in lines


def test_the_formgrader_runs_in_the_grading_folder_with_its_gradebook(grading_folder):
    folder = grading_folder([Work("ann")], ["ann"])
    command = handgrading.lab_command(folder, 8899)
    assert command[1:4] == ["-m", "jupyter", "lab"] and f"--ServerApp.root_dir={folder.root}" in command
    # nbgrader in the folder loads its configuration (it imports the course's autograder/)
    listed = subprocess.run([command[0], "-m", "nbgrader", "db", "student", "list"], cwd=folder.root,
                            env=handgrading.lab_environment(), capture_output=True, text=True)
    assert listed.returncode == 0 and "ann" in listed.stdout, listed.stderr[-2000:]
    assert configured_db_url(folder.root) == folder.db_url
