"""The grading pipeline, shared by `make course`, the test suite and the collection tools.

Everything runs real nbgrader in a *scratch course directory* (a temporary folder with its
own sqlite gradebook), never in this repository, so grading cannot touch the committed
release or leave a gradebook behind:

    course = ScratchCourse(tmpdir)
    course.generate(assignment)              # nbgrader generate_assignment
    course.submit(assignment, "alice", nb)   # submitted/alice/<assignment>/<notebook>
    course.autograde(assignment)             # nbgrader autograde, every student at once
    course.scores(assignment)                # {student: {grade_id: Score}}
"""

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
COURSE_FILE = ROOT / "autograder" / "course.toml"
MUTANTS_DIR = ROOT / "autograder" / "mutants"
ALTERNATES_DIR = ROOT / "autograder" / "alternates"

# Seconds a submission's grading may run past its notebook's budget: nbgrader's, the
# kernel's and the verification's start, and its feedback page.
GRADING_MARGIN = 60

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"


STOPPED = 124  # the exit status of an nbgrader command stopped at its time limit


class NotebookError(Exception):
    """A notebook that cannot be built or graded; the message names the file and the problem."""


@dataclass(frozen=True)
class Assignment:
    name: str
    notebook: str
    timeout: int      # seconds a cell may run when graded
    budget: int = 0   # seconds the whole notebook may run when graded (0: 10 x timeout)
    due: datetime | None = None  # when it is due, with its time zone (None: no deadline)
    # grade ids of the test cells judged in the student's process, not in the judge: those
    # whose trusted code must run beside the student's objects (autograder/README.md)
    judged_in_student_process: tuple = ()

    @property
    def notebook_budget(self):
        """Seconds the kernel's run and the verification of one notebook may take together."""
        return self.budget or 10 * self.timeout

    @property
    def grading_limit(self):
        """Seconds one submission's whole grading may take: its budget and GRADING_MARGIN."""
        return self.notebook_budget + GRADING_MARGIN

    @property
    def source_notebook(self):
        return ROOT / "source" / self.name / self.notebook

    @property
    def release_dir(self):
        return ROOT / "assignments" / self.name


@dataclass(frozen=True)
class Score:
    score: float
    max_score: float
    manual: bool  # graded by a person (answer cells), not by tests


def load_course():
    """Return the course's assignments, in teaching order, from autograder/course.toml.

    ``COURSE_ONLY=name1,name2`` in the environment restricts the course to those assignments
    (for working on one assignment without building the others).
    """
    with open(COURSE_FILE, "rb") as f:
        entries = tomllib.load(f)["assignment"]
    course = [Assignment(e["name"], e["notebook"], int(e["timeout"]), int(e.get("budget", 0)),
                         due_date(e), tuple(e.get("judged_in_student_process", ())))
              for e in entries]
    only = [name for name in os.environ.get("COURSE_ONLY", "").split(",") if name]
    return [a for a in course if a.name in only] if only else course


def due_date(entry):
    """The ``due`` of a course.toml entry as an aware datetime, or None when it has none.

    TOML writes it as an offset date-time (``due = 2026-10-05T23:59:00+02:00``) or a string
    in ISO 8601; a time without its zone is refused, since a deadline means one instant.
    """
    due = entry.get("due")
    if due is None:
        return None
    try:
        due = due if isinstance(due, datetime) else datetime.fromisoformat(str(due))
    except ValueError:
        due = None
    if due is None or due.tzinfo is None:
        raise ValueError(f"{COURSE_FILE}, {entry['name']}: due {entry['due']!r} must be a date and "
                         "time with its zone, e.g. due = 2026-10-05T23:59:00+02:00")
    return due


