"""Due dates, extensions and late penalties: from course.toml and extensions.csv into the
gradebook, through nbgrader's late-submission plugin, out to grades.csv."""

import csv
import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from autograder.grading import get_assignment, load_course
from autograder.term import deadlines
from autograder.term.deadlines import LatePolicy

from .conftest import ASSIGNMENT, Work

DAY = 86400
DUE = datetime(2026, 10, 5, 23, 59, tzinfo=timezone(timedelta(hours=2)))  # 21:59 UTC


@pytest.mark.parametrize("seconds_late,percent_off", [
    (0, 0), (29 * 60, 0),                  # within the grace: on time
    (31 * 60, 10), (DAY, 10),              # a started day counts whole
    (DAY + 1, 20), (4 * DAY, 40),
    (6 * DAY, 50),                         # capped
    (7 * DAY + 1, 100),                    # past the cut-off: zero
])
def test_policy_takes_a_percentage_per_started_day_capped_then_zero(seconds_late, percent_off):
    policy = LatePolicy(per_day=10, cap=50, cutoff_days=7, grace_minutes=30)
    assert policy.penalty(8.0, seconds_late) == pytest.approx(8.0 * percent_off / 100)


def test_no_late_table_means_no_penalty(tmp_path):
    (tmp_path / "course.toml").write_text('[[assignment]]\nname = "a"\nnotebook = "a.ipynb"\n'
                                          "timeout = 1\n")
    policy = deadlines.load_late_policy(tmp_path / "course.toml")
    assert policy.penalty(5, 30 * DAY) == 0 and policy.describe() == "no late penalty"


@pytest.mark.parametrize("table,problem", [
    ("per_dya = 10", "unknown keys ['per_dya']"),
    ('per_day = "ten"', "per_day = 'ten' must be a number"),
    ("cap = -5", "cap = -5 must be a number"),
])
def test_a_bad_late_table_is_named(tmp_path, table, problem):
    (tmp_path / "course.toml").write_text(f"[late]\n{table}\n")
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        deadlines.load_late_policy(tmp_path / "course.toml")


def test_due_dates_in_course_toml_need_their_time_zone(tmp_path, monkeypatch):
    from autograder import grading

    toml = tmp_path / "course.toml"
    monkeypatch.setattr(grading, "COURSE_FILE", toml)
    entry = '[[assignment]]\nname = "a"\nnotebook = "a.ipynb"\ntimeout = 1\n'
    toml.write_text(entry + "due = 2026-10-05T23:59:00+02:00\n")
    assert load_course()[0].due == DUE
    toml.write_text(entry + 'due = "2026-10-05T23:59+02:00"\n')
    assert load_course()[0].due == DUE
    toml.write_text(entry + "due = 2026-10-05T23:59:00\n")
    with pytest.raises(ValueError, match="a: due .* must be a date and time with its zone"):
        load_course()


