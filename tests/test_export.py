"""The student repository export holds what students need and nothing that gives answers away."""

import filecmp
import json
import shutil
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

import autograder.export
from autograder.export import export, ignore_stderr_pattern, scan_export, student_files
from autograder.grading import ROOT, read_notebook
from conftest import COURSE

EXPECTED_TOP_LEVEL = {".github", ".gitignore", ".jupyter", "README.md", "assignments", "check.py",
                      "course.toml", "data", "environment.yml", "nbgrader_config.py", "pyproject.toml",
                      "requirements.txt", "utils"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The student repository for every assignment of course.toml."""
    return export(tmp_path_factory.mktemp("student") / "repo", COURSE)


def copy_of(exported, tmp_path):
    return Path(shutil.copytree(exported, tmp_path / "copy"))


def test_export_holds_exactly_the_student_files(exported):
    shipped = {path.parts[0] for path in student_files(COURSE)}
    assert {p.name for p in exported.iterdir()} == EXPECTED_TOP_LEVEL | shipped
    assert sorted(p.name for p in (exported / "assignments").iterdir()) == sorted(a.name for a in COURSE)
    assert [p.name for p in (exported / ".github" / "workflows").iterdir()] == ["public-tests.yml"]


def test_scan_of_the_export_finds_nothing(exported):
    assert scan_export(exported, COURSE) == []


@pytest.mark.parametrize("assignment", COURSE, ids=[a.name for a in COURSE])
def test_released_notebooks_are_the_committed_release(exported, assignment):
    comparison = filecmp.dircmp(assignment.release_dir, exported / "assignments" / assignment.name)
    assert not (comparison.left_only or comparison.right_only or comparison.diff_files), (
        comparison.left_only, comparison.right_only, comparison.diff_files)


def test_shared_code_data_and_install_files_are_copied(exported):
    for name in ("environment.yml", "requirements.txt", "pyproject.toml"):
        assert (exported / name).read_bytes() == (ROOT / name).read_bytes(), name
    for path in (ROOT / "data").iterdir():
        assert (exported / "data" / path.name).read_bytes() == path.read_bytes(), path.name
    assert sorted(p.name for p in (exported / "utils").glob("*.py")) == sorted(
        p.name for p in (ROOT / "utils").glob("*.py"))
    assert not list(exported.rglob("__pycache__"))


def test_course_file_tells_the_check_script_the_graders_limits(exported):
    with open(exported / "course.toml", "rb") as f:
        course = tomllib.load(f)
    assert [(a["name"], a["notebook"], a["timeout"]) for a in course["assignment"]] == [
        (a.name, a.notebook, a.timeout) for a in COURSE]
    assert course["ignore_stderr"] == ignore_stderr_pattern() != ""


def test_validate_gets_each_assignments_time_limit_and_the_graders_environment(exported, monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(exported)).load_config()
    for a in COURSE:
        monkeypatch.chdir(exported / "assignments" / a.name)  # Validate runs in the notebook's folder
        assert config.Execute.timeout_func(None) == a.timeout, a.name
    assert "RNN_COURSE_GRADING='1'" in " ".join(config.Execute.extra_arguments)


def test_student_jupyterlab_hides_the_instructor_tools(exported):
    page = json.loads((exported / ".jupyter" / "labconfig" / "page_config.json").read_text())
    assert set(page["disabledExtensions"]) == {f"@jupyter/nbgrader:{plugin}" for plugin in (
        "formgrader", "create-assignment", "course-list", "assignment-list", "menu")}
    server = json.loads((exported / ".jupyter" / "jupyter_server_config.json").read_text())
    assert not any(server["ServerApp"]["jpserver_extensions"].values())
    assert "JUPYTER_CONFIG_PATH=.jupyter jupyter lab" in (exported / "README.md").read_text()


def test_workflow_installs_the_pins_and_runs_the_check_on_every_push(exported):
    workflow = yaml.safe_load((exported / ".github" / "workflows" / "public-tests.yml").read_text())
    assert "push" in workflow[True]  # YAML 1.1 reads the key `on` as True
    steps = workflow["jobs"]["public-tests"]["steps"]
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"
    install = " ".join(s.get("run", "") for s in steps)
    assert "pip install -r requirements.txt" in install and "pip install --no-deps -e ." in install
    assert next(s for s in steps if s.get("id") == "public-tests")["run"] == "python check.py"


def test_student_readme_covers_setup_lab_check_and_submitting(exported):
    readme = (exported / "README.md").read_text()
    for a in COURSE:
        assert f"assignments/{a.name}/{a.notebook}" in readme
    for needed in ("## Setup", "conda env create -f environment.yml", "jupyter lab",
                   "python check.py", "git push", "## Feedback"):
        assert needed in readme, needed
    assert "{{" not in readme


@pytest.mark.parametrize("plant,expected", [
    ("solution line in utils", "answer or hidden test line"),
    ("hidden test in a notebook", "BEGIN HIDDEN TESTS"),
    ("notebook outputs", "has outputs"),
    ("gradebook", "forbidden file"),
    ("nbgrader configuration", "forbidden file"),
    ("source folder", "forbidden folder"),
    ("training folder", "forbidden folder"),
    ("checkpoint in data", "model checkpoint"),
])
def test_scan_names_every_kind_of_leak(exported, tmp_path, plant, expected):
    repo = copy_of(exported, tmp_path)
    assignment = COURSE[0]
    source = read_notebook(assignment.source_notebook)
    notebook = repo / "assignments" / assignment.name / assignment.notebook
    if plant == "solution line in utils":
        solution = next(c.source for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")
                        and "### BEGIN SOLUTION" in c.source)
        line = solution.split("### BEGIN SOLUTION")[1].strip().splitlines()[0]
        (repo / "utils" / "helpers.py").write_text(f"def helper(z):\n    {line}\n")
    elif plant in ("hidden test in a notebook", "notebook outputs"):
        nb = read_notebook(notebook)
        if plant == "notebook outputs":
            code = next(c for c in nb.cells if c.cell_type == "code")
            code.outputs = [nbformat.v4.new_output("stream", text="42\n")]
        else:
            hidden = next(c for c in source.cells if "### BEGIN HIDDEN TESTS" in c.source)
            nb.cells.append(nbformat.v4.new_code_cell(hidden.source))
        nbformat.write(nb, str(notebook))
    elif plant == "gradebook":
        (repo / "gradebook.db").write_bytes(b"SQLite format 3\x00")
    elif plant == "nbgrader configuration":
        shutil.copyfile(ROOT / "nbgrader_config.py", repo / "nbgrader_config.py")
    elif plant == "source folder":
        shutil.copytree(assignment.source_notebook.parent, repo / "source" / assignment.name)
    elif plant == "training folder":
        (repo / "training").mkdir()
        (repo / "training" / "train.py").write_text("print('train')\n")
    elif plant == "checkpoint in data":
        (repo / "data" / "reference.weights.h5").write_bytes(b"\x89HDF")
    problems = scan_export(repo, COURSE)
    assert any(expected in problem for problem in problems), problems


def test_export_refuses_a_non_empty_folder_and_keeps_its_git_with_force(exported, tmp_path):
    dest = tmp_path / "template"
    (dest / ".git").mkdir(parents=True)
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (dest / "stale.txt").write_text("from an older export")
    with pytest.raises(ValueError, match="not empty"):
        export(dest, COURSE)
    export(dest, COURSE, force=True)
    assert (dest / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert not (dest / "stale.txt").exists()
    assert {p.name for p in dest.iterdir()} >= EXPECTED_TOP_LEVEL | {".git"}


def test_export_refuses_to_write_over_the_instructor_repository():
    with pytest.raises(ValueError, match="instructor repository"):
        export(ROOT, COURSE, force=True)


def course_file_with(tmp_path, monkeypatch, student_files_line):
    """Point the export at a course.toml whose first entry lists ``student_files``."""
    entry = COURSE[0]
    path = tmp_path / "course.toml"
    path.write_text(f'[[assignment]]\nname = "{entry.name}"\nnotebook = "{entry.notebook}"\n'
                    f"timeout = {entry.timeout}\n{student_files_line}\n")
    monkeypatch.setattr(autograder.export, "COURSE_FILE", path)


def test_student_files_of_an_assignment_are_shipped(tmp_path, monkeypatch):
    course_file_with(tmp_path, monkeypatch, 'student_files = ["Makefile"]')
    dest = export(tmp_path / "repo", COURSE[:1])
    assert (dest / "Makefile").read_bytes() == (ROOT / "Makefile").read_bytes()


@pytest.mark.parametrize("listed,problem", [
    ("nbgrader_config.py", "forbidden file"),
    ("nowhere/model.keras", "is not a path inside the repository"),
    ("../outside.txt", "is not a path inside the repository"),
])
def test_student_files_cannot_ship_forbidden_or_missing_files(tmp_path, monkeypatch, listed, problem):
    course_file_with(tmp_path, monkeypatch, f'student_files = ["{listed}"]')
    with pytest.raises(ValueError, match=problem):
        export(tmp_path / "repo", COURSE[:1])
    assert not (tmp_path / "repo").exists()


def test_checkpoints_ship_only_when_an_assignment_lists_them(exported, tmp_path, monkeypatch):
    repo = copy_of(exported, tmp_path)
    (repo / "models").mkdir(exist_ok=True)
    (repo / "models" / "poet.keras").write_bytes(b"PK")
    (repo / "models" / "reference.weights.h5").write_bytes(b"\x89HDF")
    listed = autograder.export.student_files(COURSE)
    monkeypatch.setattr(autograder.export, "student_files",
                        lambda assignments: listed + [Path("models/poet.keras")])
    assert scan_export(repo, COURSE) == [
        "models/reference.weights.h5: model checkpoint that no assignment lists in student_files"]


def test_export_names_the_model_files_it_leaves_out(tmp_path, monkeypatch):
    for name in ("models/poet.keras", "models/reference.weights.h5", "source/x/answer.h5"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"weights")
    monkeypatch.setattr(autograder.export, "ROOT", tmp_path)
    monkeypatch.setattr(autograder.export, "student_files", lambda assignments: [Path("models/poet.keras")])
    assert autograder.export.kept_back_models(COURSE) == [Path("models/reference.weights.h5")]
