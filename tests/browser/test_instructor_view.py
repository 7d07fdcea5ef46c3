"""What an instructor sees: `make lab` in a fresh clone (no gradebook.db), then the Formgrader.

The Formgrader lists every assignment of course.toml on its first open, and its Generate
button on 00_setup writes a release identical to the committed one. A gradebook that an
older `make lab` left without its schema version is rebuilt, its rows kept, and the
Formgrader opens on it.
"""

import os
import sqlite3
import subprocess
import sys
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from autograder.grading import ROOT, load_course
from test_gradebook import damaged_gradebook

from .labpage import free_port, lab_options, lab_url, menu, running_lab, screenshot, user_env

pytestmark = pytest.mark.slow  # starts JupyterLab and generates a release (about half a minute)

VENV = Path(sys.executable).parent.parent
ASSIGNMENTS = [a.name for a in load_course()]


def fresh_clone(root):
    clone = root / "course"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    return clone


@contextmanager
def make_lab(clone):
    """Run `make lab` in ``clone`` with this test's .venv and a PATH without it (a shell that
    never activated it); yield (URL, clone, its output)."""
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if Path(p).resolve() != (VENV / "bin").resolve())
    port, log = free_port(), clone.parent / "make-lab.log"
    command = ["make", "-o", f"{VENV}/.installed", "lab", f"VENV={VENV}",  # -o: .venv is ready
               "LAB_ARGS=" + " ".join(lab_options(port))]
    with running_lab(command, clone, user_env(clone.parent / "home", path=path), port, log) as url:
        yield url, clone, log


def open_formgrader(browser, url):
    """Open JupyterLab and its Formgrader from the Nbgrader menu: (tab, the Formgrader's frame)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.goto(lab_url(url))
    page.locator("#jp-main-dock-panel").wait_for(timeout=60_000)
    menu(page, "Nbgrader", "Formgrader")
    frame = page.frame_locator("iframe[src*='formgrader']")
    try:
        frame.locator("td.name", has_text=ASSIGNMENTS[-1]).wait_for(timeout=60_000)
    except Exception:
        screenshot(page, "instructor-formgrader-did-not-load")
        raise
    return page, frame


@pytest.fixture(scope="module")
def instructor_lab(tmp_path_factory):
    """(URL, clone, `make lab`'s output) in a fresh clone of this repository."""
    with make_lab(fresh_clone(tmp_path_factory.mktemp("instructor"))) as lab:
        yield lab


@pytest.fixture(scope="module")
def formgrader(instructor_lab, browser):
    """The Formgrader opened for the first time, when there is no gradebook yet."""
    url, clone, _ = instructor_lab
    assert not (clone / "gradebook.db").exists()
    page, frame = open_formgrader(browser, url)
    yield page, frame
    page.close()


def test_formgrader_lists_every_assignment_on_first_open(instructor_lab, formgrader):
    _, _, log = instructor_lab
    page, frame = formgrader
    screenshot(page, "instructor-formgrader")
    listed = [text.strip() for text in frame.locator("td.name").all_inner_texts()]
    assert sorted(listed) == sorted(ASSIGNMENTS), listed
    assert frame.locator("#warning-exchange").count() == 0, "the course uses no exchange: no warning"
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


def test_make_lab_rebuilds_a_damaged_gradebook_and_the_formgrader_opens(tmp_path, browser):
    clone = fresh_clone(tmp_path)
    with pytest.MonkeyPatch.context() as monkeypatch:
        damaged_gradebook(clone / "gradebook.db", monkeypatch)  # holds the student "ada"
    with make_lab(clone) as (url, _, log):
        page, frame = open_formgrader(browser, url)
        screenshot(page, "instructor-formgrader-after-repair")
        assert "no schema version" in log.read_text(), log.read_text()[-3000:]
        assert [p.name.startswith("gradebook.db.damaged-") for p in clone.glob("gradebook.db.*")] == [True]
        with closing(sqlite3.connect(clone / "gradebook.db")) as connection:
            assert connection.execute("SELECT id FROM student").fetchall() == [("ada",)]
        assert page.console_errors == []
        page.close()
