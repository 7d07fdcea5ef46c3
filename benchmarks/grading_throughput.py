"""Throughput of grading a class: serial, a local Dask cluster, and a Dask scheduler with workers.

    PYTHONPATH=. python benchmarks/grading_throughput.py [--assignment NAME ...] [--size 24]

For each assignment (default: 01_rnn_step_by_step and 04_keras_lstm) it makes a class of
``--size`` student clones, mixed: the reference solution, the untouched release and each of
the assignment's mutants in turn. It grades the class three ways with the real command,
``python -m autograder.collect`` (sandbox, verification, feedback and export included):

1. ``--workers 1``: one submission after another, in collect's process;
2. ``--workers 2``: a Dask LocalCluster of two processes that collect starts (its start-up is
   part of the time);
3. ``--scheduler``: a ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1,
   started before the clock starts, as a standing cluster would be.

It prints submissions per minute (whole collect runs, wall clock), the ratio to serial,
whether every per-cell score and grades.csv equal the serial run's, and a projection of the
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
    ROOT, ScratchCourse, apply_mutant, fill_solutions, get_assignment, load_mutants, read_notebook,
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
              f"scores identical to serial: {'yes' if identical else 'NO'}  "
              f"[{before} before, {load()} after]", flush=True)
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
