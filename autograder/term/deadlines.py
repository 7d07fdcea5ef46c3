"""Due dates, extensions and late penalties, measured from when the grader saw each commit.

    python -m autograder.term.deadlines GRADING [--extensions extensions.csv] [--db URL]

A submission's time is its ``timestamp.txt`` in GRADING/submitted/<student>/<assignment>/,
which collect writes and the gradebook holds: the time of the deadline snapshot that
recorded the commit (``collect --snapshot``), or with ``--before`` the time this machine's
git got it. A commit's own date, which its author's clock sets, never counts.

- Each assignment's ``due`` is in autograder/course.toml (``due = 2026-10-05T23:59:00+02:00``).
- Extensions are a CSV the instructor keeps beside the roster (``extensions.csv``): columns
  ``student_id``, ``assignment`` and ``days`` (fractions allowed: 0.5 is 12 hours), and any
  others (a ``reason``) ignored. A student's due date is the assignment's plus their days.
- The penalty is the course's policy, the ``[late]`` table of course.toml (:class:`LatePolicy`),
  applied through nbgrader's own mechanism: ``c.AssignLatePenalties.plugin_class`` in
  nbgrader_config.py names :class:`CourseLatePenalty`, nbgrader's ``LateSubmissionPlugin``
  for this policy, and the penalty lands in the gradebook's ``late_submission_penalty``, so
  grades.csv (nbgrader's export), the Formgrader and the feedback pages all show it.

The command sets the gradebook's due dates and extensions from those files, recomputes
every penalty, rewrites grades.csv and prints the late submissions.
"""

import csv
import math
import sys
import tomllib
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin

from autograder.grading import COURSE_FILE, load_course
from autograder.term.folder import GradingFolder, command_parser, write_grades

DAY = 86400  # seconds
EXTENSIONS_FILE = "extensions.csv"  # looked for beside the roster


@dataclass(frozen=True)
class LatePolicy:
    """The course's late-work rule (course.toml, ``[late]``).

    ``per_day``: percent of the score taken off for each day late, a started day counting
    whole; ``cap``: at most this percent in all; ``cutoff_days``: later than this many days,
    zero (None: no cut-off); ``grace_minutes``: later than the due date by less than this is
    on time (the deadline snapshot runs a little after the due date, and fetching every
    clone takes a while).
    """
    per_day: float = 0.0
    cap: float = 100.0
    cutoff_days: float | None = None
    grace_minutes: float = 0.0

    def is_late(self, seconds_late):
        """Whether a submission this many seconds after its due date counts as late."""
        return seconds_late > 60 * self.grace_minutes

    def days_late(self, seconds_late):
        """Started days late (0 when on time or within the grace)."""
        return math.ceil(seconds_late / DAY) if self.is_late(seconds_late) else 0

    def penalty(self, score, seconds_late):
        """Points taken off ``score`` for a submission ``seconds_late`` after its due date."""
        if not self.is_late(seconds_late):
            return 0.0
        if self.cutoff_days is not None and seconds_late > self.cutoff_days * DAY:
            return float(score)
        percent = min(self.cap, self.per_day * self.days_late(seconds_late))
        return score * percent / 100

    def describe(self):
        """The policy in words, for reports and READMEs."""
        if not (self.per_day or self.cutoff_days is not None):
            return "no late penalty"
        parts = [f"{self.per_day:g}% per day late (a started day counts), at most {self.cap:g}%"]
        if self.cutoff_days is not None:
            parts.append(f"zero after {self.cutoff_days:g} days")
        if self.grace_minutes:
            parts.append(f"up to {self.grace_minutes:g} minutes after the due date is on time")
        return "; ".join(parts)


def load_late_policy(path=None):
    """The ``[late]`` table of course.toml (or of the TOML file ``path``) as a LatePolicy; no
    table: no penalty.

    Raises ValueError naming the file and key when a value is not a number or a key unknown.
    """
    path = path or COURSE_FILE
    with open(path, "rb") as f:
        table = tomllib.load(f).get("late", {})
    known = LatePolicy.__dataclass_fields__
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ValueError(f"{path}, [late]: unknown keys {unknown}; known: {sorted(known)}")
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{path}, [late]: {key} = {value!r} must be a number, 0 or more")
    return LatePolicy(**{key: float(value) for key, value in table.items()})


class CourseLatePenalty(LateSubmissionPlugin):
    """nbgrader's late-submission plugin for the course's policy (course.toml ``[late]``).

    nbgrader calls it for a late notebook with the notebook's score and the seconds it is
    late (its due date includes the student's extension); it returns the points to take off.
    """

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return load_late_policy().penalty(score, total_seconds_late)


def read_extensions(path, assignments=None):
    """{(student id, assignment): timedelta} from an extensions CSV (student_id, assignment,
    days). A missing file is no extensions.

    Raises ValueError naming the file and line of a bad row (an unknown assignment, days not
    a number, a student twice for one assignment).
    """
    path = Path(path)
    if not path.is_file():
        return {}
    names = {a.name for a in (assignments or load_course())}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"student_id", "assignment", "days"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: needs the columns student_id, assignment and days; "
                             f"it lacks {sorted(missing)}")
        extensions = {}
        for line, row in enumerate(reader, start=2):
            key = (row["student_id"].strip(), row["assignment"].strip())
            try:
                days = float(row["days"])
            except (TypeError, ValueError):
                days = math.nan
            problem = (f"assignment {key[1]!r} is not in course.toml" if key[1] not in names
                       else f"days {row['days']!r} must be a number, 0 or more"
                       if not (math.isfinite(days) and days >= 0)
                       else f"{key[0]} has a second extension for {key[1]}" if key in extensions
                       else None)
            if problem:
                raise ValueError(f"{path}, line {line}: {problem}")
            extensions[key] = timedelta(days=days)
    return extensions


