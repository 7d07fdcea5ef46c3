"""Run the public tests of your notebooks and see the points they earn before you push.

    python check.py                  # every assignment
    python check.py 00_setup         # only the ones you name

Each notebook runs as the grader runs it: in a fresh kernel, top to bottom, with your
answers, training cells shortened, and each cell stopped after the time limit in
course.toml. A test cell earns its points when it runs without an error and writes nothing
to stderr. The table is printed here and, on GitHub, written to the job's summary
($GITHUB_STEP_SUMMARY). Hidden tests are not in this repository: they run when your work is
graded, so make your code right in general, not only for the public examples.

Exit status 1 when a public test fails in an assignment you have started (changed at least
one answer cell of), or a notebook is missing or cannot be read; 0 otherwise.
"""

import argparse
import os
import re
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
COURSE_FILE = ROOT / "course.toml"


@dataclass
class CellResult:
    name: str
    points: float
    earned: float
    message: str = ""


@dataclass
class Report:
    """The public-test results of one assignment's notebook."""
    name: str
    notebook: Path
    started: bool = False
    problem: str = ""                                # why the notebook could not be checked
    tests: list = field(default_factory=list)        # CellResult per public test cell
    hidden: list = field(default_factory=list)       # (grade_id, points) of hidden test cells
    manual: list = field(default_factory=list)       # (grade_id, points) of hand-graded answers
    errors: list = field(default_factory=list)       # errors raised outside test cells

    @property
    def passed(self):
        return not self.problem and all(t.earned == t.points for t in self.tests)


def load_course():
    """Return (assignments, stderr pattern) from course.toml."""
    with open(COURSE_FILE, "rb") as f:
        course = tomllib.load(f)
    return course["assignment"], course.get("ignore_stderr", "")


def error_message(output):
    """One line saying what went wrong: ``ename: evalue``, shortened."""
    message = f"{output.ename}: {output.evalue}".strip().rstrip(":")
    message = message.splitlines()[0] if message else output.ename
    return message if len(message) <= 200 else message[:197] + "..."


def code_lines(source):
    """The lines of a cell that are code (not blank, not comments)."""
    return [line for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]


def name_timeout(cell, timeout):
    """Say in a cell's outputs that it ran past its time limit: the kernel was interrupted,
    which would otherwise show as a bare KeyboardInterrupt."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error" and output.ename == "KeyboardInterrupt":
            output.ename = "CellTimeoutError"
            output.evalue = (f"this cell ran past its {timeout} s time limit and was interrupted "
                             "(the grader stops it at the same limit: make it faster)")
            output.traceback = [f"{output.ename}: {output.evalue}"]


def execute(nb, folder, timeout, name=""):
    """Run every cell of ``nb`` in a fresh kernel started in ``folder``; errors do not stop it.

    On a terminal it shows which cell is running; a cell stopped at ``timeout`` seconds says so.
    """
    from nbclient import NotebookClient

    started = {}

    def starting(cell, cell_index):
        started[cell_index] = time.monotonic()
        if sys.stderr.isatty():
            print(f"\r{name}: running cell {cell_index + 1} of {len(nb.cells)}", end="",
                  file=sys.stderr, flush=True)

    def finished(cell, cell_index, execute_reply):
        if time.monotonic() - started[cell_index] >= timeout:
            name_timeout(cell, timeout)

    os.environ["RNN_COURSE_GRADING"] = "1"      # training cells do the grader's short run
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"    # TensorFlow's start-up logs go to stderr
    # This repository's utils/ and data/, wherever the course was installed from.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    client = NotebookClient(
        nb, timeout=timeout, interrupt_on_timeout=True, allow_errors=True,
        kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(folder)}},
        on_cell_execute=starting, on_cell_executed=finished,
    )
    client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log lines, not cell output
    if sys.stderr.isatty():
        print(file=sys.stderr)  # ends the progress line
    return nb


def grade_cells(report, nb, ignore_stderr):
    """Fill ``report`` with the result of each test cell of an executed notebook."""
    from nbgrader.utils import compute_checksum, determine_grade, is_grade, is_solution

    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and ignore_stderr:
            cell.outputs = [o for o in cell.outputs if not (
                o.output_type == "stream" and o.name == "stderr" and re.search(ignore_stderr, o.text))]
        if is_solution(cell) and cell.cell_type == "code" and meta.get("checksum") != compute_checksum(cell):
            report.started = True
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if not is_grade(cell):
            if errors:
                label = f"cell {index}" + (f" ({meta['grade_id']})" if meta.get("grade_id") else "")
                report.errors.append(f"{label} raised {error_message(errors[0])}")
            continue
        grade_id, points = meta["grade_id"], float(meta["points"])
        if cell.cell_type != "code":
            report.manual.append((grade_id, points))
        elif not code_lines(cell.source):
            report.hidden.append((grade_id, points))
        else:
            earned, _ = determine_grade(cell)
            stderr = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
            message = error_message(errors[0]) if errors else (
                "wrote to stderr: " + stderr[0].strip().splitlines()[0][:150] if stderr else "")
            report.tests.append(CellResult(grade_id, points, float(earned or 0), message))


def check(assignment, ignore_stderr):
    """Execute one assignment's notebook and return its Report."""
    import nbformat

    folder = ROOT / "assignments" / assignment["name"]
    report = Report(assignment["name"], folder / assignment["notebook"])
    if not report.notebook.is_file():
        others = sorted(p.name for p in folder.glob("*.ipynb"))
        report.problem = f"{report.notebook.relative_to(ROOT)} is missing" + (
            f" (found {', '.join(others)}: keep the original file name)" if others else "")
        return report
    try:
        nb = nbformat.read(str(report.notebook), as_version=4)
    except Exception as err:  # a notebook broken by hand: say so instead of crashing
        report.problem = f"cannot read {report.notebook.relative_to(ROOT)}: {str(err).splitlines()[0]}"
        return report
    try:
        execute(nb, folder, int(assignment["timeout"]), assignment["name"])
    except Exception as err:  # the kernel died or could not start
        report.problem = f"the notebook did not run to the end: {type(err).__name__}: {err}"
    grade_cells(report, nb, ignore_stderr)
    return report


