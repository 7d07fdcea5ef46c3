"""nbgrader's Execute step, hardened against hostile submissions (see autograder/README.md).

``nbgrader_config.py`` puts :class:`GuardedExecute` in place of nbgrader's ``Execute`` for
``nbgrader autograde``. For each submitted notebook it

1. judges cells by the gradebook's record, never by the submission's metadata: grade and
   solution flags, points and test cell sources are put back from the gradebook;
2. runs the kernel in a bubblewrap sandbox (autograder/sandbox.py): no network, no other
   process, no file of the grader's but a read-only snapshot of ``utils/``, ``data/`` and
   ``models/`` taken before any submission ran, one scratch folder (a copy of the notebook's
   folder, never copied back) and a private ``/tmp``; limits on memory, processes, file
   size and output; it talks to the grader over Jupyter's ``ipc`` transport;
3. bounds time: a cell past its timeout is interrupted, and the whole notebook has a budget
   (``budget`` in course.toml) however many cells a student adds, shared by the kernel's
   run and the verification; a kernel that ignores the
   interrupt, dies (``os._exit``, a segfault, the memory limit) or exhausts the budget is
   stopped, and the cells it did not run get an error saying why;
4. verifies every test cell that can still score in two fresh sandboxed processes
   (autograder/verify_cells.py): the student's code runs in one, the test cell in the other,
   which asks for the student's values and calls as plain data and decides. A test cell
   scores only if both nbgrader's run and the verification pass it; one that passed both but
   wrote to stderr (nbgrader's rule gives such a cell zero) keeps its points;
5. removes from the outputs of the student's cells anything that contains the course's hidden
   tests or solutions.
"""

import ast
import atexit
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
import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Enum, Integer, List, Unicode, default

from autograder import sandbox
from autograder.feedback import BEGIN_HIDDEN, hide_hidden_block
from autograder.grading import get_assignment, secret_lines_in
from autograder.verify_cells import test_code, top_level_names

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VERIFY_SCRIPT = HERE / "verify_cells.py"
COURSE_INSIDE = "/course"            # where the snapshot of shared files appears in a sandbox
VERIFIER_INSIDE = "/grader/verify_cells.py"
REDACTED = "[output removed by the grader: it contained the course's hidden tests or solutions]"
# Variables of the grader's that a kernel may see: grading mode, quiet TensorFlow, and the
# OpenBLAS settings some processors need to compute correctly. Nothing else crosses.
PASSED_VARIABLES = ("RNN_COURSE_GRADING", "TF_CPP_MIN_LOG_LEVEL", "OPENBLAS_CORETYPE",
                    "OPENBLAS_L2_SIZE")
SANDBOX_MEMORY, SANDBOX_PROCESSES = sandbox.Sandbox.memory, sandbox.Sandbox.processes
OUTPUT_LIMIT = 16 * 2**20  # bytes of output a notebook may produce; no message may be larger
KERNEL_THREADS = "RNN_COURSE_KERNEL_THREADS"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")

_snapshot = None
_snapshot_lock = threading.Lock()


def trusted_snapshot(shared):
    """A read-only folder holding the repository's files that notebooks read, written once per
    grading process, before any submission's code has run."""
    global _snapshot
    with _snapshot_lock:
        if _snapshot is None:
            top = Path(tempfile.mkdtemp(prefix="rnn-course-snapshot-"))
            for name in shared:
                source = ROOT / name
                paths = [source, *source.rglob("*")] if source.is_dir() else [source]
                for path in sorted(paths):
                    if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts:
                        target = top / path.relative_to(ROOT)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(path, target)
            for path in [top, *top.rglob("*")]:
                path.chmod(0o555 if path.is_dir() else 0o444)
            atexit.register(_remove_read_only, top)
            _snapshot = top
        return _snapshot


