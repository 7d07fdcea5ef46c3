"""What an instructor sees: `make lab` in a fresh clone (no gradebook.db), then the Formgrader.

The Formgrader lists every assignment of course.toml on its first open, and its Generate
button on 00_setup writes a release identical to the committed one.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.grading import ROOT, load_course
from .labpage import free_port, lab_options, lab_url, menu, running_lab, screenshot, user_env

pytestmark = pytest.mark.slow  # starts JupyterLab and generates a release (about half a minute)

VENV = Path(sys.executable).parent.parent


@pytest.fixture(scope="module")
def instructor_lab(tmp_path_factory):
    """(URL, clone, server log) of `make lab` in a fresh clone of this repository, run with
    this test's .venv and a PATH without it (as a shell that never activated it)."""
    root = tmp_path_factory.mktemp("instructor")
    clone = root / "course"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if Path(p).resolve() != (VENV / "bin").resolve())
    port, log = free_port(), root / "make-lab.log"
    command = ["make", "-o", f"{VENV}/.installed", "lab", f"VENV={VENV}",  # -o: .venv is ready
               "LAB_ARGS=" + " ".join(lab_options(port))]
    with running_lab(command, clone, user_env(root / "home", path=path), port, log) as url:
        yield url, clone, log


@pytest.fixture(scope="module")
def formgrader(instructor_lab, browser):
    """The Formgrader opened from the Nbgrader menu for the first time: (tab, its frame)."""
    url, clone, _ = instructor_lab
    assert not (clone / "gradebook.db").exists()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.goto(lab_url(url))
    page.locator("#jp-main-dock-panel").wait_for(timeout=60_000)
    menu(page, "Nbgrader", "Formgrader")
    yield page, page.frame_locator("iframe[src*='formgrader']")
    page.close()


def test_formgrader_lists_every_assignment_on_first_open(instructor_lab, formgrader):
    _, _, log = instructor_lab
    page, frame = formgrader
    names = [a.name for a in load_course()]
    try:
        frame.locator("td.name", has_text=names[-1]).wait_for(timeout=60_000)
    finally:
        screenshot(page, "instructor-formgrader")
    listed = [text.strip() for text in frame.locator("td.name").all_inner_texts()]
    assert sorted(listed) == sorted(names), listed
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
    assert page.console_errors == []


def test_generate_leaves_the_committed_release_unchanged(instructor_lab, formgrader):
    _, clone, log = instructor_lab
    page, frame = formgrader
    row = frame.locator("tr", has=frame.locator("td.name", has_text="00_setup"))
    row.locator("td.assign a").click()
    try:
        frame.get_by_text("Successfully created the student version").wait_for(timeout=120_000)
    finally:
        screenshot(page, "instructor-generate-00_setup")
    changed = subprocess.run(["git", "status", "--porcelain", "--", "assignments"], cwd=clone,
                             capture_output=True, text=True, check=True).stdout
    assert changed == "", f"Generate changed the committed release:\n{changed}"
    assert page.console_errors == []
