"""Source notebooks are clean and valid; the committed release is exactly what nbgrader
generates from them and gives nothing away."""

import filecmp
from pathlib import Path

import pytest

from autograder.build import generate_releases
from autograder.grading import (
    NotebookError, ScratchCourse, check_source_notebook, find_leaks, read_notebook,
)
from conftest import COURSE, ASSIGNMENT_IDS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fresh_releases(tmp_path_factory):
    """Every release generated now from source/, in a scratch course."""
    return generate_releases(COURSE, tmp_path_factory.mktemp("generate"))


@pytest.mark.parametrize("assignment", COURSE, ids=ASSIGNMENT_IDS)
def test_source_notebook_is_valid_and_stored_without_outputs(assignment):
    check_source_notebook(assignment.source_notebook)


@pytest.mark.parametrize("assignment", COURSE, ids=ASSIGNMENT_IDS)
def test_committed_release_is_exactly_what_generation_produces(assignment, fresh_releases):
    fresh, committed = fresh_releases[assignment.name], assignment.release_dir
    comparison = filecmp.dircmp(fresh, committed, ignore=[])
    differing = []
    pending = [comparison]
    while pending:
        current = pending.pop()
        differing += current.left_only + current.right_only
        _, mismatch, errors = filecmp.cmpfiles(current.left, current.right,
                                               current.common_files, shallow=False)
        differing += mismatch + errors
        pending += current.subdirs.values()
    assert not differing, (
        f"assignments/{assignment.name} differs from a fresh generation in {differing}: "
        "run `make course` and commit the result (never edit the release by hand)")


@pytest.mark.parametrize("assignment", COURSE, ids=ASSIGNMENT_IDS)
def test_release_gives_nothing_away(assignment):
    source = read_notebook(assignment.source_notebook)
    for path in assignment.release_dir.rglob("*"):
        assert path.suffix not in {".db", ".sqlite"} and path.name != "gradebook.db", path
        if path.suffix == ".ipynb":
            assert not find_leaks(source, read_notebook(path)), find_leaks(source, read_notebook(path))


def test_no_gradebook_or_submissions_in_the_repository():
    tracked_roots = [ROOT / name for name in ("gradebook.db", "submitted", "autograded", "feedback")]
    assert not [p for p in tracked_roots if p.exists() and not _ignored(p)]


def _ignored(path):
    import subprocess
    return subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT).returncode == 0


@pytest.mark.parametrize("problem,content", [
    ("not valid JSON", "{ this is not json"),
    ("the file is empty", ""),
    ("duplicate grade_id", None),
])
def test_bad_source_notebook_is_named_with_its_problem(tmp_path, problem, content):
    path = tmp_path / "broken.ipynb"
    if content is None:
        nb = read_notebook(COURSE[0].source_notebook)
        graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        graded[1].metadata.nbgrader.grade_id = graded[0].metadata.nbgrader.grade_id
        import nbformat
        nbformat.write(nb, str(path))
    else:
        path.write_text(content)
    with pytest.raises(NotebookError, match=problem) as info:
        check_source_notebook(path)
    assert str(path) in str(info.value)


def test_missing_source_notebook_is_named(tmp_path):
    with pytest.raises(NotebookError, match="notebook not found"):
        check_source_notebook(tmp_path / "nowhere.ipynb")


def test_build_stops_on_a_corrupt_notebook_and_leaves_the_release_untouched(tmp_path, monkeypatch):
    import autograder.grading as grading
    from autograder import build

    fake_root = tmp_path / "repo"
    (fake_root / "source").mkdir(parents=True)
    (fake_root / "assignments" / COURSE[0].name).mkdir(parents=True)
    marker = fake_root / "assignments" / COURSE[0].name / "keep.txt"
    marker.write_text("committed release")
    (fake_root / "source" / COURSE[0].name).mkdir()
    (fake_root / "source" / COURSE[0].name / COURSE[0].notebook).write_text("{ corrupt")
    monkeypatch.setattr(grading, "ROOT", fake_root)
    with pytest.raises(SystemExit) as info:
        build.main([COURSE[0].name, "--no-grade"])
    assert COURSE[0].notebook in str(info.value) and "not valid JSON" in str(info.value)
    assert marker.read_text() == "committed release"
    assert ScratchCourse  # the scratch course never replaced anything