def _remove_read_only(top):
    for path in [top, *top.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(top, ignore_errors=True)


def kernel_environment(home):
    """The whole environment of a sandboxed process: built from nothing."""
    env = {"PATH": f"{sys.prefix}/bin:/usr/bin:/bin", "HOME": home, "USER": "student",
           "LOGNAME": "student", "LANG": "C.UTF-8", "PYTHONPATH": COURSE_INSIDE,
           "RNN_COURSE_DATA": f"{COURSE_INSIDE}/data", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONNOUSERSITE": "1", "PYTHONHASHSEED": "0", "MPLCONFIGDIR": f"{home}/.matplotlib",
           "IPYTHONDIR": f"{home}/.ipython", "KERAS_HOME": f"{home}/.keras",
           "JUPYTER_RUNTIME_DIR": f"{home}/.jupyter"}
    env.update({k: os.environ[k] for k in PASSED_VARIABLES if k in os.environ})
    threads = os.environ.get(KERNEL_THREADS, "")
    if threads.isdigit() and int(threads) > 0:
        env.update({k: threads for k in THREAD_VARIABLES})
    return env


class GradingSandboxes:
    """The sandboxes of one submission: the kernel's and the verification's processes'.

    ``kernel(cwd)``: the kernel's sandbox, whose working directory ``cwd`` (the notebook's
    folder) is a fresh tmpfs holding read-only copies of the files beside the notebook;
    ``connection``: the folder of the kernel's ipc sockets; ``verifier(name)``: a sandbox for
    a verification process. Each has a control group of its own where the machine offers
    one (sandbox.ControlGroup); ``remove()`` kills what is left and deletes them.
    """

    def __init__(self, execute):
        self.execute = execute
        self.top = Path(tempfile.mkdtemp(prefix="rnn-course-grading-"))
        self.connection = self.top / "connection"
        sandbox.make_writable(self.connection)
        self.groups = []

    def _sandbox(self, cwd, writable=None, files=None):
        execute = self.execute
        snapshot = trusted_snapshot(execute.shared_paths)
        group = sandbox.ControlGroup.create(execute.memory_limit, execute.process_limit)
        if group is not None:
            self.groups.append(group)
        return sandbox.Sandbox(
            readonly={COURSE_INSIDE: str(snapshot), VERIFIER_INSIDE: str(VERIFY_SCRIPT)},
            writable=writable or {}, cwd=cwd, env=kernel_environment("/tmp"),
            memory=execute.memory_limit, processes=execute.process_limit,
            file_size=execute.file_size_limit, scratch=(cwd,), scratch_size=execute.scratch_size,
            scratch_files=files or {}, group=group)

    def kernel(self, cwd):
        inside = str(cwd) if cwd else "/tmp/home"
        beside = [path for path in (Path(cwd).iterdir() if cwd and Path(cwd).is_dir() else [])
                  if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb"]
        return self._sandbox(inside, {str(self.connection): str(self.connection)},
                             {f"{inside}/{path.name}": str(path) for path in beside})

    def verifier(self, name):
        return self._sandbox(f"/sandbox/{name}")

    def remove(self):
        for group in self.groups:
            group.remove()
        shutil.rmtree(self.top, ignore_errors=True)


class SandboxedKernelSpecs(KernelSpecManager):
    """Kernel specs whose command runs in the sandbox, interrupted by a message (a signal
    cannot cross the sandbox's pid namespace), with no environment of the grader's."""

    wrap = List([])

    def get_kernel_spec(self, kernel_name):
        spec = super().get_kernel_spec(kernel_name)
        argv = [sys.executable if arg in ("python", "python3") else arg for arg in spec.argv]
        spec.argv = [*self.wrap, *argv]
        spec.interrupt_mode = "message"
        spec.env = {}
        return spec


class SandboxedKernelClient(AsyncKernelClient):
    """A kernel client without the heartbeat channel: its thread, blocked on a socket the
    kernel broke, would hang the grader when it stops. Liveness comes from the process.
    A message larger than the output limit is dropped by zmq before it is read into the
    grader's memory (the connection is dropped and made again)."""

    def start_channels(self, *args, **kwargs):
        kwargs["hb"] = False
        self.context.setsockopt(zmq.MAXMSGSIZE, OUTPUT_LIMIT + 2**20)
        super().start_channels(*args, **kwargs)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose connection file the sandbox's user can read, and whose
    interrupt and shutdown messages cannot block the grader: a kernel that wrote junk on its
    own sockets would otherwise leave them waiting for ever."""

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        os.chown(self.connection_file, *sandbox.owner_for_writable())

    @default("client_factory")
    def _sandboxed_client(self):
        return SandboxedKernelClient

    def _connect_control_socket(self):
        super()._connect_control_socket()
        self._control_socket.setsockopt(zmq.SNDTIMEO, 5000)


def error_output(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


class GuardedExecute(Execute):
    """nbgrader's Execute with the defences listed in this module's docstring."""

    sandbox = Enum(["bwrap", "none"], "bwrap",
                   help="'none' runs student code with the grader's rights: only for the "
                        "course's own notebooks").tag(config=True)
    budget = Integer(600, help="seconds the whole notebook may run").tag(config=True)
    memory_limit = Integer(SANDBOX_MEMORY, help="bytes of memory of a sandbox (its control "
                           "group) and of each of its processes").tag(config=True)
    process_limit = Integer(SANDBOX_PROCESSES, help="processes and threads of a sandbox (its "
                            "control group) and of its user").tag(config=True)
    file_size_limit = Integer(256 * 2**20, help="largest file a kernel may write").tag(config=True)
    output_limit = Integer(OUTPUT_LIMIT, help="bytes of output a notebook may produce").tag(config=True)
    scratch_size = Integer(512 * 2**20, help="bytes a kernel may write in its working folder "
                                             "(a tmpfs)").tag(config=True)
    grace = Integer(10, help="seconds an interrupted cell has to stop").tag(config=True)
    verify = Bool(True, help="verify test cells in fresh processes").tag(config=True)
    shared_paths = List(Unicode(), ["utils", "data", "models", "environment.yml",
                                     "requirements.txt"],
                        help="what the notebooks read from the repository").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources, retries=None):
        record = GradebookRecord(resources["nbgrader"], self.config)
        record.restore(nb)
        self._deadline = time.monotonic() + self.budget
        self._stopped, self._output_bytes = None, 0
        self._boxes = GradingSandboxes(self) if self.sandbox == "bwrap" else None
        # The kernel runs student code: it never gets the hidden tests (a student's function
        # could read them from the kernel's history or frames and print them). The judge runs
        # them in full (verify_tests).
        hidden = {i: c.source for i, c in enumerate(nb.cells)
                  if self.verify and record.is_test(c) and BEGIN_HIDDEN in c.source}
        for index in hidden:
            nb.cells[index].source = hide_hidden_block(hidden[index])
        watchdog = threading.Timer(self.budget + 2 * self.grace, self._kill_kernel)
        watchdog.daemon = True
        watchdog.start()
        started = time.monotonic()
        try:
            nb, resources = super().preprocess(nb, resources, retries)
            watchdog.cancel()
            ran = time.monotonic()
            for index, source in hidden.items():
                nb.cells[index].source = source
            if self.verify:
                self.verify_tests(nb, record, hidden)
            # Where the time went, for benchmarks/grading_throughput.py's breakdown.
            nb.metadata["grading_seconds"] = {"kernel": round(ran - started, 2),
                                              "verification": round(time.monotonic() - ran, 2)}
        finally:
            watchdog.cancel()
            if self._boxes:
                self._boxes.remove()
        record.redact_leaks(nb)
        return nb, resources

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self._boxes:
            cwd = self.resources.get("metadata", {}).get("path")
            box = self._boxes.kernel(cwd)
            km.kernel_spec_manager = SandboxedKernelSpecs(wrap=["env", "-i", *box.command([])])
            km.transport = "ipc"
            km.ip = str(self._boxes.connection / "kernel")
            km.connection_file = str(self._boxes.connection / "kernel.json")
        return km

    def _get_timeout(self, cell):
        """The cell's timeout, cut to what is left of the notebook's budget."""
        left = max(1, int(self._deadline - time.monotonic()))
        return min(super()._get_timeout(cell) or left, left)

    def output(self, outs, msg, display_id, cell_index):
        """Keep outputs until the notebook has produced ``output_limit`` bytes, then drop them."""
        self._output_bytes += len(json.dumps(msg.get("content", {}), default=str))
        if self._output_bytes <= self.output_limit:
            return super().output(outs, msg, display_id, cell_index)
        if not getattr(self, "_output_cut", None) == cell_index:
            self._output_cut = cell_index
            outs.append(NotebookNode(output_type="stream", name="stdout", text=(
                f"[more output removed: the notebook printed over {self.output_limit} bytes]\n")))
        return None

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if not self._stopped and time.monotonic() >= self._deadline:
            self._stopped = (f"the notebook used up its time budget of {self.budget}s "
                             "(course.toml), so the kernel was stopped")
            self._shutdown()
        if self._stopped:
            cell.outputs = [error_output("NotRun", f"this cell was not run: {self._stopped}")]
            return cell, resources
        self._timed_out = None
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            if self._timed_out:  # one error naming the limit, not a bare KeyboardInterrupt
                cell.outputs = [o for o in cell.outputs if o.output_type != "error"] + [
                    error_output("CellTimeoutError", f"this cell ran past its {self._timed_out}"
                                 " s time limit and was interrupted")]
            return cell, resources
        except Exception as err:  # noqa: BLE001  (a dead, stuck or broken kernel: stop it)
            if isinstance(err, CellTimeoutError) and "IOPub" in str(err):
                # The cell finished but its outputs never came: a message over the output
                # limit, which zmq dropped with its connection. The kernel is well: go on.
                cell.outputs.append(NotebookNode(output_type="stream", name="stdout", text=(
                    f"[output removed: this cell printed over {self.output_limit} bytes at "
                    "once]\n")))
                return cell, resources
            if not self._stopped:
                cause = ("the kernel died" if isinstance(err, DeadKernelError)
                         else f"the kernel stopped answering ({type(err).__name__})")
                self._stopped = (f"{cause} while running cell {index}: os._exit, a crash, more "
                                 "memory than the grader allows, or a broken kernel")
            self._shutdown()
            cell.outputs.append(error_output("KernelStopped", self._stopped))
            return cell, resources

    def _kill_kernel(self):
        """Past the budget and its grace with the kernel still running (a kernel that broke
        its own connection, so that nothing else notices): kill it."""
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            self._stopped = self._stopped or (
                f"the notebook used up its time budget of {self.budget}s (course.toml), so "
                "the kernel was stopped")
            process.kill()

    def _shutdown(self):
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001  (already gone, or its control socket is broken)
            self._kill_kernel()

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = timeout
        try:
            reply = await super()._async_handle_timeout(timeout, cell)
        except zmq.ZMQError:  # the interrupt could not be sent: the kernel broke its sockets
            self._stopped = (f"a cell ran past the {timeout}s time limit and the kernel no "
                             "longer took messages, so it was stopped")
            self._kill_kernel()
            return {"content": {**self.error_on_timeout, "status": "error"}}
        try:  # the interrupted cell answers (KeyboardInterrupt) unless it ignores interrupts
            await ensure_async(self.kc.shell_channel.get_msg(timeout=self.grace))
        except Exception:  # noqa: BLE001  (queue.Empty: no answer)
            self._stopped = (f"a cell ran past the {timeout}s time limit and ignored the "
                             "interrupt, so the kernel was stopped")
            try:
                await ensure_async(self.km.shutdown_kernel(now=True))
            except Exception:  # noqa: BLE001  (its control socket is broken)
                self._kill_kernel()
        return reply

    def verify_tests(self, nb, record, hidden):
        """Re-run the notebook, up to the last test cell that can still score, with the student's
        code and the tests in separate fresh processes; fail every test cell the verification
        does not pass."""
        open_tests = [i for i, c in enumerate(nb.cells) if record.is_test(c)
                      and not any(o.output_type == "error" for o in c.outputs)]
        if not open_tests:
            return
        request = record.verification_request(nb, last=open_tests[-1])
        if self._boxes:
            student = ["env", "-i", *self._boxes.verifier("student").command([])]
            judge = ["env", "-i", *self._boxes.verifier("judge").command([])]
            script = VERIFIER_INSIDE
        else:
            student = judge = []
            script = str(VERIFY_SCRIPT)
        # The verification has what is left of the notebook's budget: one budget bounds both runs.
        verification = Verification(request, student, judge, script, self.timeout or 600,
                                    self.grace, deadline=self._deadline + self.grace)
        verification.run()
        apply_verdicts(nb, record, verification.verdicts, verification.problem, hidden)


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
        try:
            self.judged_in_student_process = set(
                get_assignment(self.assignment_id).judged_in_student_process)
        except KeyError:  # not one of the course's assignments (a test's own notebook)
            self.judged_in_student_process = set()
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

    def test_kind(self, cell):
        """Where verify_cells.py judges a test cell: "test" (in the judge) unless course.toml
        lists it among those judged in the student's process ("student test")."""
        return "student test" if self.grade_id(cell) in self.judged_in_student_process else "test"

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
        """What verify_cells.py runs: the code cells up to cell ``last``, and the names the
        course's own imports bind (``np`` -> numpy), less those a student's answer cell
        binds: a student's own helper called ``softmax`` stays theirs."""
        cells = [[i, self.test_kind(c) if self.is_test(c) else "code", c.source]
                 for i, c in enumerate(nb.cells[: last + 1]) if c.cell_type == "code"]
        answered = set()
        for cell in nb.cells:
            if cell.cell_type == "code" and self.grade_id(cell) in self.solutions:
                try:
                    answered |= top_level_names(test_code(cell.source))
                except SyntaxError:
                    pass
        bindings, answers = {}, set()
        for source, trusted_names in self._trusted_sources():
            if not trusted_names:  # a solution cell: the names the graded answers define
                try:
                    answers |= top_level_names(test_code(source))
                except SyntaxError:
                    pass
            for module, name, attribute in import_statements(source):
                if trusted_names and name not in answered:
                    bindings[name] = (module, attribute)
        return {"bindings": bindings, "answers": sorted(answers - set(bindings)), "cells": cells}

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
    """Runs autograder/verify_cells.py: the student's process and the judge, joined by pipes.

    ``verdicts`` maps each test cell index the judge finished to (passed, message), and
    ``judged`` to where it was judged ("judge", or "student process" for a test that needs
    values with no plain-data form);
    ``problem`` says why verification stopped early (a cell that ignored the interrupt, a
    dead process, the budget) and applies to every test cell without a verdict.
    """

    def __init__(self, request, student, judge, script, timeout, grace, deadline):
        self.request, self.timeout, self.grace = request, timeout, grace
        self.student_prefix, self.judge_prefix, self.script = student, judge, script
        self.deadline = deadline  # time.monotonic() at which it stops
        self.verdicts, self.judged, self.problem = {}, {}, None

    def run(self):
        to_student, from_judge = os.pipe()      # judge -> student
        to_judge, from_student = os.pipe()      # student -> judge
        control_read, control = os.pipe()        # grader -> student: interrupt
        processes = []
        try:
            student = subprocess.Popen(
                [*self.student_prefix, sys.executable, self.script, "student", str(control_read)],
                stdin=to_student, stdout=from_student, stderr=subprocess.DEVNULL,
                pass_fds=(control_read,), start_new_session=True)
            processes.append(student)
            judge = subprocess.Popen(
                [*self.judge_prefix, sys.executable, self.script, "judge", str(to_judge),
                 str(from_judge)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                pass_fds=(to_judge, from_judge), start_new_session=True)
            processes.append(judge)
        except OSError as err:
            self.problem = f"the verification processes could not start ({err})"
            return
        finally:
            for fd in (to_student, from_judge, to_judge, from_student, control_read):
                os.close(fd)
        try:
            judge.stdin.write(json.dumps(self.request).encode())
            judge.stdin.close()
            self._follow(LineReader(judge.stdout.fileno()), control)
        except (OSError, ValueError) as err:
            self.problem = f"the verification run failed ({err})"
        finally:
            os.close(control)
            for process in processes:
                _signal_group(process, signal.SIGKILL)
                process.wait()

    def _follow(self, reader, control):
        """Read the judge's lines; interrupt a student cell that runs past its time."""
        tests = {index for index, kind, _ in self.request["cells"] if kind != "code"}
        current = None
        while len(self.verdicts) < len(tests):
            left = self.deadline - time.monotonic()
            line = reader.line(max(0.1, min(self.timeout, left)))
            if line is None and current is not None and left > 0:
                os.write(control, b"i")  # like Jupyter's interrupt: the cell gets KeyboardInterrupt
                line = reader.line(self.grace)
            if line is None:
                self.problem = (f"not verified: the verification run of cell {current} did not "
                                "finish in time (an interrupt was ignored or the budget ran "
                                "out) or its process died")
                return
            message = json.loads(line)
            if "cell" in message:
                current = message["cell"]
            elif message.get("index") in tests:
                self.verdicts[message["index"]] = (bool(message["passed"]),
                                                   str(message["message"]))
                self.judged[message["index"]] = str(message.get("judged"))


def _signal_group(process, signum):
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


class LineReader:
    """Reads newline-terminated lines from a pipe with a time limit per line."""

    def __init__(self, fd):
        self.fd, self.buffer, self.eof = fd, b"", False

    def line(self, timeout):
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
        return line.decode("utf-8", "replace")


def apply_verdicts(nb, record, verdicts, problem, hidden=()):
    """Fail every test cell the verification did not pass; keep the points of a cell that
    passed both runs but wrote to stderr. For a cell with hidden tests (``hidden``: indices),
    the verification's is the only run of the hidden part, and its message the test's own."""
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
            if index in hidden:
                ename, _, evalue = message.partition(": ")
                if index not in verdicts or not ename.isidentifier():
                    ename, evalue = "HiddenTestFailed", message
                cell.outputs.insert(0, error_output(ename, evalue))
            else:
                cell.outputs.insert(0, error_output(
                    "VerificationFailed",
                    "this test passed in the graded run but fails when the notebook is run "
                    f"again from the top in a fresh process, as `python check.py` does: {message}"))
