"""A hostile class through the README's own path: export, git clones, a snapshot at the
deadline, `collect --manifest --return-feedback` (tests/adversarial/collect_cases.py).

Every student of the corpus is graded in one collect call on 00_setup (cells limited to
``CELL_TIMEOUT`` s, notebooks to ``BUDGET`` s), with a GH_TOKEN in the grader's environment.
Then: each student's exact set of passing test cells; nothing secret (hidden tests,
solutions of any assignment, the token, a classmate's private line) in any output or feedback
page, as written or base64, rot13 or reversed; the repository, the venv and the grading
configuration untouched; grades.csv, report.txt and the gradebook unchanged a while after
collect returned; no process of the run alive; the clones' committed links reported, never
followed. The attacks are real: the test refuses to run without bubblewrap.
"""

import csv
import hashlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from adversarial.cases import make_kit
from adversarial.collect_cases import BUDGET, CELL_TIMEOUT, STUDENTS
from autograder import collect, parallel
from autograder.export import main as export_main
from autograder.feedback import encoded_forms, feedback_secrets, html_text, squash
from autograder.grading import (
    ROOT, fill_solutions, get_assignment, load_course, read_notebook, secret_lines,
    solution_lines,
)
from conftest import ASSIGNMENT_IDS
from test_collect import GIT_ENV, git

ASSIGNMENT = "00_setup"
PAGE = "setup.html"
TOKEN = "ghp_" + uuid.uuid4().hex  # the grader's GitHub token: no student may see it

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(ASSIGNMENT not in ASSIGNMENT_IDS, reason=f"COURSE_ONLY leaves out {ASSIGNMENT}"),
    pytest.mark.skipif(not shutil.which("bwrap"),
                       reason="the attacks are real: graded only inside bubblewrap"),
]


# ------------------------------------------------------------------ what must not change

def venv_state():
    """Names of every file in the venv's site-packages, and the contents of its .pth files."""
    site = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    names = sorted(str(p.relative_to(site)) for p in site.rglob("*") if "__pycache__" not in p.parts)
    pth = {p.name: p.read_bytes() for p in site.glob("*.pth")}
    return hashlib.sha256("\n".join(names).encode()).hexdigest(), pth