def nbgrader_config():
    """Return the course's nbgrader configuration (nbgrader_config.py) as a traitlets Config."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()


def get_assignment(name):
    """Return the assignment called ``name``, or fail listing the known ones."""
    course = load_course()
    for assignment in course:
        if assignment.name == name:
            return assignment
    raise KeyError(f"unknown assignment {name!r}; known: {[a.name for a in course]}")


# ----------------------------------------------------------------------------- notebooks

def read_notebook(path):
    """Read and validate a notebook, raising NotebookError that names the file and problem."""
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"{path}: notebook not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise NotebookError(f"{path}: not UTF-8 text ({err})") from None
    if not text.strip():
        raise NotebookError(f"{path}: the file is empty")
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        raise NotebookError(f"{path}: not valid JSON ({err})") from None
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several types for malformed notebooks
        raise NotebookError(f"{path}: not a valid notebook ({str(err).splitlines()[0]})") from None
    return nb


def nbgrader_cells(nb):
    """Return the cells that carry nbgrader metadata (solution, test or answer cells)."""
    return [cell for cell in nb.cells if cell.get("metadata", {}).get("nbgrader")]


def check_source_notebook(path):
    """Validate a source notebook: nbgrader metadata, unique grade ids, points, no outputs.

    Returns the notebook; raises NotebookError listing every problem found.
    """
    nb = read_notebook(path)
    problems = []
    seen = set()
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problems.append(f"cell {index} has outputs (commit source notebooks cleared)")
        if not meta:
            continue
        grade_id = meta.get("grade_id")
        if not grade_id:
            problems.append(f"cell {index} has nbgrader metadata but no grade_id")
        elif grade_id in seen:
            problems.append(f"duplicate grade_id {grade_id!r} (cell {index})")
        seen.add(grade_id)
        if meta.get("grade") and not meta.get("points"):
            problems.append(f"graded cell {grade_id!r} has no points")
        if meta.get("solution") and cell.cell_type == "code" and BEGIN_SOLUTION not in cell.source:
            problems.append(f"solution cell {grade_id!r} has no {BEGIN_SOLUTION} block")
    if not any(c.metadata["nbgrader"].get("grade") for c in nbgrader_cells(nb)):
        problems.append("no graded cells")
    if problems:
        raise NotebookError(f"{path}: " + "; ".join(problems))
    return nb


def solution_lines(source_nb):
    """Return the non-trivial lines of code inside the solution blocks of a source notebook."""
    lines = set()
    for cell in nbgrader_cells(source_nb):
        inside = False
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped.startswith(BEGIN_SOLUTION):
                inside = True
            elif stripped.startswith(END_SOLUTION):
                inside = False
            elif inside and len(stripped) >= 12 and not stripped.startswith("#"):
                lines.add(stripped)
    return lines


def secret_lines(source_nb):
    """Return the lines of the solutions and hidden tests that students never see: those not
    also written outside these blocks (in a plain cell, a public test or a stub)."""
    return secret_lines_in(cell.source for cell in source_nb.cells)


def secret_lines_in(sources):
    """Like ``secret_lines``, over an iterable of cell sources (strings)."""
    secret, public = set(), set()
    for source in sources:
        inside = False
        for line in source.splitlines():
            stripped = line.strip()
            if stripped.startswith((BEGIN_SOLUTION, BEGIN_HIDDEN)):
                inside = True
            elif stripped.startswith((END_SOLUTION, END_HIDDEN)):
                inside = False
            elif inside and len(stripped) >= 12 and not stripped.startswith("#"):
                secret.add(stripped)
            else:
                public.add(stripped)
    return secret - public


def find_leaks(source_nb, release_nb):
    """Return what of the source's answers shows in a release notebook (empty: none).

    Looks for solution and hidden-test markers, solution code lines, and outputs.
    """
    leaks = []
    text = json.dumps([cell.source for cell in release_nb.cells])
    for marker in (BEGIN_SOLUTION, BEGIN_HIDDEN, "### BEGIN MARK SCHEME"):
        if marker in text:
            leaks.append(f"contains {marker!r}")
    release_lines = {line.strip() for cell in release_nb.cells for line in cell.source.splitlines()}
    leaks += [f"solution line {line!r}" for line in sorted(solution_lines(source_nb) & release_lines)]
    for index, cell in enumerate(release_nb.cells):
        if cell.cell_type == "code" and cell.get("outputs"):
            leaks.append(f"cell {index} has outputs")
    return leaks


def fill_solutions(release_nb, source_nb):
    """Return the release notebook with every solution cell answered as the source does.

    This is what a student who writes the reference solution submits: the release's cells,
    metadata and checksums, with the solution code (without its markers) in place of stubs.
    """
    answers = {}
    for cell in nbgrader_cells(source_nb):
        meta = cell.metadata.nbgrader
        if meta.get("solution"):
            kept = [
                line for line in cell.source.splitlines()
                if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION)
            ]
            answers[meta["grade_id"]] = "\n".join(kept)
    filled = copy.deepcopy(release_nb)
    for cell in nbgrader_cells(filled):
        grade_id = cell.metadata.nbgrader.get("grade_id")
        if cell.metadata.nbgrader.get("solution") and grade_id in answers:
            cell.source = answers[grade_id]
    return filled


# ------------------------------------------------------------------------------- mutants

def load_mutants(assignment):
    """Return the wrong submissions declared for an assignment (autograder/mutants/<name>.yml).

    Each mutant is a dict with ``name``, ``why``, ``edit`` (a list of ``{cell, replace, with}``
    text substitutions in solution cells) and ``fails`` (the test cells that must score 0;
    every other test cell must keep full marks).
    """
    import yaml

    path = MUTANTS_DIR / f"{assignment.name}.yml"
    if not path.is_file():
        return []
    mutants = yaml.safe_load(path.read_text()) or []
    for mutant in mutants:
        missing = {"name", "edit", "fails"} - set(mutant)
        if missing:
            raise ValueError(f"{path}: mutant {mutant.get('name', '?')} lacks {sorted(missing)}")
    return mutants


def apply_mutant(nb, mutant):
    """Return a copy of ``nb`` with the mutant's text substitutions made in its solution cells."""
    mutated = copy.deepcopy(nb)
    cells = {c.metadata.nbgrader.get("grade_id"): c for c in nbgrader_cells(mutated)}
    for edit in mutant["edit"]:
        cell = cells.get(edit["cell"])
        if cell is None:
            raise ValueError(f"mutant {mutant['name']}: no cell with grade_id {edit['cell']!r}")
        count = cell.source.count(edit["replace"])
        if count != 1:
            raise ValueError(
                f"mutant {mutant['name']}: {edit['replace']!r} occurs {count} times in cell "
                f"{edit['cell']!r}, expected exactly once"
            )
        cell.source = cell.source.replace(edit["replace"], edit["with"])
    return mutated


