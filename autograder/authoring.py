"""Cell constructors for writing nbgrader source notebooks from a Python script.

    from autograder.authoring import markdown, code, solution, tests, answer, write_notebook
    write_notebook("source/00_setup/setup.ipynb", [
        markdown("# Setup"),
        solution("softmax", "def softmax(x):\\n    ### BEGIN SOLUTION\\n    ...\\n    ### END SOLUTION"),
        tests("test_softmax", 2, "from utils.testing import check_close\\n..."),
    ])

The notebook written is validated like `make course` validates it (unique grade ids,
points on test cells, solution blocks, no outputs).
"""

import nbformat

from autograder.grading import check_source_notebook

SCHEMA_VERSION = 3


def _meta(grade_id, grade=False, solution=False, locked=False, points=None, task=False):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
            "schema_version": SCHEMA_VERSION, "solution": solution, "task": task}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def markdown(text, grade_id=None):
    """A markdown cell; with a grade_id it is locked (students cannot edit it)."""
    cell = nbformat.v4.new_markdown_cell(text.strip("\n"))
    if grade_id:
        cell.metadata = _meta(grade_id, locked=True)
    return cell


def code(source, grade_id=None):
    """A code cell; with a grade_id it is locked (students cannot edit it)."""
    cell = nbformat.v4.new_code_cell(source.strip("\n"))
    if grade_id:
        cell.metadata = _meta(grade_id, locked=True)
    return cell


def solution(grade_id, source):
    """A code cell the student completes; put the answer between ### BEGIN/END SOLUTION."""
    cell = nbformat.v4.new_code_cell(source.strip("\n"))
    cell.metadata = _meta(grade_id, solution=True)
    return cell


def tests(grade_id, points, source):
    """An autograded test cell worth ``points``; hidden tests go between
    ### BEGIN HIDDEN TESTS and ### END HIDDEN TESTS."""
    cell = nbformat.v4.new_code_cell(source.strip("\n"))
    cell.metadata = _meta(grade_id, grade=True, locked=True, points=points)
    return cell


def answer(grade_id, points, prompt="YOUR ANSWER HERE"):
    """A manually graded markdown answer cell worth ``points``."""
    cell = nbformat.v4.new_markdown_cell(prompt)
    cell.metadata = _meta(grade_id, grade=True, solution=True, points=points)
    return cell


def write_notebook(path, cells):
    """Write a source notebook (Python 3 kernel) and validate it; return the path."""
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.11"},
    }
    for index, cell in enumerate(nb.cells):  # stable ids keep diffs of rewritten notebooks small
        cell.id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell-{index:03d}"
    nbformat.validate(nb)
    nbformat.write(nb, str(path))
    check_source_notebook(path)
    return path
