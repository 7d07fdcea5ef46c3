"""Grading a class in parallel (autograder/parallel.py, `collect --workers/--scheduler/--db`).

Every grading test grades 00_setup, the quick assignment, through real nbgrader: one class of
five student repositories graded serially is the reference that the parallel run, a Dask
cluster whose workers are killed mid-grading, and an interrupted run must reproduce. A real
PostgreSQL server, started by the test, holds the gradebook of two collect runs at once.
"""

import csv
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from autograder import collect, parallel
from autograder.gradebook import open_gradebook
from autograder.grading import (
    ROOT, ScratchCourse, apply_mutant, fill_solutions, get_assignment, load_mutants, read_notebook,
)
from autograder.roster import load_roster
from conftest import ASSIGNMENT_IDS
from test_collect import make_student_repo, write_roster

ASSIGNMENT = "00_setup"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(ASSIGNMENT not in ASSIGNMENT_IDS,
                                reason=f"COURSE_ONLY leaves out {ASSIGNMENT}")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_class(root, name, submissions):
    """Student clones of assignment ``name`` (plain layout) and their roster.

    ``submissions``: {student id: notebook node, or None for the untouched release}.
    Returns (repos folder, roster path).
    """
    assignment = get_assignment(name)
    template = root / "template"
    notebook = Path("assignments") / name / assignment.notebook
    (template / notebook).parent.mkdir(parents=True)
    shutil.copyfile(assignment.release_dir / assignment.notebook, template / notebook)
    for student, nb in submissions.items():
        answer = (lambda repo, nb=nb: nbformat.write(nb, str(repo / notebook))) if nb else None
        make_student_repo(template, root / "repos" / f"rnn-course-{student}", answer)
    roster = write_roster(root / "roster.csv", ["student_id", "repo"],
                          [[s, f"rnn-course-{s}"] for s in submissions])
    return root / "repos", roster


def collect_command(repos, roster, out, *options):
    return [sys.executable, "-m", "autograder.collect", str(repos), "--roster", str(roster),
            "--out", str(out), "--assignment", ASSIGNMENT, *options]