def extensions_beside(roster):
    """The extensions file kept beside ``roster`` (it may not exist)."""
    return Path(roster).with_name(EXTENSIONS_FILE)


def merge_snapshots(earlier, later):
    """The snapshot that ``later`` (a manifest ``collect --snapshot`` just took) makes of the
    manifest ``earlier`` (None: none): a clone that still holds the commit ``earlier``
    recorded keeps the time it was first seen, so that a snapshot taken again to collect
    late work makes late only the students who pushed since. Clones ``later`` could not
    reach keep their earlier entry."""
    if not earlier:
        return later
    clones = dict(earlier["clones"])
    for name, entry in later["clones"].items():
        if clones.get(name, {}).get("commit") != entry["commit"]:
            clones[name] = entry
    return {**later, "clones": clones}


def gradebook_time(when):
    """An aware datetime as nbgrader stores times: naive, in UTC."""
    return when.astimezone(timezone.utc).replace(tzinfo=None)


def late_plugin():
    """The late-submission plugin nbgrader_config.py configures (c.AssignLatePenalties)."""
    from nbgrader.preprocessors import AssignLatePenalties

    from autograder.grading import nbgrader_config

    step = AssignLatePenalties(config=nbgrader_config())
    step.init_plugin()
    return step.plugin_inst


def assign_penalties(submission, plugin):
    """Set the late penalty of each notebook of ``submission`` as nbgrader's
    AssignLatePenalties does: the plugin's points, never below 0 or above the score."""
    late = submission.total_seconds_late
    for notebook in submission.notebooks:
        penalty = plugin.late_submission_penalty(submission.student_id, notebook.score, late) \
            if late > 0 else None
        notebook.late_submission_penalty = None if penalty is None else min(
            max(penalty, 0.0), notebook.score)


def apply_deadlines(folder, assignments=None, extensions=None):
    """Write each assignment's due date and each student's extension into the gradebook of
    ``folder`` and recompute every late penalty.

    ``assignments``: those to treat (default: all the gradebook holds); ``extensions``: as
    `read_extensions` returns. Returns the late submissions as `late_rows` lists them.
    """
    assignments = assignments or folder.assignments()
    extensions = extensions or {}
    plugin = late_plugin()
    with folder.gradebook() as gradebook:
        for assignment in assignments:
            record = gradebook.find_assignment(assignment.name)
            record.duedate = gradebook_time(assignment.due) if assignment.due else None
            for submission in gradebook.assignment_submissions(assignment.name):
                # nbgrader adds an extension to the due date: none without a due date
                submission.extension = extensions.get(
                    (submission.student_id, assignment.name)) if assignment.due else None
                assign_penalties(submission, plugin)
        gradebook.db.commit()
    return late_rows(folder, assignments)


@dataclass(frozen=True)
class Lateness:
    """One late submission, as the reports show it."""
    assignment: str
    student: str
    timestamp: object     # when the grader saw it (naive UTC, as nbgrader stores it)
    due: object           # the student's due date, extension included (naive UTC)
    seconds_late: float
    penalty: float        # points taken off
    score: float          # points after the penalty


def late_rows(folder, assignments=None):
    """Every submission in ``folder`` that the course policy counts as late, as Lateness."""
    policy = load_late_policy()
    rows = []
    with folder.gradebook() as gradebook:
        for assignment in assignments or folder.assignments():
            for submission in gradebook.assignment_submissions(assignment.name):
                late = submission.total_seconds_late
                if policy.is_late(late):
                    penalty = submission.late_submission_penalty or 0.0
                    rows.append(Lateness(assignment.name, submission.student_id,
                                         submission.timestamp, submission.duedate, late,
                                         penalty, max(0.0, submission.score - penalty)))
    return sorted(rows, key=lambda r: (r.assignment, r.student))


def describe_lateness(row):
    """A late submission in one line."""
    hours = row.seconds_late / 3600
    late = (f"{hours / 24:.1f} days" if hours >= 24 else f"{hours:.1f} hours" if hours >= 1
            else f"{math.ceil(row.seconds_late / 60):.0f} min")
    return (f"{row.assignment}: {row.student} seen {row.timestamp:%Y-%m-%d %H:%M} UTC, due "
            f"{row.due:%Y-%m-%d %H:%M} UTC: {late} late, -{row.penalty:g} points")


def main(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--extensions", metavar="CSV",
                        help="extensions: student_id, assignment, days (default: none)")
    args = parser.parse_args(argv)
    try:
        folder = GradingFolder.open(args.grading, args.db)
        extensions = read_extensions(args.extensions) if args.extensions else {}
        rows = apply_deadlines(folder, extensions=extensions)
    except ValueError as err:
        sys.exit(f"error: {err}")
    write_grades(folder)
    print(f"late policy: {load_late_policy().describe()}")
    print("\n".join(describe_lateness(row) for row in rows) or "no late submission")
    print(f"grades: {folder.grades_csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
