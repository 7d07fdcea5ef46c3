"""The class report: one self-contained HTML page of plots and tables, for the instructor.

    python -m autograder.term.report GRADING [--db URL]

writes GRADING/report.html and its plots as PNG files in GRADING/report/. The page holds
its plots (base64 PNG), its styles and no script, and loads nothing from anywhere: it opens
offline, from a mail attachment as well. For each assignment of the gradebook:

- the distribution of the scores that count (after late penalties);
- each test cell's failure rate, and the most common failure messages, grouped (numbers in
  a message are left out, so "expected 3, got 4" and "expected 5, got 2" are one group);
- the students late (with their penalty), missing (on the roster, no submission) and whose
  written answers await hand grading;

and for the class: results graded before the tests changed (stale), regrades with the
score before and after, pairs of unusually alike submissions (autograder/term/similarity.py)
and each student's grading time. collect writes it at the end of every run.
"""

import base64
import io
import re
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from autograder.grading import NotebookError, read_notebook
from autograder.term import regrades
from autograder.term.deadlines import describe_lateness, late_rows, load_late_policy
from autograder.term.folder import command_parser, open_from_command_line, results
from autograder.term.similarity import class_similarity, describe_pair

TEMPLATE = "report.html.j2"
MESSAGE_GROUPS = 8        # failure messages shown per assignment
MESSAGE_CHARS = 200       # a message is cut after this many characters
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


@dataclass
class TestCell:
    """A test cell of an assignment and how many of the submissions failed it."""
    grade_id: str
    points: float
    failed: list = field(default_factory=list)  # students who did not get full marks
    graded: int = 0                             # submissions graded

    @property
    def failure_rate(self):
        return len(self.failed) / self.graded if self.graded else 0.0


@dataclass
class MessageGroup:
    """Failures of one test cell whose messages differ only in their numbers."""
    grade_id: str
    message: str                                # the first one seen
    students: list = field(default_factory=list)


@dataclass
class Plot:
    """A plot, as a PNG file written beside the report and as the bytes the page embeds."""
    name: str
    title: str
    png: bytes

    @property
    def data_url(self):
        return "data:image/png;base64," + base64.b64encode(self.png).decode()


@dataclass
class AssignmentReport:
    name: str
    max_score: float
    scores: dict          # {student: points that count} of those who submitted
    missing: list         # roster students without a submission
    cells: list           # TestCell, in notebook order
    messages: list        # MessageGroup, most common first
    awaiting: list        # students with written answers not yet graded by hand
    plots: list = field(default_factory=list)

    def summary(self, statistic):
        values = list(self.scores.values())
        return statistic(values) if values else None


# ----------------------------------------------------------------------------- the data

def test_cells(folder, assignment):
    """TestCell of each autograded cell of ``assignment``, in the notebook's order, with
    the students who lost points in it; and the students whose hand grading is pending."""
    cells, awaiting = {}, set()
    with folder.gradebook() as gradebook:
        notebook = gradebook.find_assignment(assignment.name).notebooks[0]
        for cell in notebook.grade_cells:
            if cell.cell_type == "code":
                cells[cell.name] = TestCell(cell.name, cell.max_score)
        for submission in gradebook.assignment_submissions(assignment.name):
            for grade in (g for nb in submission.notebooks for g in nb.grades):
                if grade.name in cells:
                    cells[grade.name].graded += 1
                    if (grade.score or 0) < grade.max_score:
                        cells[grade.name].failed.append(submission.student_id)
                elif grade.needs_manual_grade:
                    awaiting.add(submission.student_id)
    order = notebook_order(folder, assignment)
    return sorted(cells.values(), key=lambda c: order.get(c.grade_id, len(order))), sorted(awaiting)


def notebook_order(folder, assignment):
    """{grade id: position} of the cells in the assignment's release notebook."""
    try:
        nb = read_notebook(assignment.release_dir / assignment.notebook)
    except NotebookError:
        return {}
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    return {grade_id: index for index, grade_id in enumerate(ids) if grade_id}


