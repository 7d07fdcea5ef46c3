"""Shared fixtures: every assignment graded once per test session, all submissions at once."""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from autograder.grading import load_alternates, load_course, load_mutants, self_grade

COURSE = load_course()
ASSIGNMENT_IDS = [a.name for a in COURSE]


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """{assignment name: (assignment, course, scores, process)} for reference, untouched,
    every mutant and every alternate, graded through real `nbgrader autograde` (two assignments at a time)."""
    root = tmp_path_factory.mktemp("graded")
    workers = int(os.environ.get("COURSE_GRADING_WORKERS", "2"))

    def grade(assignment):
        course, _, scores, process = self_grade(
            assignment, root / assignment.name, mutants=load_mutants(assignment),
            alternates=load_alternates(assignment))
        return assignment.name, (assignment, course, scores, process)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(grade, COURSE))