def write_extensions(path, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([["student_id", "assignment", "days", "reason"], *rows])
    return path


def test_extensions_are_read_and_bad_rows_named_with_their_line(tmp_path):
    path = write_extensions(tmp_path / "extensions.csv",
                            [["ann", ASSIGNMENT, "2", "ill"], ["ben", ASSIGNMENT, "0.5", ""]])
    assert deadlines.read_extensions(path) == {("ann", ASSIGNMENT): timedelta(days=2),
                                               ("ben", ASSIGNMENT): timedelta(hours=12)}
    assert deadlines.read_extensions(tmp_path / "none.csv") == {}
    for row, problem in ((["ann", "99_nothing", "1", ""], "line 2: assignment '99_nothing' is not"),
                         (["ann", ASSIGNMENT, "two", ""], "line 2: days 'two' must be a number"),
                         (["ann", ASSIGNMENT, "-1", ""], "line 2: days '-1' must be a number")):
        with pytest.raises(ValueError, match=problem):
            deadlines.read_extensions(write_extensions(tmp_path / "bad.csv", [row]))
    with pytest.raises(ValueError, match="line 3: ann has a second extension"):
        deadlines.read_extensions(write_extensions(
            tmp_path / "twice.csv", [["ann", ASSIGNMENT, "1", ""], ["ann", ASSIGNMENT, "2", ""]]))
    assert deadlines.extensions_beside(tmp_path / "roster.csv") == tmp_path / "extensions.csv"


def grades_rows(folder):
    with open(folder.grades_csv, newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def test_penalties_follow_the_snapshot_time_extensions_and_policy_into_grades_csv(
        grading_folder, tmp_path):
    """Five students seen at different times, one with an extension, one without a
    submission: the gradebook's penalties and grades.csv are the policy's, and the command
    names the late ones."""
    seen = {"ann": "2026-10-05 21:00:00",     # before the due date
            "ben": "2026-10-05 22:10:00",     # 11 minutes after: the snapshot's grace
            "cat": "2026-10-07 09:00:00",     # 2 started days late
            "dan": "2026-10-07 09:00:00",     # as late, with a 2-day extension
            "eve": "2026-10-20 09:00:00"}     # past the cut-off
    folder = grading_folder([Work(s, seen=t, scores={"test_one_hot_hidden": 0})
                             for s, t in seen.items()], [*seen, "fay"])
    assignment = dataclasses.replace(get_assignment(ASSIGNMENT), due=DUE)
    extensions = deadlines.read_extensions(write_extensions(
        tmp_path / "extensions.csv", [["dan", ASSIGNMENT, "2", "family"]]))

    late = deadlines.apply_deadlines(folder, [assignment], extensions)
    deadlines.write_grades(folder)

    policy = deadlines.load_late_policy()
    raw = 4.0  # 5 points, the last hidden test failed
    due_utc = DUE.astimezone(timezone.utc).replace(tzinfo=None)
    expected = {s: policy.penalty(raw, (datetime.fromisoformat(t) - due_utc).total_seconds()
                                  - (2 * DAY if s == "dan" else 0)) for s, t in seen.items()}
    rows = grades_rows(folder)
    for student, penalty in expected.items():
        row = rows[student]
        assert float(row["late_submission_penalty"] or 0) == pytest.approx(penalty), row
        assert float(row["score"]) == pytest.approx(raw - penalty), row
        assert row["duedate"].startswith("2026-10-05 21:59:00"), row
        assert row["timestamp"].startswith(seen[student]), "the snapshot's time, as timestamp.txt"
    assert rows["fay"]["timestamp"] == "" and float(rows["fay"]["score"]) == 0
    assert [r.student for r in late] == [s for s in seen if policy.is_late(
        (datetime.fromisoformat(seen[s]) - due_utc).total_seconds() - (2 * DAY if s == "dan" else 0))]
    assert expected["cat"] > 0 and expected["eve"] == raw and expected["ann"] == expected["ben"] == 0


def test_a_due_date_taken_out_of_course_toml_clears_the_penalties(grading_folder):
    folder = grading_folder([Work("cat", seen="2026-10-09 09:00:00")], ["cat"])
    assignment = get_assignment(ASSIGNMENT)
    extension = {("cat", ASSIGNMENT): timedelta(days=1)}
    deadlines.apply_deadlines(folder, [dataclasses.replace(assignment, due=DUE)], extension)
    assert [r.student for r in deadlines.late_rows(folder, [assignment])] == ["cat"]
    assert deadlines.apply_deadlines(folder, [assignment], extension) == [], \
        "an extension without a due date is no deadline"
    deadlines.write_grades(folder)
    assert grades_rows(folder)["cat"]["duedate"] == ""
    assert float(grades_rows(folder)["cat"]["late_submission_penalty"] or 0) == 0


def test_nbgrader_config_names_the_course_plugin():
    assert isinstance(deadlines.late_plugin(), deadlines.CourseLatePenalty)


def test_command_line_reports_late_students(grading_folder, capsys, monkeypatch):
    folder = grading_folder([Work("cat", seen="2026-10-09 09:00:00")], ["cat"])
    due = dataclasses.replace(get_assignment(ASSIGNMENT), due=DUE)
    monkeypatch.setattr(deadlines.GradingFolder, "assignments", lambda self: [due])
    assert deadlines.main([str(folder.root)]) == 0
    out = capsys.readouterr().out
    assert f"{ASSIGNMENT}: cat seen 2026-10-09 09:00 UTC, due 2026-10-05 21:59 UTC: 3.5 days late" in out
    assert float(grades_rows(folder)["cat"]["late_submission_penalty"]) > 0


def test_a_snapshot_taken_again_makes_late_only_those_who_pushed_since():
    def entry(commit, fetched):
        return {"commit": commit, "ref": "origin/main", "fetched": fetched, "committed": fetched}

    on_time = {"taken": "2026-10-05T22:00:00+00:00", "repos": "/clones", "clones": {
        "rnn-course-ann": entry("a1", "2026-10-05T22:00:01+00:00"),
        "rnn-course-ben": entry("b1", "2026-10-05T22:00:02+00:00"),
        "rnn-course-cat": entry("c1", "2026-10-05T22:00:03+00:00")}}
    later = {"taken": "2026-10-08T09:00:00+00:00", "repos": "/clones", "clones": {
        "rnn-course-ann": entry("a1", "2026-10-08T09:00:01+00:00"),   # no new push
        "rnn-course-ben": entry("b2", "2026-10-08T09:00:02+00:00"),   # pushed late work
        "rnn-course-dan": entry("d1", "2026-10-08T09:00:03+00:00")}}  # a new clone; cat's fetch failed
    merged = deadlines.merge_snapshots(on_time, later)
    assert {name: (e["commit"], e["fetched"][:10]) for name, e in merged["clones"].items()} == {
        "rnn-course-ann": ("a1", "2026-10-05"), "rnn-course-ben": ("b2", "2026-10-08"),
        "rnn-course-cat": ("c1", "2026-10-05"), "rnn-course-dan": ("d1", "2026-10-08")}
    assert merged["taken"] == later["taken"]
    assert deadlines.merge_snapshots(None, later) is later
