"""Grade a class in parallel: one task per submission, on this machine's cores or a Dask cluster.

A :class:`Task` carries what grading one submission needs, as data: the notebook's bytes,
the assignment's name, the submission's timestamp and the version of the course that the
coordinator grades with. :func:`grade_submission` runs on a worker. It grades the notebook in
a scratch course of its own, in a temporary folder (nbgrader ``autograde`` with the hidden
tests, then ``generate_feedback``), and returns a :class:`Result`, also data: every cell's
score, the autograded notebook, the feedback pages, the seconds it took and its problems. No
task assumes a file system shared with the coordinator, and no two tasks share a gradebook.

The coordinator (autograder/collect.py) grades its tasks with a :class:`GradingEngine`:

- ``workers=1``: one after another, in the coordinator's process;
- ``workers=N``: on a Dask ``LocalCluster`` of N single-threaded processes started here;
- ``scheduler="tcp://HOST:PORT"``: on an existing Dask cluster (README.md, "Grading on
  several machines").

It writes each result as it arrives: the scores into the course's one nbgrader gradebook
with nbgrader's ``Gradebook`` API (:func:`record_result`), the pages into ``autograded/`` and
``feedback/`` (:func:`write_pages`).

A worker whose course differs from the coordinator's (other contents of source/,
autograder/, utils/, data/, models/ or nbgrader_config.py) grades nothing, and its result is
refused with both versions named. A submission whose grading kills its worker is graded
again on another one; a second death marks it failed (Dask's
``distributed.scheduler.allowed-failures``, set to :data:`ALLOWED_FAILURES`).
"""

import ctypes
import hashlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from autograder.gradebook import open_gradebook, retrying
from autograder.grading import GRADING_MARGIN, ROOT, STOPPED, ScratchCourse, get_assignment

# What decides a grade: a worker must have the same bytes as the coordinator.
VERSIONED = ("source", "autograder", "utils", "data", "models", "nbgrader_config.py")
UNVERSIONED = ("__pycache__", ".ipynb_checkpoints", ".pytest_cache")
# A task may be running on one worker that dies and be retried; the second death fails it.
ALLOWED_FAILURES = 1
CONNECT_TIMEOUT = 20  # seconds to reach a scheduler and find a worker there
KERNEL_THREADS = "RNN_COURSE_KERNEL_THREADS"  # the sandbox turns it into OMP/BLAS/TF limits
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Task:
    """One submission to grade, as data. The engine fills in the fields after ``timestamp``."""
    assignment: str          # its name in autograder/course.toml
    student: str
    notebook: bytes          # the submitted notebook, as committed
    timestamp: str | None    # nbgrader's format ("2026-11-20 17:30:00.000000 UTC"), or None
    course_version: str = ""  # the coordinator's course_version()
    sandbox: str = "bwrap"    # GuardedExecute.sandbox: "bwrap", or "none" (--unsafe-no-sandbox)
    kernel_threads: dict = field(default_factory=dict)  # {worker address: threads per kernel}


@dataclass
class Result:
    """What a worker sends back for one task, as data."""
    assignment: str
    student: str
    course_version: str      # the worker's course_version()
    worker: str              # where it ran (a Dask address, or this host's name)
    graded: bool = False
    # {notebook id: {"grades": {grade id: auto score}, "comments": {cell id: auto comment},
    #                "late_penalty": points}}, as nbgrader autograde wrote them
    notebooks: dict = field(default_factory=dict)
    autograded: dict = field(default_factory=dict)  # {file name: bytes} of autograded/
    feedback: dict = field(default_factory=dict)    # {file name: bytes} of feedback/
    seconds: float = 0.0
    problems: list = field(default_factory=list)


# --------------------------------------------------------------------------- course version

def course_version(root=ROOT):
    """A short hash of everything under ``root`` that decides a grade (:data:`VERSIONED`)."""
    root = Path(root)
    digest = hashlib.sha256()
    for name in VERSIONED:
        top = root / name
        for path in [top] if top.is_file() else sorted(top.rglob("*")):
            if path.is_file() and not set(path.parts) & set(UNVERSIONED) and path.suffix != ".pyc":
                content = path.read_bytes()
                relative = str(path.relative_to(root)).encode()
                digest.update(b"%d:%s%d:" % (len(relative), relative, len(content)) + content)
    return digest.hexdigest()[:12]


@cache
def this_course_version():
    """This process's course version, computed once (before any submission has run)."""
    return course_version()


