"""Write the student repository: what students clone, with nothing that gives answers away.

    python -m autograder.export DEST [--assignment NAME ...] [--force]

DEST receives, for the assignments of autograder/course.toml (or those named):

    assignments/<name>/        the committed releases: public tests, answers cleared
    data/  utils/              the corpora and the modules the notebooks import
    environment.yml  requirements.txt  pyproject.toml     to install (pip install -e .)
    README.md                  set-up, JupyterLab, public tests, submitting
    check.py  course.toml      the public-test runner and the notebooks it runs
    nbgrader_config.py         Validate in JupyterLab runs notebooks as check.py does
    .jupyter/                  JupyterLab settings: no instructor tools (JUPYTER_CONFIG_PATH)
    .github/workflows/public-tests.yml                     runs check.py on every push
    .gitignore
    the files an assignment's course.toml entry lists as ``student_files`` (a pretrained
    model under models/, say: files outside assignments/ that its notebook loads)

and nothing else: no source/, autograder/, training/ or tests/, no gradebook, no git
history. The files are written to a staging folder and scanned (`scan_export`); DEST is
only written when the scan finds no solution line, hidden test, forbidden file or output.
With --force an existing DEST is emptied first, except its own .git (so a clone of the
students' template repository can be refreshed and committed).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

import nbformat

from autograder.feedback import BEGIN_HIDDEN, hidden_lines
from autograder.grading import (
    BEGIN_SOLUTION, COURSE_FILE, ROOT, get_assignment, load_course, nbgrader_config,
    read_notebook, solution_lines,
)

TEMPLATES = ROOT / "autograder" / "student_repo"
INSTALL_FILES = ["environment.yml", "requirements.txt", "pyproject.toml"]
SHARED_FOLDERS = ["data", "utils"]
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store")

# Paths that must never reach students, wherever they appear in the export.
FORBIDDEN_FOLDERS = {"source", "autograder", "training", "tests", "submitted", "autograded",
                     "feedback", "mutants", ".git"}
FORBIDDEN_NAMES = {"gradebook.db", "nbgrader_config.py", "course.toml.orig"}
# The one nbgrader configuration students get: Validate's settings, exactly as written here.
STUDENT_NBGRADER_CONFIG = TEMPLATES / "nbgrader_config.py"
FORBIDDEN_SUFFIXES = {".db", ".sqlite", ".sqlite3"}
# Model weights and checkpoints reach students only inside an assignment's release (nbgrader
# copied them from source/<name>/) or when its course.toml entry lists them in student_files.
CHECKPOINT_SUFFIXES = {".h5", ".keras", ".ckpt", ".pt", ".pth", ".pkl", ".npz", ".index"}
MARKERS = (BEGIN_SOLUTION, "### " + BEGIN_HIDDEN, "### BEGIN MARK SCHEME")


def ignore_stderr_pattern():
    """Return the stderr pattern nbgrader ignores when grading (nbgrader_config.py)."""
    config = nbgrader_config()
    return config.IgnorePattern.pattern if config.IgnorePattern.get("enabled") else ""


def student_files(assignments):
    """Return the paths (relative to the repository) that ``assignments`` ship to students
    besides their release: the ``student_files`` lists of their course.toml entries."""
    with open(COURSE_FILE, "rb") as f:
        entries = {e["name"]: e for e in tomllib.load(f)["assignment"]}
    paths = []
    for a in assignments:
        for name in entries.get(a.name, {}).get("student_files", []):
            path = Path(name)
            if path.is_absolute() or ".." in path.parts or not (ROOT / path).exists():
                raise ValueError(f"course.toml, {a.name}: student_files entry {name!r} is not a "
                                 "path inside the repository that exists")
            paths.append(path)
    return paths


def is_shipped(relative, shipped):
    """True when ``relative`` is one of the ``shipped`` paths or inside one of them."""
    return any(relative == path or path in relative.parents for path in shipped)


def kept_back_models(assignments):
    """Return the model files of this repository the export leaves out (none listed them)."""
    shipped = student_files(assignments)
    kept = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d not in
                         {"__pycache__", "assignments", "source", "node_modules"}]
        for name in files:
            relative = (Path(folder) / name).relative_to(ROOT)
            if relative.suffix in CHECKPOINT_SUFFIXES and not is_shipped(relative, shipped):
                kept.append(relative)
    return sorted(kept)


def course_toml(assignments):
    """The student repo's course.toml: the notebooks check.py runs and the grader's limits."""
    lines = [
        "# The notebooks `python check.py` runs and how many seconds one cell may run before it",
        "# is stopped, as when your work is graded. Written by the course; changing it here",
        "# changes nothing in how your work is graded.",
        "",
        "# stderr lines the grader ignores (TensorFlow's start-up logs)",
        f"ignore_stderr = {json.dumps(ignore_stderr_pattern())}",
    ]
    for a in assignments:
        lines += ["", "[[assignment]]", f"name = {json.dumps(a.name)}",
                  f"notebook = {json.dumps(a.notebook)}", f"timeout = {a.timeout}"]
    return "\n".join(lines) + "\n"


def student_readme(assignments):
    table = "\n".join(f"| `{a.name}` | `assignments/{a.name}/{a.notebook}` |" for a in assignments)
    return (TEMPLATES / "README.md").read_text().replace("{{assignments}}", table)


def write_export(assignments, dest):
    """Copy the student repository's files for ``assignments`` into the empty folder ``dest``."""
    dest = Path(dest)
    for a in assignments:
        if not (a.release_dir / a.notebook).is_file():
            raise FileNotFoundError(
                f"{a.release_dir / a.notebook} does not exist: run `python -m autograder.build {a.name}`")
        shutil.copytree(a.release_dir, dest / "assignments" / a.name, ignore=JUNK)
    for folder in SHARED_FOLDERS:
        shutil.copytree(ROOT / folder, dest / folder, ignore=JUNK)
    for name in INSTALL_FILES:
        shutil.copyfile(ROOT / name, dest / name)
    # Before student_files, so that one listing nbgrader_config.py replaces it and is caught.
    shutil.copyfile(STUDENT_NBGRADER_CONFIG, dest / "nbgrader_config.py")
    shutil.copytree(TEMPLATES / ".jupyter", dest / ".jupyter")
    for path in student_files(assignments):
        if (ROOT / path).is_dir():
            shutil.copytree(ROOT / path, dest / path, ignore=JUNK, dirs_exist_ok=True)
        else:
            (dest / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / path, dest / path)
    shutil.copyfile(TEMPLATES / "check.py", dest / "check.py")
    shutil.copyfile(TEMPLATES / "gitignore", dest / ".gitignore")
    shutil.copytree(TEMPLATES / ".github", dest / ".github")
    (dest / "course.toml").write_text(course_toml(assignments))
    (dest / "README.md").write_text(student_readme(assignments))