def failure_message(cell):
    """What a failed test cell of an autograded notebook said: its error's first line, or
    what else made it fail."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            text = f"{output.get('ename', '')}: {output.get('evalue', '')}".strip()
            return text.splitlines()[0][:MESSAGE_CHARS] if text else "an error without a message"
    if any(o.get("name") == "stderr" for o in cell.get("outputs", [])):
        return "no error, but the cell wrote to stderr"
    return "no error shown (the cell did not run)"


def message_groups(folder, assignment, cells):
    """The failure messages of ``cells`` (TestCell) in the students' autograded notebooks,
    grouped by cell and by message with its numbers left out, most common first."""
    failed = {(student, cell.grade_id) for cell in cells for student in cell.failed}
    groups = {}
    for student in sorted({student for student, _ in failed}):
        try:
            nb = read_notebook(folder.autograded(student, assignment))
        except NotebookError:
            continue
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if (student, grade_id) in failed:
                message = failure_message(cell)
                key = (grade_id, NUMBER.sub("#", message))
                groups.setdefault(key, MessageGroup(grade_id, message)).students.append(student)
    return sorted(groups.values(), key=lambda g: (-len(g.students), g.grade_id, g.message))


def assignment_report(folder, assignment, grades):
    """The AssignmentReport of ``assignment``; ``grades`` as `folder.results` returns them."""
    mine = {student: r for (name, student), r in grades.items() if name == assignment.name}
    cells, awaiting = test_cells(folder, assignment)
    report = AssignmentReport(
        assignment.name, next(iter(mine.values())).max_score if mine else 0.0,
        {s: r.score for s, r in sorted(mine.items()) if r.submitted},
        sorted(s for s, r in mine.items() if not r.submitted),
        cells, message_groups(folder, assignment, cells)[:MESSAGE_GROUPS], awaiting)
    report.plots = [score_plot(report), failure_plot(report)]
    return report


# ---------------------------------------------------------------------------- the plots

def png(figure):
    """The figure as PNG bytes, drawn by matplotlib's Agg backend (no display needed)."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def score_plot(report):
    """A histogram of the scores that count, in points, for one assignment."""
    figure = Figure(figsize=(6, 3))
    axes = figure.add_subplot()
    values = list(report.scores.values())
    top = report.max_score or 1
    axes.hist(values, bins=10, range=(0, top), color="#3572a5", edgecolor="white")
    axes.set_xlim(0, top)
    axes.set_xlabel(f"points (of {top:g})")
    axes.set_ylabel("students")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_title(f"{report.name}: scores of {len(values)} submissions")
    return Plot(f"scores-{report.name}", f"{report.name}: score distribution", png(figure))


def failure_plot(report):
    """Horizontal bars: the share of submissions that lost points in each test cell."""
    cells = report.cells
    figure = Figure(figsize=(6, 0.8 + 0.32 * max(1, len(cells))))
    axes = figure.add_subplot()
    axes.barh([c.grade_id for c in cells], [100 * c.failure_rate for c in cells], color="#c0392b")
    axes.invert_yaxis()  # the notebook's first cell on top
    axes.set_xlim(0, 100)
    axes.set_xlabel("submissions that lost points (%)")
    axes.set_title(f"{report.name}: failure rate per test cell")
    return Plot(f"failures-{report.name}", f"{report.name}: failure rate per test cell",
                png(figure))


def grading_time_plot(seconds):
    """Horizontal bars: each student's grading seconds, summed over assignments; None
    without any recorded."""
    if not seconds:
        return None
    per_student = defaultdict(float)
    for (_, student), took in seconds.items():
        per_student[student] += took
    students = sorted(per_student)
    figure = Figure(figsize=(6, 0.8 + 0.28 * len(students)))
    axes = figure.add_subplot()
    axes.barh(students, [per_student[s] for s in students], color="#7f8c8d")
    axes.invert_yaxis()
    axes.set_xlabel("seconds to grade (newest grading, all assignments)")
    axes.set_title("grading time per student")
    return Plot("grading-time", "grading time per student", png(figure))


# ----------------------------------------------------------------------------- the page

def class_report(folder):
    """Everything the page shows, as a dict for its template."""
    assignments = folder.assignments()
    grades = results(folder, assignments)
    seconds = regrades.grading_seconds(folder)
    return {
        "root": folder.root,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "policy": load_late_policy().describe(),
        "assignments": [assignment_report(folder, a, grades) for a in assignments],
        "late": [describe_lateness(row) for row in late_rows(folder, assignments)],
        "stale": regrades.describe_stale(regrades.stale_results(folder, assignments)),
        "regrades": regrades.regrades(folder),
        "similar": [describe_pair(pair) for pair in class_similarity(folder, assignments)],
        "seconds": dict(sorted(seconds.items())),
        "time_plot": grading_time_plot(seconds),
        "mean": statistics.fmean, "median": statistics.median,
    }


def render(context):
    """The report page's HTML for a `class_report` context."""
    environment = Environment(loader=FileSystemLoader(Path(__file__).parent),
                              autoescape=select_autoescape(["j2"]), trim_blocks=True,
                              lstrip_blocks=True)
    return environment.get_template(TEMPLATE).render(**context)


def write_report(folder):
    """Write ``folder``/report.html and its plots as ``folder``/report/<plot>.png; return
    the page's path."""
    context = class_report(folder)
    plots = [p for a in context["assignments"] for p in a.plots] + [context["time_plot"]]
    pictures = folder.root / "report"
    pictures.mkdir(exist_ok=True)
    for old in pictures.glob("*.png"):
        old.unlink()  # a plot of an assignment no longer graded would mislead
    for plot in filter(None, plots):
        (pictures / f"{plot.name}.png").write_bytes(plot.png)
    page = folder.root / "report.html"
    page.write_text(render(context), encoding="utf-8")
    return page


def main(argv=None):
    parser = command_parser(__doc__)
    args = parser.parse_args(argv)
    folder = open_from_command_line(args)
    print(write_report(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