def version_problem(task, result):
    """Why a result is refused (a worker on another version of the course), or None."""
    if result.course_version == task.course_version:
        return None
    return (f"{task.assignment}: {task.student}'s result refused: worker {result.worker} grades "
            f"with course version {result.course_version}, this collect with version "
            f"{task.course_version} (give every worker the same checkout)")


# ------------------------------------------------------------------------------- the worker

def cpu_count():
    """Cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def die_with_worker():
    """In a new nbgrader process, before it starts: be killed when the worker that started it
    dies (Linux), so that a killed or stopped worker leaves no grading behind."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def worker_address():
    """The Dask address of the worker running this task ("" outside Dask)."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return ""


@contextmanager
def kernel_threads(threads):
    """Tell the kernels started inside this block to use ``threads`` threads each."""
    before = os.environ.get(KERNEL_THREADS)
    os.environ[KERNEL_THREADS] = str(threads)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(KERNEL_THREADS, None)
        else:
            os.environ[KERNEL_THREADS] = before


_generated = {}
_generated_lock = threading.Lock()


def generated_assignment(assignment):
    """{relative path: bytes} of a scratch course in which ``assignment`` was generated: its
    gradebook and source folder. Made once per worker process and assignment."""
    with _generated_lock:
        if assignment.name not in _generated:
            with tempfile.TemporaryDirectory(prefix="rnn-grading-generate-") as folder:
                course = ScratchCourse(folder)
                course.preexec = _libc and die_with_worker
                course.generate(assignment)
                paths = [course.db_path, *(course.root / "source" / assignment.name).rglob("*")]
                _generated[assignment.name] = {
                    str(path.relative_to(course.root)): path.read_bytes()
                    for path in paths if path.is_file()}
        return _generated[assignment.name]


def scratch_course(assignment, folder, sandbox):
    """A scratch course in ``folder`` with ``assignment`` generated and feedback configured
    as collect's (hidden tests' code never shown)."""
    from autograder.feedback import enable_feedback_without_hidden_tests

    course = ScratchCourse(folder, sandbox=sandbox)
    course.preexec = _libc and die_with_worker
    for relative, content in generated_assignment(assignment).items():
        target = course.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    enable_feedback_without_hidden_tests(course)
    return course


def autograded_scores(course, assignment, student):
    """The scores nbgrader autograde wrote for one submission (:attr:`Result.notebooks`),
    or {} when it wrote none."""
    from nbgrader.api import MissingEntry

    with open_gradebook(course.db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment.name, student)
        except MissingEntry:
            return {}
        return {notebook.name: {
            "grades": {grade.name: grade.auto_score for grade in notebook.grades},
            "comments": {comment.name: comment.auto_comment for comment in notebook.comments},
            "late_penalty": notebook.late_submission_penalty,
        } for notebook in submission.notebooks}


def files_in(folder, suffix):
    """{name: bytes} of the files ending in ``suffix`` directly in ``folder``."""
    return {path.name: path.read_bytes() for path in sorted(folder.glob(f"*{suffix}"))
            if path.is_file() and not path.is_symlink()}


def grade_submission(task):
    """Grade one submission in a scratch course of its own; return its :class:`Result`.

    Runs wherever the task is sent (this process or a Dask worker): it needs the same
    checkout and environment as the coordinator, nothing else of the coordinator's. A worker
    on another course version returns at once, without grading.
    """
    started = time.monotonic()
    here = worker_address()
    result = Result(task.assignment, task.student, this_course_version(),
                    here or socket.gethostname())
    if result.course_version != task.course_version:
        return result
    assignment = get_assignment(task.assignment)
    threads = task.kernel_threads.get(here) or cpu_count()
    with kernel_threads(threads), tempfile.TemporaryDirectory(prefix="rnn-grading-") as folder:
        course = scratch_course(assignment, Path(folder) / "course", task.sandbox)
        upload = Path(folder) / "upload" / assignment.notebook
        upload.parent.mkdir()
        upload.write_bytes(task.notebook)
        course.submit(assignment, task.student, upload, timestamp=task.timestamp)
        # One limit for the whole submission: its kernel, its verification, its feedback.
        deadline = started + assignment.grading_limit
        process = course.autograde(assignment, limit=max(1, deadline - time.monotonic()))
        result.notebooks = autograded_scores(course, assignment, task.student)
        result.graded = bool(result.notebooks)
        if process.cut_off:
            result.problems.append(cut_off_problem(assignment, task.student))
        elif not result.graded:
            result.problems.append(
                f"{assignment.name}: nbgrader could not grade {task.student} (exit "
                f"{process.returncode}):\n{process.stderr[-2000:]}")
        else:
            feedback = course.generate_feedback(  # sandboxed: renders student output
                assignment, timeout=max(1, deadline - time.monotonic()))
            if feedback.returncode == STOPPED:
                result.problems.append(cut_off_problem(assignment, task.student, "its feedback page"))
            elif feedback.returncode != 0:
                result.problems.append(
                    f"{assignment.name}: no feedback for {task.student}: generate_feedback "
                    f"exited {feedback.returncode}:\n{feedback.stderr[-2000:]}")
            result.autograded = files_in(
                course.root / "autograded" / task.student / assignment.name, ".ipynb")
            result.feedback = files_in(
                course.root / "feedback" / task.student / assignment.name, ".html")
    result.seconds = time.monotonic() - started
    return result


def cut_off_problem(assignment, student, what="grading"):
    """The report's line for a submission stopped at its grading limit."""
    return (f"{assignment.name}: {student}: {what} stopped at the submission's limit of "
            f"{assignment.grading_limit} s (the notebook's budget of {assignment.notebook_budget} "
            f"s in course.toml and {GRADING_MARGIN} s to start and render): scored what was "
            "judged before the cut (nothing, if no gradebook row was written)")


