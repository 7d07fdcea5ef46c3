"""Grades in the CSV formats that Canvas and Moodle import.

    python -m autograder.term.lms GRADING --roster roster.csv [--db URL]

writes GRADING/lms/canvas.csv and GRADING/lms/moodle.csv: one row per roster student, one
column per assignment of the gradebook, holding the points that count (after the late
penalty, as grades.csv's ``score``; zero without a submission).

- **Canvas** (Grades, Import): the columns of Canvas's own gradebook export, ``Student``
  ("Last, First"), ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then the
  assignments, and a ``Points Possible`` row. Canvas matches students by ``ID`` (the
  roster's ``canvas_id``), else ``SIS User ID`` (``sis_id``, default the student id), else
  ``SIS Login ID`` (``email``). An assignment column Canvas does not know becomes a new
  assignment; rename a column to ``NAME (CANVAS ID)`` to fill an existing one.
- **Moodle** (Grades, Import, CSV file): ``First name``, ``Last name``, ``ID number``
  (``sis_id``), ``Email address``, then the assignments. Map ``ID number`` or ``Email
  address`` to the user field and each assignment column to its grade item.

Names, emails and ids come from the roster's optional columns (autograder/term/people.py).
"""

import csv
import sys

from autograder.term.folder import GradingFolder, command_parser, results
from autograder.term.people import read_people

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["First name", "Last name", "ID number", "Email address"]


def points(value):
    """Points as both LMSs read them: a plain decimal, no trailing zeros."""
    return f"{round(value, 2):g}"


def listed_order(person):
    """Sort key: by last name, first name, else student id, ignoring case."""
    return (person.sortable_name or person.student_id).lower(), person.student_id


def canvas_rows(people, assignments, grades):
    """Rows of Canvas's grade CSV: the header, Points Possible, then one per person."""
    names = [a.name for a in assignments]
    maximum = {name: result.max_score for (name, _), result in grades.items()}
    rows = [CANVAS_COLUMNS + names,
            ["Points Possible", "", "", "", ""] + [points(maximum.get(n, 0)) for n in names]]
    for person in sorted(people.values(), key=listed_order):
        rows.append([person.sortable_name or person.student_id, person.canvas_id, person.sis_id,
                     person.email, person.section]
                    + [points(grades[n, person.student_id].score) if (n, person.student_id)
                       in grades else "" for n in names])
    return rows


def moodle_rows(people, assignments, grades):
    """Rows of a Moodle grade import CSV: the header, then one per person."""
    names = [a.name for a in assignments]
    rows = [MOODLE_COLUMNS + names]
    for person in sorted(people.values(), key=listed_order):
        rows.append([person.first_name, person.last_name, person.sis_id, person.email]
                    + [points(grades[n, person.student_id].score) if (n, person.student_id)
                       in grades else "" for n in names])
    return rows


def write_lms_files(folder, people):
    """Write ``folder``/lms/canvas.csv and moodle.csv for ``people`` (`read_people`); return
    their paths."""
    assignments = folder.assignments()
    grades = results(folder, assignments)
    target = folder.root / "lms"
    target.mkdir(exist_ok=True)
    written = []
    for name, rows in (("canvas.csv", canvas_rows(people, assignments, grades)),
                       ("moodle.csv", moodle_rows(people, assignments, grades))):
        with open(target / name, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
        written.append(target / name)
    return written


def main(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--roster", required=True, help="the roster CSV collect read")
    args = parser.parse_args(argv)
    try:
        folder = GradingFolder.open(args.grading, args.db)
        people = read_people(args.roster)
    except ValueError as err:
        sys.exit(f"error: {err}")
    print("\n".join(str(path) for path in write_lms_files(folder, people)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
