"""Every step after grading, in order: what collect runs at its end, and hand grading after
the Formgrader closes.

    python -m autograder.term.refresh GRADING [--roster roster.csv] [--extensions FILE] [--db URL]

1. names and emails from the roster into the gradebook (people.py);
2. due dates, extensions and late penalties (deadlines.py; extensions.csv beside the
   roster unless named);
3. feedback pages made again for students with hand-graded answers (the Formgrader of
   handgrading.py gave them points and comments);
4. grades.csv (nbgrader's CSV export);
5. the Canvas and Moodle files, when there is a roster (lms.py);
6. report.html and its plots (report.py), similarity included.

Each step's failure is reported and the steps after it still run: a broken extensions file
must not cost the class its report.
"""

import sys

from autograder.feedback import check_feedback
from autograder.term import deadlines, lms, people, report
from autograder.term.folder import command_parser, open_from_command_line, write_grades


def refresh(folder, roster=None, extensions=None, assignments=None, sandbox="bwrap"):
    """Run the steps of the module docstring on ``folder``; return lines for report.txt
    (late submissions, problems, where the files are).

    ``roster``: the roster CSV (optional); ``extensions``: the extensions CSV (default:
    beside the roster); ``assignments``: those whose deadlines to apply (default: all the
    gradebook holds); ``sandbox``: how feedback pages are rendered ("bwrap" or "none").
    """
    lines, known = [], {}

    def step(name, action):
        try:
            return action()
        except Exception as err:  # noqa: BLE001  (each step reports; the next still runs)
            lines.append(f"! {name} failed: {type(err).__name__}: {err}")
            return None

    if roster:
        known = step("reading names from the roster", lambda: people.read_people(roster)) or {}
        step("writing names into the gradebook", lambda: people.write_people(folder, known))
    extensions = extensions or (deadlines.extensions_beside(roster) if roster else None)
    late = step("late penalties", lambda: deadlines.apply_deadlines(
        folder, assignments, deadlines.read_extensions(extensions) if extensions else {})) or []
    lines += [f"late: {deadlines.describe_lateness(row)}" for row in late]
    lines += [f"! {p}" for p in step("feedback after hand grading",
                                     lambda: regenerate_feedback(folder, sandbox)) or []]
    step("grades.csv", lambda: write_grades(folder))
    if known:
        files = step("LMS files", lambda: lms.write_lms_files(folder, known)) or []
        lines += [f"LMS: {path}" for path in files]
    page = step("class report", lambda: report.write_report(folder))
    if page:
        lines.append(f"class report: {page}")
    return lines


def hand_graded(folder):
    """{assignment name: [students]} with a written answer graded by hand in ``folder``."""
    found = {}
    with folder.gradebook() as gradebook:
        for assignment in gradebook.assignments:
            students = sorted({s.student_id for s in assignment.submissions
                               for nb in s.notebooks for g in nb.grades
                               if g.cell.cell_type == "markdown" and g.manual_score is not None})
            if students:
                found[assignment.name] = students
    return found


def regenerate_feedback(folder, sandbox="bwrap"):
    """Make each hand-graded student's feedback page again (nbgrader generate_feedback, as
    collect does: sandboxed, hidden tests left out), and check it as collect checks pages.
    Returns the problems met."""
    problems = []
    graded = hand_graded(folder)
    if not graded:
        return problems
    course = folder.course(sandbox)
    for assignment in folder.assignments():
        for student in graded.get(assignment.name, []):
            made = course.generate_feedback(assignment, student)
            if made.returncode != 0:
                problems.append(f"{assignment.name}: no new feedback for {student}: "
                                f"generate_feedback exited {made.returncode}: "
                                f"{made.stderr.strip()[-500:]}")
        check_feedback(course, assignment, graded.get(assignment.name, []), problems)
    return problems


def main(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--roster", help="the roster CSV collect read")
    parser.add_argument("--extensions", metavar="CSV",
                        help="extensions (default: extensions.csv beside the roster)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="render feedback pages without bubblewrap (as collect's option)")
    args = parser.parse_args(argv)
    folder = open_from_command_line(args)
    lines = refresh(folder, args.roster, args.extensions,
                    sandbox="none" if args.unsafe_no_sandbox else "bwrap")
    print("\n".join(lines))
    return 1 if any(line.startswith("!") for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