# -------------------------------------------------------------------------- the coordinator

@contextmanager
def interrupts_deferred():
    """Hold back Ctrl-C (SIGINT) until the end of the block, so that a gradebook write is
    whole: nbgrader commits a new submission before its scores."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda *_: received.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            raise KeyboardInterrupt


def record_result(db_url, task, result):
    """Write a worker's scores for one submission into the course gradebook, as nbgrader
    autograde would (SaveAutoGrades, AssignLatePenalties): auto scores and comments replace
    the previous ones; a cell with a manual score keeps it and is marked for review."""
    name, student = task.assignment, task.student
    with interrupts_deferred(), open_gradebook(db_url) as gradebook:
        retrying(lambda: gradebook.update_or_create_student(student))
        stamp = {"timestamp": task.timestamp} if task.timestamp else {}
        retrying(lambda: gradebook.update_or_create_submission(name, student, **stamp))
        for notebook_id, scores in result.notebooks.items():
            for cell, score in scores["grades"].items():
                grade = gradebook.find_grade(cell, notebook_id, name, student)
                grade.auto_score = score
                grade.needs_manual_grade = grade.manual_score is not None or score is None
            for cell, comment in scores["comments"].items():
                gradebook.find_comment(cell, notebook_id, name, student).auto_comment = comment
            notebook = gradebook.find_submission_notebook(notebook_id, name, student)
            notebook.late_submission_penalty = scores["late_penalty"]
        gradebook.db.commit()


def graded_timestamps(db_url, assignment):
    """{student: UTC timestamp} of the submissions the gradebook holds for ``assignment``."""
    with open_gradebook(db_url) as gradebook:
        return {s.student_id: s.timestamp for s in gradebook.assignment_submissions(assignment)}


def write_pages(root, result):
    """Write a result's autograded notebook and feedback pages into the course folder
    ``root`` (autograded/ and feedback/ <student>/<assignment>/), replacing earlier ones."""
    for folder, files in (("autograded", result.autograded), ("feedback", result.feedback)):
        target = Path(root) / folder / result.student / result.assignment
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        target.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            if Path(name).name == name and not name.startswith("."):
                (target / name).write_bytes(content)


def cluster_kernel_threads(client):
    """{worker address: threads per kernel}: each machine's cores shared among the tasks
    its workers run at once."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    cores = client.run(cpu_count)
    slots = Counter()
    for info in workers.values():
        slots[info["host"]] += info["nthreads"]
    return {address: max(1, cores[address] // slots[info["host"]])
            for address, info in workers.items() if address in cores}


def _limit_failures(dask_scheduler, failures):
    dask_scheduler.allowed_failures = failures


class GradingEngine:
    """Where tasks are graded: in this process, on a LocalCluster, or on a Dask scheduler.

    Use as a context manager: entering connects to the scheduler (raising RuntimeError with
    its address when it does not answer), so that nothing is written before; the local
    cluster starts when there are tasks for more than one worker; leaving stops it.
    """

    def __init__(self, workers=None, scheduler=None, sandbox="bwrap"):
        self.workers = workers or cpu_count()
        self.scheduler = scheduler
        self.sandbox = sandbox
        self.client = self.cluster = None
        self.version = None

    def __enter__(self):
        # The version of the course as this run starts, before any worker starts.
        self.version = course_version()
        if self.scheduler:
            self._connect()
        return self

    def __exit__(self, *exc):
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None

    def local_workers(self, tasks):
        """How many local workers grade ``tasks`` tasks (no more than there are tasks)."""
        return min(self.workers, tasks)

    def describe(self, tasks):
        """Where ``tasks`` tasks will be graded, in words."""
        if self.scheduler:
            return f"the Dask cluster at {self.scheduler}"
        if self.local_workers(tasks) > 1:
            return f"a local Dask cluster of {self.local_workers(tasks)} worker processes"
        return "this process, one after another"

    def _connect(self):
        from distributed import Client

        try:
            self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as err:
            raise RuntimeError(f"cannot reach the Dask scheduler at {self.scheduler} within "
                               f"{CONNECT_TIMEOUT} s ({err}); is `dask scheduler` running "
                               "there?") from None
        try:
            self.client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except TimeoutError:
            self.client.close()
            raise RuntimeError(f"the Dask scheduler at {self.scheduler} has no worker (start "
                               "`dask worker` processes; README.md)") from None
        # A submission that kills a worker is retried once, whatever the scheduler's default.
        self.client.run_on_scheduler(_limit_failures, failures=ALLOWED_FAILURES)

    def _start_local_cluster(self, workers):
        import logging

        import dask
        from distributed import Client, LocalCluster

        with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                              "distributed.scheduler.worker-saturation": 1.0}):
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                        processes=True, dashboard_address=None,
                                        silence_logs=logging.ERROR)
        self.client = Client(self.cluster)

    def grade(self, tasks):
        """Yield (task, its Result or the exception that stopped it), as each finishes, with a
        progress bar (count, rate, time left)."""
        from tqdm import tqdm

        with tqdm(total=len(tasks), desc="grading", unit="submission", smoothing=0) as bar:
            for task, outcome in self._outcomes(tasks):
                bar.set_postfix_str(f"{task.assignment} {task.student}", refresh=False)
                bar.update()
                yield task, outcome

    def _complete(self, task, threads):
        """``task`` with what the engine adds: the course version (unless given), the sandbox,
        the kernels' threads."""
        return replace(task, course_version=task.course_version or self.version,
                       sandbox=self.sandbox, kernel_threads=threads)

    def _outcomes(self, tasks):
        if not self.scheduler and self.local_workers(len(tasks)) > 1 and self.client is None:
            self._start_local_cluster(self.local_workers(len(tasks)))
        if self.client is None:
            threads = {"": cpu_count()}
            for task in tasks:
                task = self._complete(task, threads)
                try:
                    outcome = grade_submission(task)
                except Exception as err:  # noqa: BLE001  (one submission never stops the class)
                    outcome = err
                yield task, outcome
            return
        from distributed import as_completed

        threads = cluster_kernel_threads(self.client)
        futures = {}
        for task in tasks:
            task = self._complete(task, threads)
            key = f"grade-{task.assignment}-{task.student}-{uuid.uuid4().hex[:8]}"
            futures[self.client.submit(grade_submission, task, pure=False, key=key)] = task
        try:
            for future in as_completed(futures):
                try:
                    outcome = future.result()
                except Exception as err:  # noqa: BLE001  (KilledWorker, a worker's error)
                    outcome = err
                yield futures[future], outcome
        finally:
            self.client.cancel(list(futures))


def outcome_problem(task, outcome):
    """Why an outcome gives no grade (a refused result, a failure), or None for a Result
    whose scores can be recorded."""
    from distributed import KilledWorker

    if isinstance(outcome, KilledWorker):
        return (f"{task.assignment}: {task.student} FAILED: grading this submission killed "
                f"{ALLOWED_FAILURES + 1} workers; not retried (grade it by hand, or find out "
                "why before regrading)")
    if isinstance(outcome, BaseException):
        return f"{task.assignment}: grading {task.student} failed: {type(outcome).__name__}: {outcome}"
    refused = version_problem(task, outcome)
    if refused:
        return refused
    if not outcome.graded:
        return "; ".join(outcome.problems) or f"{task.assignment}: {task.student} not graded"
    return None
