"""Throughput of grading a class: plain nbgrader, then collect serial, on a local Dask cluster
and on a Dask scheduler with workers.

    .venv/bin/python -m benchmarks.grading_throughput [--assignment NAME ...] [--size 24]

For each assignment (default: 01_rnn_step_by_step and 04_keras_lstm) it makes a class of
``--size`` student clones, mixed: the reference solution, the untouched release and each of
the assignment's mutants in turn. It grades the class first with plain nbgrader, the yardstick: ``nbgrader autograde``
and ``generate_feedback`` of the whole class with nbgrader's default preprocessors (no
sandbox, no verification, no hidden tests kept from the kernel). Then three ways with the real
command, ``python -m autograder.collect`` (sandbox, verification, feedback and export included):

1. ``--workers 1``: one submission after another, in collect's process; its breakdown per
   submission (the kernel's run and the verification, from each autograded notebook's
   ``grading_seconds``; the rest is nbgrader's start, the gradebook and the feedback page);
2. ``--workers 2``: a Dask LocalCluster of two processes that collect starts (its start-up is
   part of the time);
3. ``--scheduler``: a ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1,
   started before the clock starts, as a standing cluster would be.

It prints submissions per minute (whole runs, wall clock), the ratio to plain nbgrader and to
serial, whether every per-cell score equals the serial run's (and grades.csv), and a projection of the
time to grade 300 students on K machines like this one from the measured 2-worker
throughput. The machine's load (`uptime`) is printed with every figure: other work on the
machine slows the parallel runs most. Prints figures, asserts nothing.
"""

import argparse
import csv
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.grading import (
    ROOT, ScratchCourse, apply_mutant, fill_solutions, get_assignment, gradebook_scores,
    load_mutants, read_notebook,
)

DEFAULT_ASSIGNMENTS = ["01_rnn_step_by_step", "04_keras_lstm"]
MACHINES = (1, 2, 4, 8, 16)
GIT = ["git", "-c", "user.name=Student", "-c", "user.email=student@example.org"]


def load():
    """The 1-minute load average, as `uptime` shows it."""
    return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def make_class(root, assignment, size):
    """``size`` student clones of ``assignment`` (reference, untouched, mutants in turn) and
    their roster; returns (repos folder, roster path, {student: kind})."""
    release = read_notebook(assignment.release_dir / assignment.notebook)
    reference = fill_solutions(release, read_notebook(assignment.source_notebook))
    kinds = [("reference", reference), ("untouched", release)] + [
        (f"mutant {m['name']}", apply_mutant(reference, m)) for m in load_mutants(assignment)]
    notebook = Path("assignments") / assignment.name / assignment.notebook
    made = {}
    for index in range(size):
        student = f"student{index:03d}"
        kind, nb = kinds[index % len(kinds)]
        repo = root / "repos" / f"rnn-course-{student}"
        (repo / notebook).parent.mkdir(parents=True)
        nbformat.write(nb, str(repo / notebook))
        subprocess.run(["git", "init", "-q", repo], check=True)
        subprocess.run([*GIT, "-C", repo, "add", "."], check=True)
        subprocess.run([*GIT, "-C", repo, "commit", "-q", "-m", kind], check=True)
        made[student] = kind
    roster = root / "roster.csv"
    with open(roster, "w", newline="") as f:
        csv.writer(f).writerows([["student_id", "repo"],
                                 *[[s, f"rnn-course-{s}"] for s in made]])
    return root / "repos", roster, made


def run_collect(repos, roster, out, assignment, *options):
    """Run collect; return its wall seconds (raises with its output when it fails)."""
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "autograder.collect", str(repos), "--roster", str(roster),
         "--out", str(out), "--assignment", assignment.name, *options],
        cwd=ROOT, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if run.returncode != 0:
        raise RuntimeError(f"collect {' '.join(options)} exited {run.returncode}:\n"
                           f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return seconds


def results(out, assignment):
    """(per-cell scores, grades.csv rows) of a graded course folder."""
    with open(out / "grades.csv", newline="") as f:
        rows = sorted(tuple(sorted(row.items())) for row in csv.DictReader(f))
    return ScratchCourse(out).scores(assignment), rows


PLAIN_CONFIG = """c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "plain"
c.Execute.timeout = {timeout}
"""


def plain_nbgrader(folder, assignment, repos, students):
    """Grade the class with plain nbgrader: its default preprocessors, in one course folder,
    one autograde and one generate_feedback call. Returns (seconds, per-cell scores)."""
    root = folder / "plain"
    (root / "source").mkdir(parents=True)
    shutil.copytree(assignment.source_notebook.parent, root / "source" / assignment.name)
    (root / "nbgrader_config.py").write_text(PLAIN_CONFIG.format(root=str(root),
                                                                 timeout=assignment.timeout))
    notebook = Path("assignments") / assignment.name / assignment.notebook
    for student in students:
        target = root / "submitted" / student / assignment.name / assignment.notebook
        target.parent.mkdir(parents=True)
        shutil.copyfile(repos / f"rnn-course-{student}" / notebook, target)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT), "RNN_COURSE_GRADING": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    nbgrader = [sys.executable, "-m", "nbgrader"]
    subprocess.run([*nbgrader, "generate_assignment", assignment.name, "--force"], cwd=root,
                   env=env, capture_output=True, check=True)
    started = time.monotonic()
    for step in ("autograde", "generate_feedback"):
        subprocess.run([*nbgrader, step, assignment.name, "--force"], cwd=root, env=env,
                       capture_output=True)
    seconds = time.monotonic() - started
    return seconds, gradebook_scores(f"sqlite:///{root / 'gradebook.db'}", assignment, "plain")


