"""What a student sees: the exported student repository in JupyterLab, started as its README says.

The first two assignments open, run from the top without an error before the first answer,
show typeset equations and their figures, and Validate fails the untouched notebook and
passes one filled with the reference answers. No instructor tools, no exchange warnings, no
errors in the browser's console.
"""

import re
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.export import export
from autograder.grading import fill_solutions, get_assignment, read_notebook
from .labpage import (
    TOKEN, free_port, lab_options, lab_url, menu, open_notebook, running_lab, screenshot, scroll_to,
    user_env, validate,
)

pytestmark = pytest.mark.slow  # starts JupyterLab and runs notebooks (about a minute)

ASSIGNMENTS = [get_assignment(name) for name in ("00_setup", "01_rnn_step_by_step")]
# Figures drawn by the code cells above each notebook's first answer cell.
FIGURES_BEFORE_FIRST_ANSWER = {"00_setup": 0, "01_rnn_step_by_step": 1}
ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"


def reference_name(assignment):
    return f"reference_{assignment.notebook}"


@pytest.fixture(scope="module")
def student_lab(tmp_path_factory):
    """(URL, repository, server log) of JupyterLab started in an export as its README says:
    `JUPYTER_CONFIG_PATH=.jupyter jupyter lab`, with the course's packages on PATH."""
    root = tmp_path_factory.mktemp("student")
    repo = export(root / "repo", ASSIGNMENTS)
    for a in ASSIGNMENTS:
        filled = fill_solutions(read_notebook(a.release_dir / a.notebook), read_notebook(a.source_notebook))
        nbformat.write(filled, str(repo / "assignments" / a.name / reference_name(a)))
    env = user_env(root / "home")
    env["JUPYTER_CONFIG_PATH"] = ".jupyter"
    port, log = free_port(), root / "jupyterlab.log"
    command = [str(Path(sys.executable).parent / "jupyter"), "lab", *lab_options(port)]
    with running_lab(command, repo, env, port, log) as url:
        yield url, repo, log


def first_answer_and_last_code_before(assignment):
    """Indices of the notebook's first answer (solution) cell and of the code cell before it."""
    cells = read_notebook(assignment.release_dir / assignment.notebook).cells
    first = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("solution"))
    return first, max(i for i, c in enumerate(cells[:first]) if c.cell_type == "code")


def test_lab_has_no_instructor_tools_and_no_exchange(student_lab, page):
    url, _, log = student_lab
    page.goto(lab_url(url))
    page.locator("#jp-main-dock-panel").wait_for(timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Help").wait_for()
    screenshot(page, "student-lab")
    menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Nbgrader" not in menus, f"students see the Nbgrader menu: {menus}"
    for tool in ("formgrader", "assignments", "courses"):
        response = page.request.get(f"{url}/{tool}?token={TOKEN}")
        assert response.status == 404, f"/{tool} answers {response.status}: its server extension runs"
    assert "exchange" not in log.read_text().lower(), log.read_text()
    assert page.console_errors == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=[a.name for a in ASSIGNMENTS])
def test_notebook_runs_typesets_draws_and_fails_validation_untouched(student_lab, page, assignment):
    url, _, _ = student_lab
    open_notebook(page, url, f"assignments/{assignment.name}/{assignment.notebook}")
    menu(page, "Run", "Run All Cells")
    first_answer, last_code_before = first_answer_and_last_code_before(assignment)
    cells = page.locator(".jp-Notebook .jp-Cell")
    # A cell's prompt shows its execution count, [3], once it has run (cells off screen are
    # in the page but hidden, hence "attached" and textContent below).
    cells.nth(last_code_before).locator(".jp-InputPrompt", has_text=re.compile(r"\[\d+\]")).wait_for(
        state="attached", timeout=120_000)
    scroll_to(cells.nth(last_code_before))
    screenshot(page, f"{assignment.name}-run-all")

    for i in range(first_answer):
        errors = cells.nth(i).locator(ERROR_OUTPUT)
        assert errors.count() == 0, f"cell {i} shows an error or stderr: {errors.all_text_contents()}"
        shown = cells.nth(i).locator(".jp-OutputArea-executeResult").all_text_contents()
        assert not any(text.strip() == "True" for text in shown), f"cell {i} shows a stray True"
    page.locator("mjx-container").first.wait_for(state="attached", timeout=30_000)
    raw = [t for t in page.locator(".jp-RenderedMarkdown").all_text_contents() if "$$" in t or "\\frac" in t]
    assert raw == [], f"equations not typeset: {raw[:2]}"
    figures = page.locator(".jp-OutputArea-output img")
    sizes = [figures.nth(i).evaluate("img => [img.naturalWidth, img.naturalHeight]")
             for i in range(figures.count())]
    assert len(sizes) >= FIGURES_BEFORE_FIRST_ANSWER[assignment.name], f"figures missing: {sizes}"
    assert all(width > 0 and height > 0 for width, height in sizes), f"empty figures: {sizes}"
    if sizes:
        scroll_to(figures.first)
        screenshot(page, f"{assignment.name}-figure")

    dialog = validate(page)
    screenshot(page, f"{assignment.name}-validate-untouched")
    assert "failed" in dialog.inner_text() and "Success" not in dialog.inner_text(), dialog.inner_text()[:500]
    assert page.console_errors == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=[a.name for a in ASSIGNMENTS])
def test_reference_answers_pass_validation(student_lab, page, assignment):
    url, _, _ = student_lab
    open_notebook(page, url, f"assignments/{assignment.name}/{reference_name(assignment)}")
    dialog = validate(page)
    screenshot(page, f"{assignment.name}-validate-reference")
    assert "Success" in dialog.inner_text(), dialog.inner_text()[:2000]
    assert page.console_errors == []
