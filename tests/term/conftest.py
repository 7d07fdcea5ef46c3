"""A grading folder as collect leaves it, made in a second with nbgrader's own API: the
real cells of a course assignment, a roster, and submissions with chosen scores, times,
failure messages and answers. No notebook is run."""

import copy
from dataclasses import dataclass, field
from datetime import datetime, timezone

import nbformat
import pytest

from autograder.feedback import enable_feedback_without_hidden_tests
from autograder.grading import ScratchCourse, get_assignment, nbgrader_cells, read_notebook
from autograder.term.folder import GradingFolder

ASSIGNMENT = "00_setup"  # the smallest: 5 test cells, 2 answer cells


@dataclass
class Work:
    """One student's submission: the points of each test cell not given full marks, the
    message of each failing cell, the source of each answer cell, when the grader saw it."""
    student: str
    scores: dict = field(default_factory=dict)    # {grade id: points}; others full marks
    messages: dict = field(default_factory=dict)  # {grade id: "AssertionError: ..."}
    answers: dict = field(default_factory=dict)   # {solution grade id: source}
    seen: str = "2026-10-05 20:00:00"             # UTC, as timestamp.txt holds it


def release(assignment):
    return read_notebook(assignment.release_dir / assignment.notebook)


def add_cells(gradebook, assignment, nb):
    """The assignment, its notebook and its graded and answer cells, as generate writes them."""
    notebook = assignment.notebook.removesuffix(".ipynb")
    gradebook.update_or_create_assignment(assignment.name)
    gradebook.add_notebook(notebook, assignment.name)
    for cell in nbgrader_cells(nb):
        meta = cell.metadata.nbgrader
        if meta.get("grade"):
            gradebook.add_grade_cell(meta["grade_id"], notebook, assignment.name,
                                     max_score=meta["points"], cell_type=cell.cell_type)
        if meta.get("solution"):
            gradebook.add_solution_cell(meta["grade_id"], notebook, assignment.name)


def notebook_of(nb, work, with_outputs):
    """The release with the student's answers; with ``with_outputs`` the failing cells carry
    their messages, as the autograded notebook does."""
    nb = copy.deepcopy(nb)
    for cell in nbgrader_cells(nb):
        grade_id = cell.metadata.nbgrader["grade_id"]
        if grade_id in work.answers:
            cell.source = work.answers[grade_id]
        if with_outputs and grade_id in work.messages:
            ename, _, evalue = work.messages[grade_id].partition(": ")
            cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                                   traceback=[work.messages[grade_id]])]
    return nb


def write_submission(folder, assignment, nb, work):
    course_folder = folder.root / "submitted" / work.student / assignment.name
    course_folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook_of(nb, work, False), str(course_folder / assignment.notebook))
    (course_folder / "timestamp.txt").write_text(f"{work.seen}.000000 UTC")
    graded = folder.autograded(work.student, assignment)
    graded.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook_of(nb, work, True), str(graded))


def make_grading_folder(root, works, roster, assignment_name=ASSIGNMENT, generated=False):
    """A grading folder in ``root`` for ``works`` (Work) with every ``roster`` student in
    its gradebook; return its GradingFolder. ``generated``: the assignment made by nbgrader
    generate_assignment, as collect makes it (seconds; what the Formgrader and
    generate_feedback need), not only its cells."""
    assignment = get_assignment(assignment_name)
    course = ScratchCourse(root, sandbox="none")  # nbgrader_config.py, naming the gradebook
    enable_feedback_without_hidden_tests(course)
    folder = GradingFolder(root.resolve(), f"sqlite:///{root.resolve() / 'gradebook.db'}")
    nb = release(assignment)
    if generated:
        course.generate(assignment)
    with folder.gradebook() as gradebook:
        if not generated:
            add_cells(gradebook, assignment, nb)
        for student in roster:
            gradebook.update_or_create_student(student)
        for work in works:
            seen = datetime.fromisoformat(work.seen).replace(tzinfo=timezone.utc)
            submission = gradebook.update_or_create_submission(
                assignment.name, work.student, timestamp=seen.replace(tzinfo=None))
            for grade in submission.notebooks[0].grades:
                if grade.cell.cell_type == "markdown":
                    grade.needs_manual_grade = True
                else:  # as nbgrader's SaveAutoGrades records a test cell
                    grade.auto_score = work.scores.get(grade.name, grade.max_score)
                    grade.needs_manual_grade = False
            gradebook.db.commit()
    for work in works:
        write_submission(folder, assignment, nb, work)
    return folder


@pytest.fixture
def grading_folder(tmp_path):
    """make_grading_folder in a fresh folder: grading_folder(works, roster, ...)."""
    return lambda works, roster, *args, **kwargs: make_grading_folder(
        tmp_path / "grading", works, roster, *args, **kwargs)