def marked_in_repository(mark):
    """Files of the repository (the venv, .git and data left out) named after or holding
    ``mark`` (other sessions may edit it meanwhile: only the attacks' mark counts)."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in (".git", ".venv", "data", "models", "__pycache__")]
        for name in files:
            path = Path(folder) / name
            if mark in name or (path.suffix in (".py", ".ipynb", ".toml", ".txt", ".md", ".pth")
                                and path.stat().st_size < 2**22
                                and mark.encode() in path.read_bytes()):
                found.append(str(path.relative_to(ROOT)))
    return found


def processes_with(mark):
    """Pids whose command line holds ``mark`` (the attacks' daemons and fork bombs)."""
    alive = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if mark.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                alive.append(int(pid))
        except OSError:
            pass
    return alive


def fingerprint(out):
    """Hashes of grades.csv and report.txt, and every score in the gradebook."""
    files = {name: hashlib.sha256((out / name).read_bytes()).hexdigest()
             for name in ("grades.csv", "report.txt")}
    return files, course_scores(out)


def course_scores(out):
    """{student: {grade id: (score, max score)}} from the grading folder's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", course_id="rnn-course") as gradebook:
        return {sub.student_id: {g.name: (g.score, g.max_score) for nb in sub.notebooks
                                 for g in nb.grades}
                for sub in gradebook.assignment_submissions(ASSIGNMENT)}


# ------------------------------------------------------------------------- the class

def make_origin(template, path, student, assignment, outside):
    """The student's repository on GitHub: the release, then her work (and links)."""
    shutil.copytree(template, path)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "Course release", date="2026-11-01T09:00:00+00:00")
    notebook = path / "assignments" / assignment.name / assignment.notebook
    if student.notebook is not None:
        nbformat.write(student.notebook, str(notebook))
    targets = {"outside": str(outside), "source": str(assignment.source_notebook)}
    for link, target in student.links.items():
        link = path / link.format(assignment=assignment.name,
                                  notebook=f"assignments/{assignment.name}/{assignment.notebook}")
        if link.exists() or link.is_symlink():
            link.unlink()
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(targets[target], link)
    git(path, "add", "-A")
    git(path, "commit", "-q", "--allow-empty", "-m", "My answers", date="2026-11-20T18:30:00+01:00")


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    """Export, origins, clones, a snapshot, late pushes, then one collect of everyone."""
    assignment = get_assignment(ASSIGNMENT)
    root = tmp_path_factory.mktemp("hostile")
    mark = "h13c" + uuid.uuid4().hex[:12]
    assert export_main([str(root / "export"), "--assignment", assignment.name]) == 0
    release = read_notebook(root / "export" / "assignments" / assignment.name / assignment.notebook)
    kit = make_kit(release, fill_solutions(release, read_notebook(assignment.source_notebook)))
    students = {name: build(kit, mark) for name, build in STUDENTS.items()}
    outside = root / "outside"
    outside.mkdir()
    clones = root / "clones"
    clones.mkdir()
    for name, student in students.items():
        make_origin(root / "export", root / "origins" / name, student, assignment, outside)
        subprocess.run(["git", "clone", "-q", str(root / "origins" / name),
                        str(clones / f"rnn-course-{name}")], check=True)
    with open(root / "roster.csv", "w", newline="") as f:
        csv.writer(f).writerows([["student_id", "repo"],
                                 *[[name, f"rnn-course-{name}"] for name in students]])
    manifest = root / "manifest.json"
    assert collect.main([str(clones), "--snapshot", str(manifest)]) == 0
    for name, student in students.items():  # after the deadline, dated a week before it
        if student.late_notebook is not None:
            origin = root / "origins" / name
            nbformat.write(student.late_notebook, str(
                origin / "assignments" / assignment.name / assignment.notebook))
            git(origin, "commit", "-q", "-am", "Finished (honestly!)", date="2026-11-24T10:00:00Z")
            git(clones / f"rnn-course-{name}", "pull", "-q")

    before = dict(venv=venv_state(), marked=marked_in_repository(mark))
    out = root / "grading"
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in {**GIT_ENV, "GH_TOKEN": TOKEN}.items():
            patch.setenv(variable, value)
        # Small limits keep the corpus fast; grading runs in this process (--workers 1).
        patch.setattr(parallel, "get_assignment", lambda name: replace(
            get_assignment(name), timeout=CELL_TIMEOUT, budget=BUDGET))
        started = time.monotonic()
        code = collect.main([str(clones), "--roster", str(root / "roster.csv"), "--out", str(out),
                             "--assignment", assignment.name, "--manifest", str(manifest),
                             "--return-feedback", "--workers", "1"])
        seconds = time.monotonic() - started
    right_after = fingerprint(out)
    alive_after = processes_with(mark)
    time.sleep(5)
    return dict(assignment=assignment, kit=kit, students=students, root=root, out=out,
                clones=clones, outside=outside, mark=mark, code=code, seconds=seconds,
                before=before, right_after=right_after, later=fingerprint(out),
                alive_after=alive_after, alive_later=processes_with(mark),
                scores=course_scores(out), report=(out / "report.txt").read_text())


# ------------------------------------------------------------------------- per student

def secrets_in(text, forms):
    squashed = squash(text)
    return sorted({form for form in forms if form in squashed})


@pytest.fixture(scope="module")
def secret_forms(hostile_class):
    """{what: encoded forms} that no student may see: the hidden tests of this assignment,
    the solutions and hidden tests of the others, the token, alice's private line."""
    mark = hostile_class["mark"]
    source = read_notebook(hostile_class["assignment"].source_notebook)
    hidden = set(feedback_secrets(source)) - solution_lines(source)
    # Other assignments' secrets, but for lines this assignment shows anyway (an import).
    public = squash(str([cell.source for cell in hostile_class["kit"].release.cells]))
    others = {line for a in load_course() if a.name != ASSIGNMENT and a.source_notebook.is_file()
              for line in secret_lines(read_notebook(a.source_notebook))
              if squash(line) not in public}
    forms = {f"secret line {line!r}": encoded_forms(line) for line in hidden | others}
    forms["GH_TOKEN"] = encoded_forms(TOKEN)
    forms["alice's private line"] = encoded_forms(f"{mark}-alice-private")
    return forms


@pytest.mark.parametrize("name", list(STUDENTS))
def test_each_student_gets_exactly_the_score_of_their_work(hostile_class, name):
    kit, student = hostile_class["kit"], hostile_class["students"][name]
    scores = hostile_class["scores"]
    if not student.graded:
        assert name not in scores or not any(score for score, _ in scores[name].values())
        assert f"rnn-course-{name} ({name}): " in hostile_class["report"]
        return
    assert name in scores, f"{name} has no grade:\n{hostile_class['report']}"
    passed = {k for k, (score, most) in scores[name].items() if most and score == most}
    scored = {k for k, (score, _) in scores[name].items() if score}
    expect = student.expect
    expected = set(kit.tests) if expect == "all" else set() if expect == "none" else set(expect)
    assert not scored - expected and not expected - passed, (
        f"{name}: false passes {sorted(scored - expected)}, lost {sorted(expected - passed)}")


