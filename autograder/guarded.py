"""nbgrader's Execute step, hardened against hostile submissions (see autograder/README.md).

``nbgrader_config.py`` puts :class:`GuardedExecute` in place of nbgrader's ``Execute`` for
``nbgrader autograde``. For each submitted notebook it

1. judges cells by the gradebook's record, never by the submission's metadata: grade and
   solution flags, points and test cell sources are put back from the gradebook;
2. runs the kernel sandboxed (autograder/sandbox.py): a memory limit, a wall-clock limit,
   a clean environment and a fresh copy of ``utils/``, ``data/`` and ``models/`` written from
   a snapshot taken before any submission ran, so one that rewrites them harms only itself;
3. bounds time: a cell past its timeout is interrupted; a kernel that ignores the interrupt
   or dies (``os._exit``, a segfault, the memory limit) is stopped, the cells it did not run
   get an error saying why, and no test cell it did not run can score;
4. verifies the test cells that can still score (no error in the kernel's run) in a second,
   fresh sandboxed process (autograder/verify_cells.py) that restores trusted references
   before each test and judges by exceptions only. A test cell scores only if both runs pass
   it. A test that passed in both runs but wrote to stderr (nbgrader's rule gives such a
   cell zero) keeps its points;
5. removes from the outputs of the student's cells anything that contains the course's hidden
   tests or solutions (read from disk by a submission, they would reach its feedback).
"""

import ast
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Integer, List, Unicode

from autograder.grading import secret_lines_in

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SANDBOX_SCRIPT = HERE / "sandbox.py"
VERIFY_SCRIPT = HERE / "verify_cells.py"
REDACTED = "[output removed by the grader: it contained the course's hidden tests or solutions]"

_snapshot = None
_snapshot_lock = threading.Lock()


def trusted_snapshot(shared):
    """{relative path: bytes} of the repository's files and folders that notebooks read,
    taken once per grading process, before any submission's code has run."""
    global _snapshot
    with _snapshot_lock:
        if _snapshot is None:
            _snapshot = {}
            for name in shared:
                top = ROOT / name
                for path in sorted([top, *top.rglob("*")] if top.is_dir() else [top]):
                    if path.is_file() and "__pycache__" not in path.parts:
                        _snapshot[str(path.relative_to(ROOT))] = path.read_bytes()
        return _snapshot


