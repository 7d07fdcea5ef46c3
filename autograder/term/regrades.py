"""Which results are stale, and the scores each student had before a regrade.

    python -m autograder.term.regrades GRADING [--db URL]

A result is *stale* when what decides an assignment's grade changed after the student was
graded: its source folder (the hidden tests, the solutions, the files it ships), the shared
``utils/``, ``nbgrader_config.py`` or its limits in course.toml (``timeout``, ``budget``).
`grading_version` hashes those. collect records, in GRADING/grading_log.json, the version
each student was graded with, the points they got and the seconds it took; on the next
run it names the stale results, and ``collect --regrade-stale`` regrades them (``--student
LOGIN`` regrades chosen students). A regraded student's earlier results stay in the log,
and the class report shows the old score beside the new one.

The command prints the stale results of a grading folder.
"""

import hashlib
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timezone

from autograder.grading import ROOT, Score, total
from autograder.term.folder import command_parser, open_from_command_line

LOG_FILE = "grading_log.json"
SHARED = ("utils", "nbgrader_config.py")  # besides source/<assignment>/: what every grade uses
UNVERSIONED = {"__pycache__", ".ipynb_checkpoints"}


def grading_version(assignment, root=None):
    """A short hash of what decides ``assignment``'s grades in the course at ``root`` (default:
    this repository); the module docstring says what it covers."""
    root = root or ROOT
    digest = hashlib.sha256(f"timeout={assignment.timeout} budget={assignment.budget}".encode())
    for top in (root / "source" / assignment.name, *(root / name for name in SHARED)):
        for path in [top] if top.is_file() else sorted(top.rglob("*")):
            if path.is_file() and not UNVERSIONED & set(path.parts) and path.suffix != ".pyc":
                relative = str(path.relative_to(root)).encode()
                content = path.read_bytes()
                digest.update(b"%d:%s%d:" % (len(relative), relative, len(content)) + content)
    return digest.hexdigest()[:12]


def read_log(folder):
    """{assignment: {student: entry}} of ``folder``'s grading log ({} before any)."""
    path = folder.root / LOG_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def record_grading(folder, assignment, seconds):
    """Log the results just graded for ``assignment``: ``seconds`` is {student: seconds it
    took}. Each entry holds the grading version, the autograded points and the time; the
    entry it replaces moves to its ``earlier`` list."""
    log = read_log(folder)
    entries = log.setdefault(assignment.name, {})
    version = grading_version(assignment)
    scores = autograded_totals(folder, assignment)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for student, took in seconds.items():
        score, maximum = scores.get(student, (0.0, 0.0))
        before = entries.get(student)
        earlier = (before.pop("earlier", []) + [before]) if before else []
        entries[student] = {"version": version, "graded": now, "seconds": round(took, 1),
                            "score": score, "max_score": maximum, "earlier": earlier}
    (folder.root / LOG_FILE).write_text(json.dumps(log, indent=1, sort_keys=True) + "\n")


def autograded_totals(folder, assignment):
    """{student: (autograded points, their maximum)} in the gradebook of ``folder``."""
    with folder.gradebook() as gradebook:
        return {submission.student_id: total({
            grade.name: Score(float(grade.score or 0), float(grade.max_score),
                              manual=grade.cell.cell_type == "markdown")
            for notebook in submission.notebooks for grade in notebook.grades})
            for submission in gradebook.assignment_submissions(assignment.name)}


def stale_results(folder, assignments):
    """{assignment name: [students]} graded in ``folder`` with another grading version than
    the course's now, or with none recorded (graded before the log was kept)."""
    log = read_log(folder)
    stale = {}
    for assignment in assignments:
        version = grading_version(assignment)
        entries = log.get(assignment.name, {})
        old = sorted(s for s in graded_students(folder, assignment)
                     if entries.get(s, {}).get("version") != version)
        if old:
            stale[assignment.name] = old
    return stale


def graded_students(folder, assignment):
    """The students with a submission of ``assignment`` in the gradebook (none before the
    assignment was first collected)."""
    from nbgrader.api import MissingEntry

    with folder.gradebook() as gradebook:
        try:
            return [s.student_id for s in gradebook.assignment_submissions(assignment.name)]
        except MissingEntry:
            return []


def describe_stale(stale):
    """Lines naming the stale results and how to regrade them ([] when none)."""
    if not stale:
        return []
    return [f"{name}: stale results: {', '.join(students)} graded before its tests or the course "
            "changed (collect --regrade-stale regrades them)" for name, students in stale.items()]


@dataclass(frozen=True)
class Regrade:
    """A student graded more than once, with the score before and after."""
    assignment: str
    student: str
    before: float
    after: float
    max_score: float
    graded: str  # when the newest grading ran (UTC, ISO 8601)


def regrades(folder):
    """Every student graded more than once in ``folder``, with the score of the grading
    before the newest, from the log."""
    found = []
    for name, entries in sorted(read_log(folder).items()):
        for student, entry in sorted(entries.items()):
            if entry["earlier"]:
                found.append(Regrade(name, student, entry["earlier"][-1]["score"], entry["score"],
                                     entry["max_score"], entry["graded"]))
    return found


def grading_seconds(folder):
    """{(assignment, student): seconds its newest grading took}, from the log."""
    return {(name, student): entry["seconds"] for name, entries in read_log(folder).items()
            for student, entry in entries.items()}


@dataclass
class RegradePlan:
    """Whom a collect run grades again although graded at the same commit, and whom only."""
    regrade: dict    # {assignment name: set of students graded again at the same commit}
    only: set | None  # --student: grade these students and no other (None: everyone)
    notes: list      # lines for report.txt: the stale results left as they are

    def tasks(self, tasks):
        """The tasks of this run: all, or only the chosen students'."""
        return [t for t in tasks if self.only is None or t.student in self.only]


def plan_regrades(folder, assignments, only=None, stale=False):
    """The RegradePlan of a collect run: the students of ``only`` (--student, as
    `chosen_students` returns them) are regraded and no one else; with ``stale``
    (--regrade-stale) every stale result is regraded too; stale results left as they are
    get a note."""
    found = stale_results(folder, assignments)
    regrade = {a.name: set(only or ()) | (set(found.get(a.name, ())) if stale else set())
               for a in assignments}
    notes = [] if stale else describe_stale(found)
    return RegradePlan(regrade, only, notes)


def chosen_students(roster, names):
    """The student ids that ``names`` (student ids, GitHub logins or repository names) mean.

    Raises ValueError naming each name no roster row matches."""
    chosen, unknown = set(), []
    for name in names:
        student = name if name in roster.students else roster.student_of(name)
        if student is None:
            unknown.append(name)
        else:
            chosen.add(student)
    if unknown:
        raise ValueError(f"--student {', '.join(unknown)}: not a student id, login or repository "
                         "of the roster")
    return chosen


def main(argv=None):
    parser = command_parser(__doc__)
    args = parser.parse_args(argv)
    folder = open_from_command_line(args)
    print("\n".join(describe_stale(stale_results(folder, folder.assignments())))
          or "no stale result: every student was graded with the course as it is")
    return 0


if __name__ == "__main__":
    sys.exit(main())
