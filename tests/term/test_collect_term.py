"""A term through collect itself, on 00_setup: a snapshot at the deadline, late work taken
by a second snapshot into the same manifest, collect with an extension, then a regrade of
one student. grades.csv carries the due date, the snapshot times and the penalties; every
collect writes the class report and the grading log."""

import csv
import json
import subprocess
import time
from datetime import datetime, timezone

import nbformat
import pytest

from autograder import collect, grading
from autograder.export import main as export_main
from autograder.grading import apply_mutant, fill_solutions, get_assignment, load_mutants, read_notebook
from autograder.term import deadlines, regrades
from conftest import ASSIGNMENT_IDS
from test_collect import GIT_ENV, git, make_student_repo, write_roster

ASSIGNMENT = "00_setup"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(ASSIGNMENT not in ASSIGNMENT_IDS, reason="COURSE_ONLY leaves it out")]


def course_with_due(tmp_path, due):
    """course.toml with ``due`` on 00_setup and a late policy without grace: 10% a day."""
    text = grading.COURSE_FILE.read_text()
    text = text.replace(f'name = "{ASSIGNMENT}"\n', f'name = "{ASSIGNMENT}"\ndue = {due.isoformat()}\n')
    text = text.split("\n[late]")[0] + "\n[late]\nper_day = 10\ncap = 50\n"
    path = tmp_path / "course.toml"
    path.write_text(text)
    return path


def pushed(student_repo, nb, notebook):
    """The student commits ``nb`` to their repository (the grader's snapshot fetches it)."""
    nbformat.write(nb, str(student_repo / notebook))
    git(student_repo, "commit", "-q", "-am", "work")


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    root = tmp_path_factory.mktemp("term")
    assignment = get_assignment(ASSIGNMENT)
    assert export_main([str(root / "export"), "--assignment", ASSIGNMENT]) == 0
    release = read_notebook(root / "export" / "assignments" / ASSIGNMENT / assignment.notebook)
    reference = fill_solutions(release, read_notebook(assignment.source_notebook))
    notebook = f"assignments/{ASSIGNMENT}/{assignment.notebook}"
    remotes, clones = root / "github", root / "clones"
    for login in ("ann", "ben", "cat"):  # each student's repository, and the grader's clone
        make_student_repo(root / "export", remotes / f"rnn-course-{login}")
        subprocess.run(["git", "clone", "-q", str(remotes / f"rnn-course-{login}"),
                        str(clones / f"rnn-course-{login}")], check=True)
    pushed(remotes / "rnn-course-ann", reference, notebook)
    manifest = root / "manifests" / f"{ASSIGNMENT}.json"
    assert collect.take_snapshot(clones, manifest) == []       # at the deadline
    time.sleep(1.5)
    due = datetime.now(timezone.utc).replace(microsecond=0)
    time.sleep(1.5)
    pushed(remotes / "rnn-course-cat", reference, notebook)   # late work
    pushed(remotes / "rnn-course-ben", apply_mutant(reference, load_mutants(assignment)[0]),
           notebook)                                        # late too, with an extension
    assert collect.take_snapshot(clones, manifest) == []       # when the late window closes
    roster = write_roster(root / "roster.csv", ["student_id", "github_username", "first_name", "email"],
                          [["ann", "ann", "Ann", "ann@uni.example"], ["ben", "ben", "Ben", ""],
                           ["cat", "cat", "Cat", ""], ["dan", "dan", "Dan", ""]])
    (root / "extensions.csv").write_text(f"student_id,assignment,days\nben,{ASSIGNMENT},1\n")
    return root, manifest, roster, due


def run_collect(root, manifest, roster, due, *options):
    with pytest.MonkeyPatch.context() as patch:
        course = course_with_due(root, due)
        patch.setattr(grading, "COURSE_FILE", course)
        patch.setattr(deadlines, "COURSE_FILE", course)
        for name, value in GIT_ENV.items():
            patch.setenv(name, value)
        return collect.main([str(root / "clones"), "--roster", str(roster), "--out",
                             str(root / "grading"), "--manifest", str(manifest), "--workers", "1",
                             *options])


def grades(root):
    with open(root / "grading" / "grades.csv", newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def collected(term):
    root, manifest, roster, due = term
    assert run_collect(root, manifest, roster, due) == 0
    return root, manifest, roster, due


def test_grades_carry_due_date_snapshot_time_and_penalty(collected):
    root, manifest, _, due = collected
    rows = grades(root)
    snapshot = json.loads(manifest.read_text())["clones"]
    full = float(rows["ann"]["max_score"])
    for student in ("ann", "ben", "cat"):
        seen = datetime.fromisoformat(snapshot[f"rnn-course-{student}"]["fetched"])
        assert rows[student]["timestamp"].startswith(seen.strftime("%Y-%m-%d %H:%M:%S")), \
            "the time counts when the grader saw the commit"
        assert rows[student]["duedate"].startswith(due.strftime("%Y-%m-%d %H:%M:%S"))
    assert float(rows["ann"]["late_submission_penalty"] or 0) == 0 and float(rows["ann"]["score"]) == full
    assert float(rows["cat"]["late_submission_penalty"]) == pytest.approx(0.1 * full), \
        "cat pushed after the due date: one started day, 10%"
    assert float(rows["ben"]["late_submission_penalty"] or 0) == 0, "ben had a day's extension"
    assert rows["dan"]["timestamp"] == "" and float(rows["dan"]["score"]) == 0
    assert rows["ann"]["first_name"] == "Ann" and rows["ann"]["email"] == "ann@uni.example"
    report = (root / "grading" / "report.txt").read_text()
    assert f"late: {ASSIGNMENT}: cat seen" in report
    assert (root / "grading" / "report.html").is_file()
    assert (root / "grading" / "report" / f"scores-{ASSIGNMENT}.png").is_file()
    assert (root / "grading" / "lms" / "canvas.csv").is_file()


def test_student_option_regrades_only_them_and_keeps_the_old_score(collected):
    root, manifest, roster, due = collected
    log = regrades.read_log(type("Folder", (), {"root": root / "grading"}))
    assert set(log[ASSIGNMENT]) == {"ann", "ben", "cat"}
    assert run_collect(root, manifest, roster, due, "--student", "ben") == 0
    after = regrades.read_log(type("Folder", (), {"root": root / "grading"}))
    assert after[ASSIGNMENT]["ann"] == log[ASSIGNMENT]["ann"], "ann was not regraded"
    assert len(after[ASSIGNMENT]["ben"]["earlier"]) == 1, "ben's earlier grading is kept"
    with pytest.raises(SystemExit, match="--student mallory: not a student id"):
        run_collect(root, manifest, roster, due, "--student", "mallory")