def show_points(value):
    return f"{value:g}"


def totals(report):
    return sum(t.earned for t in report.tests), sum(t.points for t in report.tests)


def status(report):
    if report.problem:
        return "could not be checked"
    if not report.started:
        return "not started"
    return "all public tests pass" if report.passed else "some public tests fail"


def later_points(report):
    """A sentence about the points the public tests cannot show."""
    parts = []
    if report.hidden:
        cells = len(report.hidden)
        parts.append(f"hidden tests worth {show_points(sum(p for _, p in report.hidden))} points "
                     f"({cells} test cell{'s' if cells > 1 else ''}) run when your work is graded")
    if report.manual:
        parts.append(f"{show_points(sum(p for _, p in report.manual))} points are graded by hand "
                     f"({', '.join(g for g, _ in report.manual)})")
    return "; ".join(parts)


def print_report(report):
    earned, maximum = totals(report)
    print(f"\n{report.name}  {report.notebook.relative_to(ROOT)}: {show_points(earned)} / "
          f"{show_points(maximum)} public points, {status(report)}")
    if report.problem:
        print(f"  ! {report.problem}")
    width = max([len(t.name) for t in report.tests] + [4])
    for test in report.tests:
        result = "passed" if test.earned == test.points else "FAILED"
        score = f"{show_points(test.earned):>3} / {show_points(test.points):<3}"
        print(f"  {test.name:<{width}}  {result}  {score}  {test.message}")
    for error in report.errors:
        print(f"  ! {error}")
    if later_points(report):
        print(f"  ({later_points(report)})")


def markdown_report(report):
    earned, maximum = totals(report)
    score = f"{show_points(earned)} / {show_points(maximum)}"
    lines = [f"### {report.name}: {score} public points ({status(report)})", ""]
    if report.problem:
        lines += [f"**{report.problem}**", ""]
    if report.tests:
        lines += ["| test | result | points | message |", "|---|---|---:|---|"]
        for test in report.tests:
            result = "✅ passed" if test.earned == test.points else "❌ failed"
            message = test.message.replace("|", "\\|")
            score = f"{show_points(test.earned)} / {show_points(test.points)}"
            lines.append(f"| `{test.name}` | {result} | {score} | {message} |")
        lines.append("")
    lines += [f"- {error}" for error in report.errors]
    if later_points(report):
        note = later_points(report)
        lines += ["", note[0].upper() + note[1:] + "."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    args = parser.parse_args(argv)
    course, ignore_stderr = load_course()
    known = [a["name"] for a in course]
    unknown = sorted(set(args.assignments) - set(known))
    if unknown:
        parser.error(f"unknown assignment {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [a for a in course if not args.assignments or a["name"] in args.assignments]

    reports = []
    for assignment in chosen:
        print(f"running {assignment['name']}/{assignment['notebook']} ...", flush=True)
        reports.append(check(assignment, ignore_stderr))
        print_report(reports[-1])

    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write("## Public tests\n\n" + "\n".join(markdown_report(r) for r in reports))
    failed = [r.name for r in reports if r.problem or (r.started and not r.passed)]
    if failed:
        print(f"\nPublic tests fail in: {', '.join(failed)}")
    else:
        print("\nNo failing public tests in the assignments you have started.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