# ---------------------------------------------------------------------------- alternates

def load_alternates(assignment):
    """Return the correct submissions in other styles declared for an assignment
    (autograder/alternates/<name>.yml); every one must earn full marks.

    Each alternate is a dict with ``name``, ``why`` and ``cells``: {grade_id of a solution
    cell: the whole source a student would write in that cell}. Raises ValueError naming the
    file and alternate when an entry is malformed or names a cell that is not a solution cell
    of the source notebook.
    """
    import yaml

    path = ALTERNATES_DIR / f"{assignment.name}.yml"
    if not path.is_file():
        return []
    alternates = yaml.safe_load(path.read_text()) or []
    if not isinstance(alternates, list):
        raise ValueError(f"{path}: expected a list of alternates, got {type(alternates).__name__}")
    solution_ids = {
        c.metadata.nbgrader["grade_id"] for c in nbgrader_cells(read_notebook(assignment.source_notebook))
        if c.metadata.nbgrader.get("solution") and c.cell_type == "code"
    }
    seen = set()
    for alternate in alternates:
        name = alternate.get("name", "?") if isinstance(alternate, dict) else "?"
        if not isinstance(alternate, dict) or set(alternate) != {"name", "why", "cells"}:
            raise ValueError(f"{path}: alternate {name} must have exactly the keys name, why, cells")
        if name in seen:
            raise ValueError(f"{path}: two alternates are called {name}")
        seen.add(name)
        cells = alternate["cells"]
        if not isinstance(cells, dict) or not cells:
            raise ValueError(f"{path}: alternate {name}: cells must map grade ids to sources")
        unknown = sorted(set(cells) - solution_ids)
        if unknown:
            raise ValueError(f"{path}: alternate {name}: {unknown} are not solution cells of "
                             f"{assignment.notebook} (solution cells: {sorted(solution_ids)})")
        not_text = sorted(k for k, v in cells.items() if not isinstance(v, str))
        if not_text:
            raise ValueError(f"{path}: alternate {name}: the sources of {not_text} are not text")
    return alternates