def make_sandbox(shared):
    """Write a fresh read-only copy of the repository's shared files.

    Returns (top folder to remove afterwards, the copy: PYTHONPATH of the sandboxed process).
    """
    top = Path(tempfile.mkdtemp(prefix="rnn-course-sandbox-"))
    course = top / "course"
    course.mkdir()
    for relative, content in trusted_snapshot(shared).items():
        target = course / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    for path in sorted(course.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    course.chmod(0o555)
    return top, course


def remove_sandbox(top):
    for path in [top, *top.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o700)
    shutil.rmtree(top, ignore_errors=True)


def sandboxed(command, course, home, memory, wall):
    """The command line that runs ``command`` through autograder/sandbox.py."""
    return [
        sys.executable, str(SANDBOX_SCRIPT), "--home", str(home), "--memory", str(memory),
        "--wall", str(wall), "--env", f"PYTHONPATH={course}",
        "--env", f"RNN_COURSE_DATA={course / 'data'}", "--", *command,
    ]


class SandboxedKernelSpecs(KernelSpecManager):
    """Kernel specs whose command runs through the sandbox."""

    wrap = List([])

    def get_kernel_spec(self, kernel_name):
        spec = super().get_kernel_spec(kernel_name)
        spec.argv = [*self.wrap, *spec.argv]
        return spec


def error_output(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


class GuardedExecute(Execute):
    """nbgrader's Execute with the defences listed in this module's docstring."""

    memory_limit = Integer(3 * 2**30, help="RLIMIT_DATA of a kernel, in bytes").tag(config=True)
    grace = Integer(10, help="seconds an interrupted cell has to stop").tag(config=True)
    verify = Bool(True, help="verify test cells in a fresh process").tag(config=True)
    shared_paths = List(Unicode(), ["utils", "data", "models", "environment.yml",
                                     "requirements.txt"],
                        help="what the notebooks read from the repository").tag(config=True)

    def preprocess(self, nb, resources, retries=None):
        record = GradebookRecord(resources["nbgrader"], self.config)
        record.restore(nb)
        code_cells = sum(c.cell_type == "code" for c in nb.cells)
        self._wall = (self.timeout or 600) * (code_cells + 2) + 60
        top, course = make_sandbox(self.shared_paths)
        self._wrap = sandboxed([], course, top / "home", self.memory_limit, self._wall)
        self._stopped = None
        try:
            nb, resources = super().preprocess(nb, resources, retries)
        finally:
            remove_sandbox(top)
        if self.verify:
            self.verify_tests(nb, record)
        record.redact_leaks(nb)
        return nb, resources

    def verify_tests(self, nb, record):
        """Re-run the notebook in a fresh sandboxed process, up to the last test cell that can
        still score, and fail every test cell the verification does not pass."""
        open_tests = [i for i, c in enumerate(nb.cells) if record.is_test(c)
                      and not any(o.output_type == "error" for o in c.outputs)]
        if not open_tests:
            return
        top, course = make_sandbox(self.shared_paths)
        try:
            verification = Verification(
                record.verification_request(nb, last=open_tests[-1]),
                sandboxed([sys.executable, str(VERIFY_SCRIPT)], course, top / "home",
                          self.memory_limit, self._wall),
                self.timeout or 600, self.grace)
            verification.run()
        finally:
            remove_sandbox(top)
        apply_verdicts(nb, record, verification.verdicts, verification.problem)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.kernel_spec_manager = SandboxedKernelSpecs(wrap=self._wrap)
        return km

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._stopped:
            cell.outputs = [error_output("NotRun", f"this cell was not run: {self._stopped}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except Exception as err:  # noqa: BLE001  (a dead, stuck or broken kernel: stop it)
            if not self._stopped:
                cause = ("the kernel died" if isinstance(err, DeadKernelError)
                         else f"the kernel stopped answering ({type(err).__name__})")
                self._stopped = (f"{cause} while running cell {index}: os._exit, a crash, more "
                                 "memory than the grader allows, or a broken kernel")
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:  # noqa: BLE001,S110  (already gone)
                pass
            cell.outputs.append(error_output("KernelStopped", self._stopped))
            return cell, resources

    async def _async_handle_timeout(self, timeout, cell=None):
        reply = await super()._async_handle_timeout(timeout, cell)
        try:  # the interrupted cell answers (KeyboardInterrupt) unless it ignores interrupts
            await ensure_async(self.kc.shell_channel.get_msg(timeout=self.grace))
        except Exception:  # noqa: BLE001  (queue.Empty: no answer)
            self._stopped = (f"a cell ran past the {timeout}s time limit and ignored the "
                             "interrupt, so the kernel was stopped")
            await ensure_async(self.km.shutdown_kernel(now=True))
        return reply


class RestoreGradeFlags(NbGraderPreprocessor):
    """Sanitizing step before nbgrader's OverwriteCells: the gradebook's flags on every cell,
    so that a submission that turned a test cell into a solution cell (or unlocked it) gets
    its test back instead of a failed notebook."""

    def preprocess(self, nb, resources):
        GradebookRecord(resources["nbgrader"], self.config).restore(nb)
        return nb, resources


class GradebookRecord:
    """What the gradebook says about one notebook: which cells are tests, and their code."""

    def __init__(self, nbgrader_resources, config):
        self.notebook_id = nbgrader_resources["notebook"]
        self.assignment_id = nbgrader_resources["assignment"]
        with Gradebook(nbgrader_resources["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(self.notebook_id, self.assignment_id)
            self.points = {c.name: float(c.max_score) for c in notebook.grade_cells}
            self.solutions = {c.name for c in notebook.solution_cells}
            self.sources = {c.name: (c.source, c.locked, c.cell_type) for c in notebook.source_cells}
        coursedir = CourseDirectory(config=config)
        self.source_notebook = Path(coursedir.format_path(
            coursedir.source_directory, ".", self.assignment_id)) / f"{self.notebook_id}.ipynb"

    def grade_id(self, cell):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        return grade_id if grade_id in self.sources else None

    def is_test(self, cell):
        grade_id = self.grade_id(cell)
        return (cell.cell_type == "code" and grade_id in self.points
                and grade_id not in self.solutions)

    def restore(self, nb):
        """Put back grade/solution flags, points and the code of test cells."""
        for cell in nb.cells:
            grade_id = self.grade_id(cell)
            if grade_id is None:
                continue
            source, locked, _ = self.sources[grade_id]
            meta = cell.metadata.nbgrader
            meta["grade"] = grade_id in self.points
            meta["solution"] = grade_id in self.solutions
            meta["locked"] = locked
            if meta["grade"]:
                meta["points"] = self.points[grade_id]
            if self.is_test(cell):
                cell.source = source

    def verification_request(self, nb, last):
        """What verify_cells.py runs: the code cells up to cell ``last``, and the course's
        imports."""
        cells = [[i, "test" if self.is_test(c) else "code", c.source]
                 for i, c in enumerate(nb.cells[: last + 1]) if c.cell_type == "code"]
        imports, bindings = set(), {}
        for source, trusted_names in self._trusted_sources():
            for module, name, attribute in import_statements(source):
                imports.add(module)
                if trusted_names:
                    bindings[name] = (module, attribute)
        return {"imports": sorted(imports), "bindings": bindings, "cells": cells}

    def _trusted_sources(self):
        """(source, whether its imports bind trusted names) of the course's own cells."""
        for grade_id, (source, _, cell_type) in self.sources.items():
            if cell_type == "code":
                yield source, grade_id not in self.solutions
        try:
            for cell in nbformat.read(str(self.source_notebook), as_version=4).cells:
                if cell.cell_type == "code":
                    solution = cell.get("metadata", {}).get("nbgrader", {}).get("solution")
                    yield cell.source, not solution
        except Exception:  # noqa: BLE001  (no source notebook here: the gradebook suffices)
            return

    def secret_lines(self):
        """Lines of the hidden tests and solutions that a release never shows (lines also
        found outside those blocks, in a plain cell or a public test, are not secret)."""
        sources = [source for source, _, _ in self.sources.values()]
        try:
            sources += [c.source for c in nbformat.read(str(self.source_notebook), 4).cells]
        except Exception:  # noqa: BLE001,S110  (no source notebook here: the gradebook suffices)
            pass
        return secret_lines_in(sources)

    def redact_leaks(self, nb):
        """Replace outputs of non-test cells that contain hidden tests or solutions."""
        secrets = self.secret_lines()
        for cell in nb.cells:
            if cell.cell_type != "code" or self.is_test(cell):
                continue
            for position, output in enumerate(cell.get("outputs", [])):
                text = str(output.get("text", "")) + str(output.get("data", "")) + str(
                    output.get("evalue", "")) + str(output.get("traceback", ""))
                if any(line in text for line in secrets):
                    cell.outputs[position] = NotebookNode(
                        output_type="stream", name="stdout", text=REDACTED + "\n")


def import_statements(source):
    """(module, bound name, attribute or None) for the top-level imports of a cell."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return []
    found = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found.append((alias.name, alias.asname, None))
                else:
                    top = alias.name.split(".")[0]
                    found.append((top, top, None))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    found.append((node.module, alias.asname or alias.name, alias.name))
    return found


class Verification:
    """Runs autograder/verify_cells.py on a notebook.

    ``verdicts`` maps each test cell index the verifier finished to (passed, message);
    ``problem`` says why verification stopped early (a dead or stopped process) and applies
    to every test cell without a verdict.
    """

    def __init__(self, request, command, timeout, grace):
        self.request, self.command, self.timeout, self.grace = request, command, timeout, grace
        self.verdicts, self.problem = {}, None

    def run(self):
        expected = [index for index, _, _ in self.request["cells"]]
        tests = {index for index, kind, _ in self.request["cells"] if kind == "test"}
        try:
            process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as err:
            self.problem = f"the verification process could not start ({err})"
            return
        try:
            process.stdin.write(json.dumps(self.request).encode())
            process.stdin.close()
            reader = LineReader(process.stdout.fileno())
            for index in expected:
                line = reader.line(self.timeout)
                if line is None:  # past the time limit: interrupt, then give up
                    _signal_group(process, signal.SIGINT)
                    line = reader.line(self.grace)
                if line is None:
                    self.problem = (f"not verified: the verification run of cell {index} did "
                                    "not finish in time or the process died")
                    return
                parsed = parse_reply(line)
                if parsed is None or parsed[0] != index:
                    self.verdicts, self.problem = {}, "the verification run was tampered with"
                    return
                if index in tests:
                    self.verdicts[index] = parsed[1:]
            if reader.line(self.grace, allow_eof=True) is not None or process.wait(self.grace):
                self.verdicts, self.problem = {}, "the verification run was tampered with"
        except (OSError, subprocess.TimeoutExpired, ValueError) as err:
            self.verdicts, self.problem = {}, f"the verification run failed ({err})"
        finally:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _signal_group(process, signum):
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def parse_reply(line):
    """(index, passed, message) from ``<index> <1|0> <hex>``, or None if malformed."""
    parts = line.split(" ")
    if len(parts) != 3 or parts[1] not in ("0", "1") or not parts[0].isdigit():
        return None
    try:
        message = bytes.fromhex(parts[2]).decode("utf-8", "replace")
    except ValueError:
        return None
    return int(parts[0]), parts[1] == "1", message


class LineReader:
    """Reads newline-terminated lines from a pipe with a time limit per line."""

    def __init__(self, fd):
        self.fd, self.buffer, self.eof = fd, b"", False

    def line(self, timeout, allow_eof=False):
        """Next line (str), or None on timeout or end of file."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                self.eof = not chunk
                self.buffer += chunk
                if len(self.buffer) > 2**20:
                    raise ValueError("the verification process wrote too much")
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("ascii", "replace")


def apply_verdicts(nb, record, verdicts, problem):
    """Fail every test cell the verification did not pass; keep the points of a cell that
    passed both runs but wrote to stderr."""
    for index, cell in enumerate(nb.cells):
        if not record.is_test(cell):
            continue
        outputs = cell.get("outputs", [])
        failed_in_kernel = any(o.output_type == "error" for o in outputs)
        passed, message = verdicts.get(index, (False, problem or "not verified"))
        if passed and not failed_in_kernel:
            cell.outputs = [o for o in outputs
                            if not (o.output_type == "stream" and o.name == "stderr")]
        elif not passed and not failed_in_kernel:
            # first, so that nbgrader's scoring (first error or result wins) sees it
            cell.outputs.insert(0, error_output(
                "VerificationFailed",
                f"this test fails when the notebook is re-run in a fresh process: {message}"))
