"""Stale results: a change to an assignment's tests makes its results stale; the log keeps
each student's earlier scores; --student names are checked against the roster."""

import shutil

import pytest

from autograder.grading import ROOT, get_assignment
from autograder.roster import Roster
from autograder.term import regrades

from .conftest import ASSIGNMENT, Work


@pytest.fixture
def course_copy(tmp_path, monkeypatch):
    """What decides a grade, copied to a folder of its own that the tests may edit."""
    root = tmp_path / "course"
    shutil.copytree(ROOT / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    shutil.copytree(ROOT / "utils", root / "utils",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", root)
    monkeypatch.setattr(regrades, "ROOT", root)
    return root


def test_a_changed_hidden_test_makes_the_results_graded_before_it_stale(grading_folder, course_copy):
    assignment = get_assignment(ASSIGNMENT)
    folder = grading_folder([Work("ann"), Work("ben", scores={"test_softmax_hidden": 0})],
                            ["ann", "ben"])
    assert regrades.stale_results(folder, [assignment]) == {ASSIGNMENT: ["ann", "ben"]}, \
        "results without a recorded version are stale"
    regrades.record_grading(folder, assignment, {"ann": 3.0, "ben": 4.5})
    assert regrades.stale_results(folder, [assignment]) == {}
    assert regrades.grading_seconds(folder) == {(ASSIGNMENT, "ann"): 3.0, (ASSIGNMENT, "ben"): 4.5}

    notebook = course_copy / "source" / ASSIGNMENT / assignment.notebook
    notebook.write_text(notebook.read_text().replace("### END HIDDEN TESTS",
                                                     "assert True\\n### END HIDDEN TESTS", 1))
    assert regrades.stale_results(folder, [assignment]) == {ASSIGNMENT: ["ann", "ben"]}
    assert regrades.describe_stale({ASSIGNMENT: ["ann", "ben"]}) == [
        f"{ASSIGNMENT}: stale results: ann, ben graded before its tests or the course changed "
        "(collect --regrade-stale regrades them)"]


def test_the_course_limits_count_and_compiled_files_do_not(course_copy):
    import dataclasses

    assignment = get_assignment(ASSIGNMENT)
    version = regrades.grading_version(assignment)
    (course_copy / "utils" / "__pycache__").mkdir(exist_ok=True)
    (course_copy / "utils" / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    assert regrades.grading_version(assignment) == version
    assert regrades.grading_version(dataclasses.replace(assignment, timeout=1)) != version
    (course_copy / "utils" / "course.py").write_text("# changed\n")
    assert regrades.grading_version(assignment) != version


def test_a_regrade_keeps_the_earlier_score_beside_the_new_one(grading_folder):
    assignment = get_assignment(ASSIGNMENT)
    folder = grading_folder([Work("ann", scores={"test_softmax_hidden": 0})], ["ann"])
    regrades.record_grading(folder, assignment, {"ann": 2.0})
    with folder.gradebook() as gradebook:  # a corrected hidden test now passes her work
        gradebook.find_grade("test_softmax_hidden", "setup", ASSIGNMENT, "ann").auto_score = 2
        gradebook.db.commit()
    regrades.record_grading(folder, assignment, {"ann": 2.5})
    [regrade] = regrades.regrades(folder)
    assert (regrade.student, regrade.before, regrade.after, regrade.max_score) == ("ann", 3, 5, 5)
    assert regrades.grading_seconds(folder) == {(ASSIGNMENT, "ann"): 2.5}


def test_chosen_students_are_ids_logins_or_repositories_of_the_roster():
    roster = Roster(by_repo={"carols-fork": "s3"}, by_login={"bob": "s1"},
                            students=["s1", "s3"])
    assert regrades.chosen_students(roster, ["s1", "rnn-course-bob", "Carols-Fork"]) == {"s1", "s3"}
    with pytest.raises(ValueError, match="--student mallory, zed: not a student id"):
        regrades.chosen_students(roster, ["mallory", "s1", "zed"])


def test_command_line_names_the_stale_results(grading_folder, capsys):
    folder = grading_folder([Work("ann")], ["ann"])
    assert regrades.main([str(folder.root)]) == 0
    assert f"{ASSIGNMENT}: stale results: ann graded before" in capsys.readouterr().out


def test_a_regrade_plan_regrades_the_chosen_and_names_the_stale(grading_folder, course_copy):
    assignment = get_assignment(ASSIGNMENT)
    folder = grading_folder([Work("ann"), Work("ben")], ["ann", "ben", "cat"])
    regrades.record_grading(folder, assignment, {"ann": 1.0})  # ben: graded before the log
    roster = Roster(by_login={"ann-gh": "ann", "ben-gh": "ben", "cat-gh": "cat"},
                            students=["ann", "ben", "cat"])
    plan = regrades.plan_regrades(folder, [assignment])
    assert (plan.regrade, plan.only) == ({ASSIGNMENT: set()}, None)
    assert plan.notes == regrades.describe_stale({ASSIGNMENT: ["ben"]}), "named, left as it is"
    plan = regrades.plan_regrades(folder, [assignment], stale=True)
    assert (plan.regrade, plan.notes) == ({ASSIGNMENT: {"ben"}}, [])
    plan = regrades.plan_regrades(folder, [assignment], regrades.chosen_students(roster, ["ann-gh"]))
    assert (plan.regrade, plan.only) == ({ASSIGNMENT: {"ann"}}, {"ann"})
    tasks = [type("Task", (), {"student": s}) for s in ("ann", "ben")]
    assert [t.student for t in plan.tasks(tasks)] == ["ann"]
    not_yet = get_assignment("01_rnn_step_by_step")  # never collected into this folder
    assert regrades.plan_regrades(folder, [not_yet]).regrade == {not_yet.name: set()}