def apply_alternate(nb, alternate):
    """Return a copy of ``nb`` with the alternate's solution cells replaced whole."""
    replaced = copy.deepcopy(nb)
    cells = {c.metadata.nbgrader.get("grade_id"): c for c in nbgrader_cells(replaced)}
    for grade_id, source in alternate["cells"].items():
        cell = cells.get(grade_id)
        if cell is None or not cell.metadata.nbgrader.get("solution"):
            raise ValueError(f"alternate {alternate['name']}: no solution cell with grade_id {grade_id!r}")
        cell.source = source.rstrip("\n")
    return replaced


def alternate_student_id(alternate):
    """nbgrader student id for an alternate submission (letters, digits, '-' and '_')."""
    return "alternate-" + re.sub(r"[^A-Za-z0-9_-]+", "-", alternate["name"])


# ------------------------------------------------------------------------ scratch course

class ScratchCourse:
    """An nbgrader course directory in a scratch folder, using this repo's configuration.

    Its gradebook is ``gradebook.db`` in the folder, or the database at ``db_url`` (any URL
    nbgrader's ``CourseDirectory.db_url`` takes, e.g. ``postgresql://host/grades``).
    """

    # Called in each nbgrader process before it starts (``subprocess`` preexec_fn): a grading
    # worker sets it so that its nbgrader processes die with it (autograder/parallel.py).
    preexec = None

    def __init__(self, root, db_url=None, sandbox="bwrap"):
        """``sandbox``: "bwrap" (autograder/sandbox.py) or "none", which runs student code with
        the grader's rights and is only for the course's own notebooks."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.sandbox = sandbox
        self.db_path = self.root / "gradebook.db"
        self.db_url = db_url or f"sqlite:///{self.db_path}"
        config = (ROOT / "nbgrader_config.py").read_text()
        (self.root / "nbgrader_config.py").write_text(
            config
            + "\n# Scratch course: everything below this folder, its own gradebook.\n"
            + f"c.CourseDirectory.root = {str(self.root)!r}\n"
            + f"c.CourseDirectory.db_url = {self.db_url!r}\n"
            + f"c.GuardedExecute.sandbox = {sandbox!r}\n"
        )

    def nbgrader(self, *args, timeout=None, sandboxed=None):
        """Run an nbgrader command in the course; return the CompletedProcess (never raises).
        ``sandboxed``: a Sandbox to run it in; ``timeout``: seconds before it is stopped
        (exit status STOPPED)."""
        env = dict(os.environ)
        # nbgrader runs `alembic` and the kernel from PATH: use this interpreter's environment.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env.setdefault("RNN_COURSE_DATA", str(ROOT / "data"))
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        env["PYTHONHASHSEED"] = "0"
        command = [sys.executable, "-m", "nbgrader", *args]
        if sandboxed is not None:
            command = ["env", "-i", *sandboxed.command(command)]
        try:
            return subprocess.run(command, cwd=self.root, env=env, capture_output=True, text=True,
                                  timeout=timeout, preexec_fn=self.preexec)
        except subprocess.TimeoutExpired as expired:  # killed; its sandboxes die with it
            return subprocess.CompletedProcess(
                command, STOPPED, expired.stdout or "",
                f"{expired.stderr or ''}\nnbgrader {args[0]} was stopped after {timeout:.0f} s")

    def generate_feedback(self, assignment, student=None, timeout=None):
        """Run nbgrader generate_feedback (for every student, or one), stopped after
        ``timeout`` seconds; return the CompletedProcess (never raises).

        It renders what student code printed, so with a sandbox it runs in one too: the course
        folder read-only but for ``feedback/``, the repository's ``autograder/`` (for the
        feedback preprocessors) and nothing else of the repository, no network. That needs the
        gradebook in the course folder (sqlite); a shared database is rendered unsandboxed.
        """
        args = ("generate_feedback", assignment.name, "--force",
                *([f"--student={student}"] if student else []))
        if self.sandbox != "bwrap" or not self.db_url.startswith("sqlite:"):
            return self.nbgrader(*args, timeout=timeout)
        from autograder import sandbox

        feedback = self.root / "feedback"
        sandbox.make_writable(feedback)
        for path in (self.root / "feedback").rglob("*"):
            os.chown(path, *sandbox.owner_for_writable())
        home = "/tmp"
        box = sandbox.Sandbox(
            readonly={str(self.root): str(self.root), str(ROOT / "autograder"): str(ROOT / "autograder")},
            writable={str(feedback): str(feedback)}, cwd=str(self.root),
            env={"PATH": f"{sys.prefix}/bin:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
                 "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1",
                 "JUPYTER_RUNTIME_DIR": f"{home}/.jupyter", "IPYTHONDIR": f"{home}/.ipython"},
            group=sandbox.ControlGroup.create(sandbox.Sandbox.memory, sandbox.Sandbox.processes))
        try:
            return self.nbgrader(*args, timeout=timeout, sandboxed=box)
        finally:
            if box.group is not None:
                box.group.remove()

    def _run(self, *args):
        result = self.nbgrader(*args)
        if result.returncode != 0:
            raise RuntimeError(
                f"nbgrader {' '.join(args)} failed (exit {result.returncode}):\n"
                + result.stdout[-3000:] + result.stderr[-3000:]
            )
        return result

    def generate(self, assignment):
        """Copy the source in and run nbgrader generate_assignment; return the release folder."""
        check_source_notebook(assignment.source_notebook)
        source = self.root / "source" / assignment.name
        if source.exists():
            shutil.rmtree(source)
        shutil.copytree(assignment.source_notebook.parent, source,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        self._run("generate_assignment", assignment.name, "--force")
        return self.root / "assignments" / assignment.name

    def release_notebook(self, assignment):
        return read_notebook(self.root / "assignments" / assignment.name / assignment.notebook)

    def submit(self, assignment, student, nb, filename=None, timestamp=None):
        """Place a submission: ``nb`` is a notebook node, or a path whose bytes are copied."""
        folder = self.root / "submitted" / student / assignment.name
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (filename or assignment.notebook)
        if isinstance(nb, (str, Path)):
            shutil.copyfile(nb, target)
        else:
            nbformat.write(nb, str(target))
        if timestamp:
            (folder / "timestamp.txt").write_text(timestamp)
        return target

    def submit_text(self, assignment, student, text, filename=None):
        """Place a submission whose file holds ``text`` as it is (broken files included)."""
        folder = self.root / "submitted" / student / assignment.name
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (filename or assignment.notebook)
        target.write_text(text)
        return target

    def submitted_students(self, assignment):
        """Student ids with a submission folder for the assignment."""
        return sorted(p.parent.name for p in (self.root / "submitted").glob(f"*/{assignment.name}")
                      if p.is_dir())

    def restore_notebook_names(self, assignment):
        """Rename a submission's only notebook to the assignment's notebook name.

        Students rename notebooks ("setup (1).ipynb"); nbgrader would skip the file and give
        zero. Returns the {student: old name} renamed.
        """
        renamed = {}
        for student in self.submitted_students(assignment):
            folder = self.root / "submitted" / student / assignment.name
            notebooks = [p for p in folder.glob("*.ipynb") if p.is_file()]
            if not (folder / assignment.notebook).exists() and len(notebooks) == 1:
                notebooks[0].rename(folder / assignment.notebook)
                renamed[student] = notebooks[0].name
        return renamed

    def autograde(self, assignment, timeout=None, limit=None):
        """Autograde every submission of an assignment in one nbgrader call.

        Each submission's kernel run and verification share the notebook's budget; nbgrader
        itself is stopped when the whole call runs past ``limit`` seconds (default: the
        assignment's grading limit per submission), whatever a kernel does with its sockets.

        Returns the CompletedProcess: nbgrader exits non-zero when one submission fails to
        grade, and still grades the others. Its extra attributes: ``renamed`` (notebooks
        given back their name), ``ungraded`` (submitted students without a gradebook row even
        after a second try: must be empty) and ``cut_off`` (students without a row because
        the limit stopped nbgrader: not tried again).
        """
        cell_timeout = timeout or assignment.timeout
        renamed = self.restore_notebook_names(assignment)
        self._started = time.time()
        limits = [f"--Execute.timeout={cell_timeout}",
                  f"--GuardedExecute.budget={assignment.notebook_budget}"]
        students = self.submitted_students(assignment)
        limit = limit or assignment.grading_limit * max(1, len(students))
        process = self.nbgrader("autograde", assignment.name, "--force", *limits, timeout=limit)
        cut_off = self.ungraded(assignment) if process.returncode == STOPPED else []
        for student in sorted(set(self.ungraded(assignment)) - set(cut_off)):
            self.nbgrader("autograde", assignment.name, "--force", f"--student={student}",
                          *limits, timeout=assignment.grading_limit)
        process.renamed, process.cut_off = renamed, cut_off
        process.ungraded = sorted(set(self.ungraded(assignment)) - set(cut_off))
        return process

    def ungraded(self, assignment):
        """Submitted students with no gradebook row for the assignment."""
        return sorted(set(self.submitted_students(assignment)) - set(self.scores(assignment)))

    def grading_times(self, assignment):
        """{student: seconds} from one autograded notebook to the next (nbgrader grades
        students one after another, in order of their ids)."""
        written = sorted(
            (path.stat().st_mtime, path.parts[-3])
            for path in (self.root / "autograded").glob(f"*/{assignment.name}/*.ipynb"))
        times, previous = {}, getattr(self, "_started", None)
        for mtime, student in written:
            if previous is not None:
                times[student] = mtime - previous
            previous = mtime
        return times

    def scores(self, assignment):
        """Return {student: {grade_id: Score}} from the gradebook for one assignment."""
        return gradebook_scores(self.db_url, assignment, nbgrader_config().CourseDirectory.course_id)


def gradebook_scores(db_url, assignment, course_id):
    """{student: {grade_id: Score}} of one assignment in the gradebook at ``db_url``."""
    from nbgrader.api import Gradebook

    result = {}
    with Gradebook(db_url, course_id=course_id) as gradebook:
        for submission in gradebook.assignment_submissions(assignment.name):
            cells = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = Score(float(grade.score or 0), float(grade.max_score),
                                              manual=grade.cell.cell_type == "markdown")
            result[submission.student_id] = cells
    return result


def total(cell_scores, manual=False):
    """Return (score, max) summed over autograded cells (or over manual ones)."""
    chosen = [s for s in cell_scores.values() if s.manual == manual]
    return sum(s.score for s in chosen), sum(s.max_score for s in chosen)


def self_grade(assignment, workdir, mutants=(), alternates=()):
    """Generate an assignment and autograde its demo submissions in one nbgrader call.

    Submissions: ``reference`` (the source's solutions typed into the release),
    ``untouched`` (the release as students receive it), one per mutant and one per
    alternate (the reference with some solution cells written in another style).

    These are the course's own notebooks, so without bubblewrap they are graded unsandboxed.

    Returns (course, release_dir, scores, autograde_process).
    """
    course = ScratchCourse(workdir, sandbox="bwrap" if shutil.which("bwrap") else "none")
    release_dir = course.generate(assignment)
    release_nb = course.release_notebook(assignment)
    reference = fill_solutions(release_nb, read_notebook(assignment.source_notebook))
    course.submit(assignment, "reference", reference)
    course.submit(assignment, "untouched", release_nb)
    for mutant in mutants:
        course.submit(assignment, mutant_student_id(mutant), apply_mutant(reference, mutant))
    for alternate in alternates:
        course.submit(assignment, alternate_student_id(alternate), apply_alternate(reference, alternate))
    process = course.autograde(assignment)
    return course, release_dir, course.scores(assignment), process


def mutant_student_id(mutant):
    """nbgrader student id for a mutant submission (letters, digits, '-' and '_')."""
    return "mutant-" + re.sub(r"[^A-Za-z0-9_-]+", "-", mutant["name"])
