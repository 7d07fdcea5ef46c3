"""Real `nbgrader autograde` over each assignment's demo and wrong submissions.

One nbgrader call per assignment grades the reference solution, the untouched release,
every mutant declared in autograder/mutants/<assignment>.yml (wrong work that must lose
exactly its cells) and every alternate in autograder/alternates/<assignment>.yml (correct
work in another style that must earn full marks).
"""

import pytest

from autograder.grading import (
    alternate_student_id, apply_alternate, fill_solutions, load_alternates, load_mutants,
    mutant_student_id, read_notebook, total,
)
from conftest import COURSE, ASSIGNMENT_IDS


def lost_cells(cell_scores):
    return sorted(k for k, s in cell_scores.items() if not s.manual and s.score < s.max_score)


def cell_errors(course, assignment, student, grade_ids):
    """{grade_id: the error (or stderr) a graded test cell showed} in a student's autograded notebook."""
    path = course.root / "autograded" / student / assignment.name / assignment.notebook
    if not path.is_file():
        return {}
    errors = {}
    for cell in read_notebook(path).cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id not in grade_ids:
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                errors[grade_id] = f"{output.ename}: {output.evalue}"
            elif output.output_type == "stream" and output.name == "stderr":
                errors.setdefault(grade_id, f"wrote to stderr: {output.text[:300]}")
    return errors


def graded_row(graded, assignment, student):
    _, _, scores, process = graded[assignment.name]
    assert student in scores, (
        f"{assignment.name}: no gradebook row for {student}\n{process.stdout[-3000:]}{process.stderr[-3000:]}")
    return scores[student]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", COURSE, ids=ASSIGNMENT_IDS)
def test_reference_solution_earns_full_marks(graded, assignment):
    cells = graded_row(graded, assignment, "reference")
    assert not lost_cells(cells), f"reference lost points in {lost_cells(cells)}"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", COURSE, ids=ASSIGNMENT_IDS)
def test_reference_notebook_runs_top_to_bottom_without_errors(graded, assignment):
    """Every cell of the graded reference runs without an error; test cells write no stderr."""
    _, course, _, _ = graded[assignment.name]
    path = (course.root / "autograded" / "reference" / assignment.name / assignment.notebook)
    nb = read_notebook(path)
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            assert output.output_type != "error", (
                f"cell {index} raised {output.ename}: {output.evalue}")
            is_test = cell.get("metadata", {}).get("nbgrader", {}).get("grade")
            assert not (is_test and output.output_type == "stream" and output.name == "stderr"), (
                f"test cell {index} wrote to stderr: {output.text[:300]}")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", COURSE, ids=ASSIGNMENT_IDS)
def test_untouched_release_earns_zero(graded, assignment):
    cells = graded_row(graded, assignment, "untouched")
    score, maximum = total(cells)
    assert maximum > 0 and score == 0, f"untouched release scored {score}/{maximum}"


MUTANTS = [(a, m) for a in COURSE for m in load_mutants(a)]


@pytest.mark.slow
@pytest.mark.parametrize("assignment,mutant", MUTANTS,
                         ids=[f"{a.name}:{m['name']}" for a, m in MUTANTS])
def test_wrong_submission_loses_exactly_its_points(graded, assignment, mutant):
    cells = graded_row(graded, assignment, mutant_student_id(mutant))
    assert lost_cells(cells) == sorted(mutant["fails"]), (
        f"mutant {mutant['name']} ({mutant.get('why', '')}) lost points in {lost_cells(cells)}, "
        f"expected exactly {sorted(mutant['fails'])}")


@pytest.mark.parametrize("assignment", COURSE, ids=ASSIGNMENT_IDS)
def test_every_hidden_test_cell_is_failed_by_some_mutant(assignment):
    nb = read_notebook(assignment.source_notebook)
    hidden = {c.metadata.nbgrader.grade_id for c in nb.cells
              if c.metadata.get("nbgrader", {}).get("grade") and "### BEGIN HIDDEN TESTS" in c.source}
    caught = {cell for m in load_mutants(assignment) for cell in m["fails"]}
    assert hidden <= caught, f"no mutant fails {sorted(hidden - caught)}: a test that cannot fail"


ALTERNATES = [(a, alt) for a in COURSE for alt in load_alternates(a)]


@pytest.mark.slow
@pytest.mark.parametrize("assignment,alternate", ALTERNATES,
                         ids=[f"{a.name}:{alt['name']}" for a, alt in ALTERNATES])
def test_correct_work_in_another_style_earns_full_marks(graded, assignment, alternate):
    student = alternate_student_id(alternate)
    cells = graded_row(graded, assignment, student)
    lost = lost_cells(cells)
    if lost:
        _, course, _, _ = graded[assignment.name]
        errors = cell_errors(course, assignment, student, set(lost))
        details = "\n".join(f"  {cell}: {errors.get(cell, 'no error shown')}" for cell in lost)
        raise AssertionError(
            f"alternate {alternate['name']} ({alternate['why']}) is correct but lost points in:\n{details}")


@pytest.mark.parametrize("assignment", COURSE, ids=ASSIGNMENT_IDS)
def test_alternates_replace_solution_cells_only(assignment):
    """Every alternate file loads, and each alternate changes only solution cells of the reference."""
    source = read_notebook(assignment.source_notebook)
    reference = fill_solutions(source, source)
    for alternate in load_alternates(assignment):
        replaced = apply_alternate(reference, alternate)
        changed = [c.metadata.get("nbgrader", {}) for old, c in zip(reference.cells, replaced.cells)
                   if old.source != c.source]
        assert changed and all(meta.get("solution") for meta in changed), alternate["name"]


@pytest.mark.skipif("01_rnn_step_by_step" not in ASSIGNMENT_IDS,
                    reason="COURSE_ONLY leaves out 01_rnn_step_by_step")
@pytest.mark.parametrize("cells,problem", [
    ({"no_such_cell": "x = 1"}, "are not solution cells"),
    ({"test_rnn_cell_forward": "pass"}, "are not solution cells"),
    ({}, "cells must map grade ids to sources"),
])
def test_malformed_alternate_is_named_with_its_problem(tmp_path, monkeypatch, cells, problem):
    import yaml
    import autograder.grading as grading

    assignment = grading.get_assignment("01_rnn_step_by_step")
    monkeypatch.setattr(grading, "ALTERNATES_DIR", tmp_path)
    (tmp_path / f"{assignment.name}.yml").write_text(
        yaml.safe_dump([{"name": "broken", "why": "a test", "cells": cells}]))
    with pytest.raises(ValueError, match=f"alternate broken: .*{problem}"):
        load_alternates(assignment)