def secret_lines(assignments):
    """Return {line: assignment name} of solution and hidden-test lines no student may see.

    Not secret: a line that shows in any released notebook (public already), an import in a
    hidden test, and a line that only opens a bracket (``gradients = {``).
    """
    public = {line.strip() for a in assignments
              for cell in read_notebook(a.release_dir / a.notebook).cells
              for line in cell.source.splitlines()}
    secrets = {}
    for a in assignments:
        source = read_notebook(a.source_notebook)
        hidden = {line for cell in source.cells if cell.cell_type == "code"
                  for line in hidden_lines(cell.source)
                  if len(line) >= 12 and not line.startswith(("import ", "from "))}
        for line in (solution_lines(source) | hidden) - public:
            if not line.endswith(("(", "[", "{")):
                secrets[line] = a.name
    return secrets


def scan_file(path, relative, secrets):
    """Return the problems of one exported file: markers, secret lines, notebook outputs."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return []
    problems = [f"{relative}: contains {marker!r}" for marker in MARKERS if marker in text]
    if path.suffix == ".ipynb":
        nb = nbformat.reads(text, as_version=4)
        lines = [line for cell in nb.cells for line in cell.source.splitlines()]
        problems += [f"{relative}: cell {i} has outputs" for i, cell in enumerate(nb.cells)
                     if cell.cell_type == "code" and cell.get("outputs")]
    else:
        lines = text.splitlines()
    problems += [f"{relative}: {secrets[line.strip()]} answer or hidden test line {line.strip()!r}"
                 for line in lines if line.strip() in secrets]
    return problems


def is_student_nbgrader_config(path, relative):
    """True for the export's own nbgrader_config.py: at the top, identical to the template."""
    return (relative == Path("nbgrader_config.py")
            and path.read_bytes() == STUDENT_NBGRADER_CONFIG.read_bytes())


