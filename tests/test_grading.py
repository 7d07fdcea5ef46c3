"""Real `nbgrader autograde` over each assignment's demo and wrong submissions.

One nbgrader call per assignment grades the reference solution, the untouched release and
every mutant declared in autograder/mutants/<assignment>.yml.
"""

import pytest

from autograder.grading import load_mutants, mutant_student_id, read_notebook, total
from conftest import COURSE, ASSIGNMENT_IDS


def lost_cells(cell_scores):
    return sorted(k for k, s in cell_scores.items() if not s.manual and s.score < s.max_score)


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
