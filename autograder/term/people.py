"""Who the students are: names, emails and LMS ids from optional roster columns.

    python -m autograder.term.people GRADING --roster roster.csv [--db URL]

The roster collect reads (``student_id`` and ``repo`` or ``github_username``) may also have
``first_name`` and ``last_name`` (or one ``name``, as a GitHub Classroom roster has),
``email``, ``sis_id`` (the student's id in the university's records: Canvas's "SIS User
ID", Moodle's "ID number"; default: the student id), ``canvas_id`` (Canvas's own user
"ID") and ``section``. Column names are matched without regard to case. The command writes
names and emails into the gradebook, so that grades.csv, the Formgrader and the LMS files
show them.
"""

import csv
import sys
from dataclasses import dataclass

from autograder.roster import STUDENT_ID_COLUMNS, load_roster
from autograder.term.folder import GradingFolder, command_parser, write_grades


@dataclass(frozen=True)
class Person:
    student_id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    sis_id: str = ""
    canvas_id: str = ""
    section: str = ""

    @property
    def full_name(self):
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def sortable_name(self):
        """"Last, First", as Canvas lists students."""
        return ", ".join(part for part in (self.last_name, self.first_name) if part)


OPTIONAL_COLUMNS = ("first_name", "last_name", "email", "sis_id", "canvas_id", "section")


def read_people(roster_file):
    """{student id: Person} from a roster (checked as collect checks it, `load_roster`).

    Raises ValueError naming the file and problem, as `load_roster` does."""
    load_roster(roster_file)
    with open(roster_file, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    columns = {name.strip().lower(): name for name in rows[0]}
    id_column = next(columns[c] for c in STUDENT_ID_COLUMNS if c in columns)
    people = {}
    for row in rows:
        fields = {key: (row.get(columns[key]) or "").strip()
                  for key in OPTIONAL_COLUMNS if key in columns}
        if not (fields.get("first_name") or fields.get("last_name")) and "name" in columns:
            fields["first_name"] = (row.get(columns["name"]) or "").strip()
        student = row[id_column].strip()
        fields.setdefault("sis_id", "")
        people[student] = Person(student, **{**fields, "sis_id": fields["sis_id"] or student})
    return people


def write_people(folder, people):
    """Put each person's names and email on their student in ``folder``'s gradebook."""
    with folder.gradebook() as gradebook:
        for person in people.values():
            gradebook.update_or_create_student(
                person.student_id, first_name=person.first_name or None,
                last_name=person.last_name or None, email=person.email or None)


def main(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--roster", required=True, help="the roster CSV collect read")
    args = parser.parse_args(argv)
    try:
        folder = GradingFolder.open(args.grading, args.db)
        people = read_people(args.roster)
    except ValueError as err:
        sys.exit(f"error: {err}")
    write_people(folder, people)
    write_grades(folder)
    named = sum(1 for p in people.values() if p.full_name)
    print(f"{named} of {len(people)} students have a name; grades: {folder.grades_csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