def scan_export(dest, assignments):
    """Return everything in an export that must not reach students (empty list: none).

    Forbidden folders and files (gradebooks, any nbgrader configuration but the students'
    Validate settings, checkpoints neither in an assignment's release nor among its
    ``student_files``), solution or hidden-test markers,
    any line of a solution or hidden test of ``assignments`` in any text file outside data/,
    and outputs in notebooks.
    """
    dest = Path(dest)
    secrets = secret_lines(assignments)
    shipped = student_files(assignments)
    problems = []
    for path in sorted(dest.rglob("*")):
        relative = path.relative_to(dest)
        if relative.parts[0] == ".git":
            continue  # the destination's own repository (kept by --force), never this one's
        if FORBIDDEN_FOLDERS & set(relative.parts[:-1] if path.is_file() else relative.parts):
            problems.append(f"{relative}: forbidden folder")
            continue
        if not path.is_file():
            continue
        if ((path.name in FORBIDDEN_NAMES and not is_student_nbgrader_config(path, relative))
                or path.suffix in FORBIDDEN_SUFFIXES):
            problems.append(f"{relative}: forbidden file")
        elif (path.suffix in CHECKPOINT_SUFFIXES and relative.parts[0] != "assignments"
              and not is_shipped(relative, shipped)):
            problems.append(f"{relative}: model checkpoint that no assignment lists in student_files")
        elif relative.parts[0] != "data":
            problems += scan_file(path, relative, secrets)
    return problems


def export(dest, assignments, force=False):
    """Write the student repository for ``assignments`` to ``dest``; return ``dest``.

    Raises ValueError when ``dest`` is not empty (without ``force``), holds this repository,
    or the export would leak answers (nothing is written then).
    """
    dest = Path(dest).resolve()
    if dest == ROOT or ROOT.is_relative_to(dest):
        raise ValueError(f"{dest} holds the instructor repository; export somewhere else")
    existing = [p for p in dest.iterdir() if p.name != ".git"] if dest.is_dir() else []
    if existing and not force:
        raise ValueError(f"{dest} is not empty; use --force to replace its files (its .git is kept)")
    with tempfile.TemporaryDirectory(prefix="rnn-export-") as staging:
        write_export(assignments, Path(staging))
        problems = scan_export(staging, assignments)
        if problems:
            raise ValueError("the export would give answers away:\n  " + "\n  ".join(problems))
        dest.mkdir(parents=True, exist_ok=True)
        for path in existing:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        shutil.copytree(staging, dest, dirs_exist_ok=True)
    return dest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", help="folder to write the student repository to")
    parser.add_argument("--assignment", action="append", default=[], metavar="NAME",
                        help="export only this assignment (repeatable; default: all of course.toml)")
    parser.add_argument("--force", action="store_true",
                        help="replace the files of a non-empty DEST (its .git is kept)")
    args = parser.parse_args(argv)
    try:
        assignments = [get_assignment(n) for n in args.assignment] if args.assignment else load_course()
        dest = export(args.dest, assignments, force=args.force)
    except (KeyError, ValueError, FileNotFoundError) as err:
        sys.exit(f"error: {err.args[0] if isinstance(err, KeyError) else err}")
    print(f"Wrote the student repository for {', '.join(a.name for a in assignments)} to {dest}")
    for path in kept_back_models(assignments):
        print(f"  not exported: {path} (no assignment lists it in student_files)")
    print("Check it, then push it as the students' template repository:\n"
          f"  cd {dest} && python check.py && git init -b main && git add . && "
          "git commit -m 'Course release' && git push")
    return 0


if __name__ == "__main__":
    sys.exit(main())