@pytest.mark.parametrize("name", list(STUDENTS))
def test_nothing_secret_reaches_a_students_feedback(hostile_class, secret_forms, name):
    out, clone = hostile_class["out"], hostile_class["clones"] / f"rnn-course-{name}"
    pages = [out / "feedback" / name / ASSIGNMENT / PAGE,
             clone / "feedback" / ASSIGNMENT / PAGE]
    student = hostile_class["students"][name]
    own = squash(str([c.source for c in student.notebook.cells])) if student.notebook else ""
    for page in [p for p in pages if p.is_file() and not p.is_symlink()]:
        text = html_text(page)
        leaked = {what: found for what, forms in secret_forms.items()
                  if (found := [form for form in secrets_in(text, forms) if form not in own])
                  and not (name == "alice" and what == "alice's private line")}
        assert not leaked, f"{page}: {sorted(leaked)[:3]}"
    autograded = out / "autograded" / name / ASSIGNMENT / "setup.ipynb"
    if autograded.is_file():
        for index, cell in enumerate(read_notebook(autograded).cells):
            text = str(cell.get("outputs", ""))
            for what in ("GH_TOKEN", "alice's private line"):
                if name != "alice" or what == "GH_TOKEN":
                    assert not secrets_in(text, secret_forms[what]), f"cell {index}: {what}"


@pytest.mark.parametrize("name", list(STUDENTS))
def test_feedback_holds_one_page_and_reaches_the_clone_only_through_plain_folders(
        hostile_class, name):
    out, student = hostile_class["out"], hostile_class["students"][name]
    clone = hostile_class["clones"] / f"rnn-course-{name}"
    folder = out / "feedback" / name / ASSIGNMENT
    if not student.graded:
        return
    assert sorted(p.name for p in folder.iterdir()) == [PAGE], "only the assignment's page"
    if student.links:
        assert f"rnn-course-{name} ({name}): feedback for {ASSIGNMENT} not returned" in \
            hostile_class["report"]
        assert not (clone / "feedback" / ASSIGNMENT / PAGE).exists()
    else:
        returned = clone / "feedback" / ASSIGNMENT
        assert sorted(p.name for p in returned.iterdir()) == [PAGE]
        assert git(clone, "log", "-1", "--format=%s").strip() == f"Feedback for {ASSIGNMENT}"


# --------------------------------------------------------------------------- the class

def test_collect_succeeds_and_names_every_problem(hostile_class):
    report = hostile_class["report"]
    assert hostile_class["code"] == 0, report
    assert f"assignments/{ASSIGNMENT}/setup.ipynb is a symbolic link" in report
    print(f"\n{len(STUDENTS)} hostile students graded in {hostile_class['seconds']:.0f} s "
          f"(load {os.getloadavg()[0]:.1f})")


def test_late_back_dated_work_is_graded_as_it_was_at_the_deadline(hostile_class):
    clone = hostile_class["clones"] / "rnn-course-back-dated"
    snapshot = collect.read_snapshot(hostile_class["root"] / "manifest.json")
    graded = snapshot["clones"]["rnn-course-back-dated"]["commit"]
    assert git(clone, "log", "-1", "--format=%s", graded).strip() == "My answers"
    assert f"back-dated: rnn-course-back-dated {graded[:12]}" in hostile_class["report"]


def test_nothing_outside_the_grading_folder_changes(hostile_class):
    assert hostile_class["before"]["marked"] == []
    assert marked_in_repository(hostile_class["mark"]) == [], "the repository was written"
    assert venv_state() == hostile_class["before"]["venv"], "the venv changed"
    config = (hostile_class["out"] / "nbgrader_config.py").read_text()
    assert hostile_class["mark"] not in config
    assert not Path(f"/tmp/{hostile_class['mark']}-config-ran").exists()
    assert list(hostile_class["outside"].iterdir()) == [], "written through a clone's link"


def test_grades_stay_as_collect_left_them(hostile_class):
    assert hostile_class["later"] == hostile_class["right_after"]
    assert hostile_class["mark"] not in (hostile_class["out"] / "grades.csv").read_text()


def test_no_process_of_the_run_outlives_collect(hostile_class):
    assert hostile_class["alive_after"] == [] and hostile_class["alive_later"] == []