def breakdown(out, assignment, seconds, size):
    """One line: the seconds per submission of a serial collect, by phase."""
    phases = [read_notebook(path).metadata.get("grading_seconds", {})
              for path in (out / "autograded").glob(f"*/{assignment.name}/*.ipynb")]
    kernel = sum(p.get("kernel", 0) for p in phases) / max(1, len(phases))
    verification = sum(p.get("verification", 0) for p in phases) / max(1, len(phases))
    rest = seconds / size - kernel - verification
    return (f"    per submission: {seconds / size:5.1f} s = kernel's run {kernel:4.1f} s + "
            f"verification {verification:4.1f} s + the rest {rest:4.1f} s (nbgrader's start, "
            "scratch course, gradebook, feedback page)")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DaskCluster:
    """`dask scheduler` and ``workers`` `dask worker` processes on 127.0.0.1."""

    def __init__(self, workers):
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.workers = workers
        self.processes = []

    def __enter__(self):
        from distributed import Client

        bin_dir = Path(sys.executable).parent
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        port = self.address.rsplit(":", 1)[1]
        self.processes.append(subprocess.Popen(
            [bin_dir / "dask", "scheduler", "--host", "127.0.0.1", "--port", port,
             "--no-dashboard"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL))
        for _ in range(self.workers):
            self.processes.append(subprocess.Popen(
                [bin_dir / "dask", "worker", self.address, "--nthreads", "1", "--no-dashboard"],
                cwd=ROOT, env=env, stderr=subprocess.DEVNULL))
        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(self.workers, timeout=120)
        return self

    def __exit__(self, *exc):
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def bench(assignment, size, folder):
    """Grade one class three ways; print and return {way: (seconds, identical)}."""
    repos, roster, kinds = make_class(folder, assignment, size)
    counts = {}
    for kind in kinds.values():
        counts[kind.split()[0]] = counts.get(kind.split()[0], 0) + 1
    print(f"\n{assignment.name}: {size} submissions ({', '.join(f'{n} {k}' for k, n in counts.items())})")
    ways = {}
    before = load()
    plain_seconds, plain_scores = plain_nbgrader(folder, assignment, repos, kinds)
    print(f"  {'plain nbgrader (no sandbox, no judge)':<34} {plain_seconds:7.1f} s  "
          f"{size / plain_seconds * 60:6.2f} submissions/min  [{before} before, {load()} after]",
          flush=True)
    serial = None
    for way, options in (("--workers 1", ["--workers", "1"]),
                         ("--workers 2 (LocalCluster)", ["--workers", "2"]),
                         ("dask scheduler + 2 dask workers", None)):
        out = folder / f"grading-{len(ways)}"
        before = load()
        if options is None:
            with DaskCluster(2) as cluster:
                before = load()
                seconds = run_collect(repos, roster, out, assignment, "--scheduler", cluster.address)
        else:
            seconds = run_collect(repos, roster, out, assignment, *options)
        graded = results(out, assignment)
        serial = serial or graded
        identical = graded == serial
        ways[way] = (seconds, identical)
        rate = size / seconds * 60
        ratio = ways["--workers 1"][0] / seconds
        print(f"  {way:<34} {seconds:7.1f} s  {rate:6.2f} submissions/min  {ratio:4.2f}x serial  "
              f"{seconds / plain_seconds:4.2f}x plain nbgrader's time  "
              f"scores identical to serial: {'yes' if identical else 'NO'}, to plain nbgrader: "
              f"{'yes' if graded[0] == plain_scores else 'NO'}  "
              f"[{before} before, {load()} after]", flush=True)
        if options == ["--workers", "1"]:
            print(breakdown(out, assignment, seconds, size), flush=True)
    return ways


def project(measured):
    """Print the time to grade 300 students on K machines like this one (2 workers each),
    from the measured 2-worker LocalCluster throughput of each assignment."""
    print("\nprojection: one assignment for a class of 300, on K machines like this one "
          "(2 cores, 2 workers each), from the measured --workers 2 throughput")
    print(f"  {'assignment':<22}" + "".join(f"{f'K={k}':>10}" for k in MACHINES)
          + f"{'serial, 1 machine':>20}")
    for name, (size, ways) in measured.items():
        per_submission_2 = ways["--workers 2 (LocalCluster)"][0] / size
        per_submission_1 = ways["--workers 1"][0] / size
        cells = [f"{300 * per_submission_2 / k / 60:8.1f} m" for k in MACHINES]
        print(f"  {name:<22}" + "".join(f"{c:>10}" for c in cells)
              + f"{300 * per_submission_1 / 60:17.1f} m")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", action="append", metavar="NAME",
                        help=f"assignment to grade (repeatable; default: {DEFAULT_ASSIGNMENTS})")
    parser.add_argument("--size", type=int, default=24, help="submissions per class")
    args = parser.parse_args(argv)
    print(f"grading throughput, {time.strftime('%Y-%m-%d %H:%M')}, {load()}, "
          f"sandbox: {'bwrap' if shutil.which('bwrap') else 'none (bwrap missing)'}")
    measured = {}
    for name in args.assignment or DEFAULT_ASSIGNMENTS:
        assignment = get_assignment(name)
        with tempfile.TemporaryDirectory(prefix="rnn-grading-throughput-") as folder:
            measured[name] = (args.size, bench(assignment, args.size, Path(folder)))
    project(measured)
    print(f"\n{load()} at the end")


if __name__ == "__main__":
    main()
