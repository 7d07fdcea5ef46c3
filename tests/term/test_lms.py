"""Names and emails from the roster's optional columns; the Canvas and Moodle grade CSVs."""

import csv
import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from autograder.grading import get_assignment
from autograder.term import deadlines, lms, people

from .conftest import ASSIGNMENT, Work

ROSTER = [["student_id", "github_username", "First_Name", "last_name", "email", "canvas_id", "section"],
          ["ann", "ann-gh", "Ann", "Lee", "ann@uni.example", "1001", "A"],
          ["ben", "ben-gh", "", "", "", "", ""],
          ["cat", "cat-gh", "Cat", "Ng", "cat@uni.example", "1003", "B"]]


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_people_come_from_optional_roster_columns(tmp_path):
    found = people.read_people(write_csv(tmp_path / "roster.csv", ROSTER))
    assert found["ann"] == people.Person("ann", "Ann", "Lee", "ann@uni.example", "ann", "1001", "A")
    assert found["ben"] == people.Person("ben", sis_id="ben")
    assert found["ann"].sortable_name == "Lee, Ann"
    classroom = people.read_people(write_csv(tmp_path / "classroom.csv", [
        ["identifier", "github_username", "github_id", "name"], ["s1", "dee", "7", "Dee Diaz"]]))
    assert classroom["s1"].full_name == "Dee Diaz"
    with pytest.raises(ValueError, match="needs a student_id"):
        people.read_people(write_csv(tmp_path / "bad.csv", [["name", "email"], ["a", "b"]]))


@pytest.fixture
def graded_class(grading_folder, tmp_path):
    """ann full marks, late; ben 3 of 5 on time; cat no submission."""
    folder = grading_folder([Work("ann", seen="2026-10-07 09:00:00"),
                             Work("ben", scores={"test_softmax_hidden": 0})],
                            ["ann", "ben", "cat"])
    due = datetime(2026, 10, 5, 23, 59, tzinfo=timezone(timedelta(hours=2)))
    deadlines.apply_deadlines(folder, [dataclasses.replace(get_assignment(ASSIGNMENT), due=due)])
    found = people.read_people(write_csv(tmp_path / "roster.csv", ROSTER))
    return folder, found


def test_names_and_emails_reach_grades_csv(graded_class):
    folder, found = graded_class
    people.write_people(folder, found)
    rows = {row["student_id"]: row for row in csv.DictReader(open(deadlines.write_grades(folder)))}
    assert (rows["ann"]["first_name"], rows["ann"]["last_name"], rows["ann"]["email"]) == (
        "Ann", "Lee", "ann@uni.example")
    assert rows["ben"]["first_name"] == rows["ben"]["email"] == ""


def test_canvas_and_moodle_files_hold_the_points_that_count(graded_class):
    folder, found = graded_class
    canvas, moodle = lms.write_lms_files(folder, found)
    penalty = deadlines.load_late_policy().penalty(5, 35 * 3600 + 60)  # 2 started days late
    ann = f"{5 - penalty:g}"
    assert read_csv(canvas) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT],
        ["Points Possible", "", "", "", "", "5"],
        ["ben", "", "ben", "", "", "3"],
        ["Lee, Ann", "1001", "ann", "ann@uni.example", "A", ann],
        ["Ng, Cat", "1003", "cat", "cat@uni.example", "B", "0"]]
    assert read_csv(moodle) == [
        ["First name", "Last name", "ID number", "Email address", ASSIGNMENT],
        ["", "", "ben", "", "3"],
        ["Ann", "Lee", "ann", "ann@uni.example", ann],
        ["Cat", "Ng", "cat", "cat@uni.example", "0"]]
    assert float(ann) < 5, "ann was late: the LMS gets the points after the penalty"


def test_command_line_writes_both_files(graded_class, tmp_path, capsys):
    folder, _ = graded_class
    assert lms.main([str(folder.root), "--roster", str(tmp_path / "roster.csv")]) == 0
    assert capsys.readouterr().out.split() == [str(folder.root / "lms" / "canvas.csv"),
                                               str(folder.root / "lms" / "moodle.csv")]