def grades_csv(out):
    with open(out / "grades.csv", newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def cell_scores(out, db_url=None):
    return ScratchCourse(out, db_url=db_url).scores(get_assignment(ASSIGNMENT))


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """Five students: the reference, two mutants, the untouched release, the reference again."""
    assignment = get_assignment(ASSIGNMENT)
    release = read_notebook(assignment.release_dir / assignment.notebook)
    reference = fill_solutions(release, read_notebook(assignment.source_notebook))
    mutants = load_mutants(assignment)
    submissions = {"alice": reference, "bob": apply_mutant(reference, mutants[0]),
                   "carol": None, "dave": apply_mutant(reference, mutants[2]),
                   "doomed": reference}
    return make_class(tmp_path_factory.mktemp("class"), ASSIGNMENT, submissions)


@pytest.fixture(scope="module")
def serial(classroom, tmp_path_factory):
    """The class graded with --workers 1: (course folder, report text)."""
    repos, roster = classroom
    out = tmp_path_factory.mktemp("serial") / "grading"
    assert collect.main([str(repos), "--roster", str(roster), "--out", str(out),
                         "--assignment", ASSIGNMENT, "--workers", "1"]) == 0
    return out


# ---------------------------------------------------------------------- without grading

def test_course_version_follows_the_content_of_every_versioned_folder(tmp_path):
    for name in parallel.VERSIONED:
        path = tmp_path / name / "file.py" if "." not in name else tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a = 1\n")
    first = parallel.course_version(tmp_path)
    (tmp_path / "autograder" / "__pycache__").mkdir()
    (tmp_path / "autograder" / "__pycache__" / "file.cpython-311.pyc").write_bytes(b"\0")
    assert parallel.course_version(tmp_path) == first, "caches are not part of the course"
    (tmp_path / "source" / "file.py").write_text("a = 2\n")
    assert parallel.course_version(tmp_path) != first


def test_a_worker_on_another_course_version_is_refused_naming_both(tmp_path):
    """Two tasks sent through a real LocalCluster of two processes; each worker sees that the
    task was made on another version, grades nothing, and collect refuses its result."""
    nb = (get_assignment(ASSIGNMENT).release_dir / "setup.ipynb").read_bytes()
    tasks = [parallel.Task(ASSIGNMENT, student, nb, None, "0123456789ab")
             for student in ("alice", "bob")]
    course = ScratchCourse(tmp_path / "grading")
    problems = []
    with parallel.GradingEngine(workers=2) as engine:
        seconds, interrupted = collect.grade_tasks(course, engine, tasks, problems)
        threads = parallel.cluster_kernel_threads(engine.client)
    assert seconds == {} and not interrupted
    assert len(problems) == 2
    for problem in problems:
        assert "refused" in problem and "0123456789ab" in problem
        assert parallel.this_course_version() in problem
    assert not course.db_path.exists(), "nothing is written for a refused result"
    # Two kernels at a time share this machine's cores.
    assert sorted(threads.values()) == [max(1, parallel.cpu_count() // 2)] * 2


def test_a_scheduler_that_does_not_answer_is_a_clear_error_and_writes_nothing(classroom, tmp_path):
    repos, roster = classroom
    address = f"tcp://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(SystemExit) as exit_info:
        collect.main([str(repos), "--roster", str(roster), "--out", str(tmp_path / "grading"),
                      "--assignment", ASSIGNMENT, "--scheduler", address])
    assert time.monotonic() - started < 30
    assert f"cannot reach the Dask scheduler at {address}" in str(exit_info.value.code)
    assert not (tmp_path / "grading").exists()


# ------------------------------------------------------------------------------ grading

@pytest.mark.slow
def test_two_workers_give_the_scores_of_one(classroom, serial, tmp_path):
    repos, roster = classroom
    out = tmp_path / "grading"
    assert collect.main([str(repos), "--roster", str(roster), "--out", str(out),
                         "--assignment", ASSIGNMENT, "--workers", "2"]) == 0
    assert grades_csv(out) == grades_csv(serial)
    assert cell_scores(out) == cell_scores(serial)
    scores = {s: float(row["score"]) for s, row in grades_csv(serial).items()}
    assert scores["alice"] == scores["doomed"] > scores["bob"] > scores["carol"] == 0
    assert scores["alice"] > scores["dave"]
    # Each graded student has a seconds column, and their autograded notebook and feedback.
    for student in scores:
        line = next(line for line in (out / "report.txt").read_text().splitlines()
                    if line.startswith(student + " "))
        assert float(line.split()[-1]) > 0, line
        assert (out / "autograded" / student / ASSIGNMENT / "setup.ipynb").is_file()
        assert (out / "feedback" / student / ASSIGNMENT / "setup.html").is_file()


@pytest.mark.slow
def test_ctrl_c_stops_the_workers_and_a_rerun_grades_only_the_rest(classroom, serial, tmp_path):
    repos, roster = classroom
    out = tmp_path / "grading"
    run = subprocess.Popen(collect_command(repos, roster, out, "--workers", "2"), cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(out.glob(f"feedback/*/{ASSIGNMENT}/*.html")):
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.2)
    descendants = psutil.Process(run.pid).children(recursive=True)
    run.send_signal(signal.SIGINT)  # to collect only, as a process manager would
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 130, stderr
    assert "interrupted: the gradebook keeps every student graded so far" in stderr
    assert re.search(r"grading: +\d+%\|.*\| \d/5 \[[\d:]+<[\d:?]+, ", stderr), "progress bar"
    time.sleep(2)
    alive = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"still running after collect stopped: {[p.cmdline() for p in alive]}"
    graded = set(cell_scores(out))
    assert 1 <= len(graded) < 5, graded
    assert "! interrupted:" in (out / "report.txt").read_text()

    rerun = subprocess.run(collect_command(repos, roster, out, "--workers", "1"), cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"grading {5 - len(graded)} submissions" in rerun.stderr
    assert cell_scores(out) == cell_scores(serial)
    assert grades_csv(out) == grades_csv(serial)
    # --force regrades everyone; without it nobody is left to grade.
    course = ScratchCourse(out)
    matched = collect.match_clones(collect.find_clones(repos)[0], load_roster(roster), [])
    students = sorted(matched)
    for force, expected in ((False, 0), (True, 5)):
        tasks, kept = collect.prepare_assignment(course, get_assignment(ASSIGNMENT), matched,
                                                 students, [], force=force)
        assert (len(tasks), len(kept)) == (expected, 5 - expected)


@pytest.fixture
def dask_cluster():
    """A `dask scheduler` on 127.0.0.1 and two `dask worker` processes (each with its
    nanny, which restarts a killed worker). Yields (scheduler address, a client)."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"}
    processes = [subprocess.Popen(
        [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
         "--no-dashboard"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(2):
            processes.append(subprocess.Popen(
                [BIN / "dask", "worker", address, "--nthreads", "1", "--no-dashboard"],
                cwd=ROOT, env=env, stderr=subprocess.DEVNULL))
        client = Client(address, timeout=30)
        client.wait_for_workers(2, timeout=60)
        yield address, client
        client.close()
    finally:
        for process in processes[::-1]:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def executing_students(client):
    """{worker address: [students whose grading it is running]}."""
    keys = client.run(lambda dask_worker: [ts.key for ts in dask_worker.state.executing],
                      on_error="ignore")
    prefix = f"grade-{ASSIGNMENT}-"
    return {worker: [key[len(prefix):-9] for key in found if key.startswith(prefix)]
            for worker, found in keys.items()}


@pytest.mark.slow
def test_a_killed_worker_loses_nothing_and_a_submission_that_kills_two_fails(
        classroom, serial, dask_cluster, tmp_path):
    repos, roster = classroom
    address, client = dask_cluster
    out = tmp_path / "grading"
    run = subprocess.Popen(collect_command(repos, roster, out, "--scheduler", address),
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    kills = {"bob": 1, "doomed": 2}  # bob's worker dies once; doomed's every time it runs
    orphans = []
    deadline = time.monotonic() + 480
    while run.poll() is None and any(kills.values()) and time.monotonic() < deadline:
        for worker, students in executing_students(client).items():
            for student in students:
                if kills.get(student):
                    time.sleep(1.5)  # well into the grading: nbgrader and the kernel started
                    pid = client.run(os.getpid, workers=[worker])[worker]
                    orphans += psutil.Process(pid).children(recursive=True)
                    os.kill(pid, signal.SIGKILL)
                    kills[student] -= 1
                    client.wait_for_workers(2, timeout=120)  # the nanny restarts it
        time.sleep(0.2)
    output, _ = run.communicate(timeout=600)
    assert kills == {"bob": 0, "doomed": 0}, output
    assert run.returncode == 0, output
    time.sleep(2)
    assert not [p for p in orphans if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], (
        "a killed worker's nbgrader processes outlived it")
    report = (out / "report.txt").read_text()
    assert f"{ASSIGNMENT}: doomed FAILED: grading this submission killed 2 workers" in report
    with open_gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:
        graded = sorted(s.student_id for s in gradebook.assignment_submissions(ASSIGNMENT))
    assert graded == ["alice", "bob", "carol", "dave"], "each student exactly once"
    expected = cell_scores(serial)
    del expected["doomed"]
    assert cell_scores(out) == expected


# --------------------------------------------------------------------------- PostgreSQL

def postgres_program(name):
    """The path of a PostgreSQL server program: on PATH, or where Debian installs it."""
    debian = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return shutil.which(name) or (str(debian[-1]) if debian else None)


@pytest.fixture
def postgres():
    """A PostgreSQL server on 127.0.0.1 started for the test; yields a database URL."""
    initdb, pg_ctl = postgres_program("initdb"), postgres_program("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in "
                    "/usr/lib/postgresql: apt-get install postgresql")
    import psycopg2

    # PostgreSQL refuses to run as root: run it as nobody, in a folder nobody owns.
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="rnn-course-postgres-"))
    if as_user:
        shutil.chown(folder, "nobody")
    data, port = folder / "data", free_port()
    try:
        subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True)
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-w", "-l", str(folder / "log"),
                        "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"],
                       check=True, capture_output=True)
        connection = psycopg2.connect(host="127.0.0.1", port=port, user="postgres",
                                      dbname="postgres")
        connection.autocommit = True
        connection.cursor().execute("CREATE DATABASE grades")
        connection.close()
        yield f"postgresql://postgres@127.0.0.1:{port}/grades"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif("01_rnn_step_by_step" not in ASSIGNMENT_IDS,
                    reason="COURSE_ONLY leaves out 01_rnn_step_by_step")
def test_two_collect_runs_share_a_postgresql_gradebook(postgres, tmp_path):
    """00_setup and 01_rnn_step_by_step collected at the same time into one PostgreSQL
    gradebook, from their own course folders: no row lost, no lock error."""
    setup = get_assignment(ASSIGNMENT)
    reference = fill_solutions(read_notebook(setup.release_dir / setup.notebook),
                               read_notebook(setup.source_notebook))
    classes = {
        ASSIGNMENT: make_class(tmp_path / "setup", ASSIGNMENT, {"alice": reference, "bob": None}),
        "01_rnn_step_by_step": make_class(tmp_path / "rnn", "01_rnn_step_by_step",
                                          {"alice": None, "bob": None}),
    }
    runs = {name: subprocess.Popen(
        [sys.executable, "-m", "autograder.collect", str(repos), "--roster", str(roster),
         "--out", str(tmp_path / f"grading-{name}"), "--assignment", name, "--workers", "1",
         "--db", postgres], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for name, (repos, roster) in classes.items()}
    outputs = {name: run.communicate(timeout=600)[0] for name, run in runs.items()}
    for name, run in runs.items():
        assert run.returncode == 0, outputs[name]
        assert "database is locked" not in outputs[name]
    with open_gradebook(postgres) as gradebook:
        rows = {name: sorted((s.student_id, s.score) for s in gradebook.assignment_submissions(name))
                for name in classes}
        assert sorted(s.id for s in gradebook.students) == ["alice", "bob"]
    maximum = sum(c.metadata.nbgrader.points for c in reference.cells
                  if c.metadata.get("nbgrader", {}).get("grade"))
    assert rows == {ASSIGNMENT: [("alice", maximum), ("bob", 0)],
                    "01_rnn_step_by_step": [("alice", 0), ("bob", 0)]}
