"""Grade the students' GitHub repositories with the hidden tests.

    python -m autograder.collect REPOS --roster roster.csv --out GRADING [--assignment NAME ...]
                                 [--before DATE] [--return-feedback] [--workers N]
                                 [--scheduler tcp://HOST:PORT] [--db URL] [--force]

REPOS is a folder of cloned student repositories: either what `gh classroom clone
student-repos` makes (``<assignment>-submissions/<repo-name>/``, REPOS being that folder or
the one above it) or a plain folder of clones. The roster CSV maps each repository to a
student id: a ``student_id`` column (or ``identifier``, as in GitHub Classroom's roster) and
a ``repo`` column with the repository name and/or a ``github_username`` (or ``login``)
column; a repository matches a login when it is named ``<login>`` or ``<anything>-<login>``.

Each clone is graded at a commit: its last one, or with --before its last one committed
before the deadline; uncommitted changes do not count. For each assignment (those named;
else the one a ``<assignment>-submissions`` folder names; else every course assignment
found in the repositories) it places each student's notebook, as committed, in nbgrader's
``GRADING/submitted/<student_id>/<assignment>/`` with a ``timestamp.txt`` holding that
commit's time, then grades each notebook in a scratch course of its own (`nbgrader
autograde`, then `generate_feedback` with the hidden tests' code removed,
autograder/feedback.py): --workers N at once on this machine (default: every core), or on
the Dask cluster of --scheduler (autograder/parallel.py). The scores go into the course's
one gradebook (GRADING/gradebook.db, or --db, e.g. postgresql://host/grades), then `nbgrader
export` writes the grades. A student already graded at the same commit is not graded again
(a rerun after Ctrl-C grades only the rest) unless --force is given.

GRADING is an nbgrader course folder (gradebook.db, submitted/, autograded/, feedback/)
kept between runs; it receives ``grades.csv`` and ``report.txt``. Repositories no roster
row matches, roster students without a repository, missing or renamed notebooks and repos
without git history are reported by name, never dropped silently. With --return-feedback
each student's feedback HTML is committed to their clone as ``feedback/<assignment>/``
(push the clones afterwards).
"""

import argparse
import csv
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from autograder.feedback import FEEDBACK_PREPROCESSORS, hidden_test_leaks
from autograder.grading import (
    ScratchCourse, get_assignment, load_course, read_notebook, total,
)
from autograder.parallel import (
    GradingEngine, Task, cpu_count, graded_timestamps, open_gradebook, outcome_problem,
    record_result, retrying, this_course_version, write_pages,
)

STUDENT_ID_COLUMNS = ("student_id", "identifier")
LOGIN_COLUMNS = ("github_username", "login", "github")
SUBMISSIONS_SUFFIX = "-submissions"


@dataclass
class Roster:
    """Who is who: repository names and GitHub logins (lower case) to student ids."""
    by_repo: dict = field(default_factory=dict)
    by_login: dict = field(default_factory=dict)
    students: list = field(default_factory=list)

    def student_of(self, repo_name):
        """Return the student id of a repository, or None when no roster row matches it."""
        name = repo_name.lower()
        if name in self.by_repo:
            return self.by_repo[name]
        # Classroom names repos <assignment>-<login>; the longest login wins (bob vs jim-bob).
        for login in sorted(self.by_login, key=len, reverse=True):
            if name == login or name.endswith("-" + login):
                return self.by_login[login]
        return None


@dataclass
class Clone:
    """A student's clone and the commit graded: its last one, or its last before a deadline."""
    path: Path
    student: str
    commit: str = None      # the graded commit's hash
    timestamp: str = None   # its commit time, nbgrader's format, UTC
    files: tuple = ()       # the paths in the graded commit

    def read(self, path):
        """The bytes of ``path`` (relative to the repo) in the graded commit."""
        return git_output(self.path, "show", f"{self.commit}:{path}", text=False)


def load_roster(path):
    """Read a roster CSV into a Roster; raise ValueError naming the file and bad row."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path}: the roster is empty")
    columns = {c.strip().lower(): c for c in rows[0]}
    id_column = next((columns[c] for c in STUDENT_ID_COLUMNS if c in columns), None)
    login_column = next((columns[c] for c in LOGIN_COLUMNS if c in columns), None)
    repo_column = columns.get("repo")
    if not id_column or not (login_column or repo_column):
        raise ValueError(f"{path}: needs a student_id (or identifier) column and a repo or "
                         f"github_username column; it has {list(rows[0])}")
    roster = Roster()
    for line, row in enumerate(rows, start=2):
        student = (row[id_column] or "").strip()
        if not re.fullmatch(r"[A-Za-z0-9._@+-]+", student):
            raise ValueError(f"{path}, line {line}: student id {student!r} must be letters, "
                             "digits and . _ @ + - (it names a folder)")
        repo = (row.get(repo_column) or "").strip().lower() if repo_column else ""
        login = (row.get(login_column) or "").strip().lower() if login_column else ""
        if not (repo or login):
            raise ValueError(f"{path}, line {line}: {student} has neither a repo nor a login")
        if repo:
            roster.by_repo[repo] = student
        if login:
            roster.by_login[login] = student
        roster.students.append(student)
    return roster


def find_clones(repos):
    """Return (clone folders, classroom assignment slugs) under ``repos``.

    ``repos`` is a ``<slug>-submissions`` folder, a folder holding such folders, or a plain
    folder of clones.
    """
    repos = Path(repos)
    groups = sorted(p for p in repos.iterdir() if p.is_dir() and p.name.endswith(SUBMISSIONS_SUFFIX))
    if not groups:
        groups = [repos]
    slugs = [g.name[: -len(SUBMISSIONS_SUFFIX)] for g in groups if g.name.endswith(SUBMISSIONS_SUFFIX)]
    clones = [p for g in groups for p in sorted(g.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    return clones, slugs


def git_output(repo, *args, text=True):
    """Run git in ``repo``; return its output, or None when git fails (no repo, no commit)."""
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=text)
    return result.stdout if result.returncode == 0 else None


def last_commit(repo, before=None):
    """Return (hash, nbgrader UTC timestamp) of the last commit, or of the last one committed
    before ``before`` (any date git reads); None without git or without such a commit."""
    deadline = [f"--before={before}"] if before else []
    line = (git_output(repo, "log", "-1", "--format=%H %cI", *deadline, "HEAD") or "").strip()
    if not line:
        return None
    commit, iso_time = line.split()
    when = datetime.fromisoformat(iso_time).astimezone(timezone.utc)
    return commit, when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def match_clones(clones, roster, problems, before=None):
    """Return {student id: Clone}; report unknown repos, clones without git and duplicates."""
    matched = {}
    for path in clones:
        student = roster.student_of(path.name)
        if student is None:
            problems.append(f"unknown repository {path.name}: no roster row matches it (not graded)")
            continue
        # A folder without its own .git would make git read the repository around it.
        if not (path / ".git").exists() or last_commit(path) is None:
            problems.append(f"{path.name} ({student}): not a git clone with commits (not graded)")
            continue
        graded = last_commit(path, before)
        if graded is None:
            problems.append(f"{path.name} ({student}): no commit before {before} (not graded)")
            continue
        files = git_output(path, "ls-tree", "-r", "--name-only", "-z", graded[0]).split("\0")
        clone = Clone(path, student, *graded, files=tuple(f for f in files if f))
        if student in matched:
            newer, older = sorted([clone, matched[student]], key=lambda c: c.timestamp, reverse=True)
            problems.append(f"{student} has two repositories, {newer.path.name} and "
                            f"{older.path.name}: grading {newer.path.name} (latest commit)")
            clone = newer
        matched[student] = clone
    for student in roster.students:
        if student not in matched:
            problems.append(f"{student}: no repository found (graded as no submission)")
    return matched


def choose_assignments(names, slugs, clones):
    """The assignments to grade: named; else those the submissions folders name; else those
    whose folder is in some clone's graded commit."""
    if names:
        return [get_assignment(name) for name in names]
    course = load_course()
    by_slug = {a.name.replace("_", "-").lower(): a for a in course}
    named = [by_slug[s.lower()] for s in slugs if s.lower() in by_slug]
    if named:
        return named
    return [a for a in course
            if any(f.startswith(f"assignments/{a.name}/") for c in clones for f in c.files)]


def find_notebook(clone, assignment, problems):
    """Return the repo path of a student's notebook in the graded commit, or None after
    reporting what is there instead (a renamed or moved notebook)."""
    expected = f"assignments/{assignment.name}/{assignment.notebook}"
    if expected in clone.files:
        return expected
    others = sorted(f for f in clone.files if f.endswith(".ipynb") and ".ipynb_checkpoints" not in f
                    and (f.startswith(f"assignments/{assignment.name}/")
                         or Path(f).name == assignment.notebook))
    found = f"; found {', '.join(others)} (renamed or moved? restore {expected})" if others else ""
    problems.append(f"{clone.path.name} ({clone.student}): {expected} is missing{found}")
    return None


def add_students(course, students):
    """Put every roster student in the gradebook, so the grades CSV lists each of them."""
    with open_gradebook(course.db_url) as gradebook:
        for student in students:
            retrying(lambda: gradebook.update_or_create_student(student))  # noqa: B023


def enable_feedback_without_hidden_tests(course):
    """Make the course's `generate_feedback` hide hidden tests (autograder/feedback.py)."""
    config = course.root / "nbgrader_config.py"
    config.write_text(config.read_text() + "\n# Feedback shows test results, never hidden test code.\n"
                      f"c.GenerateFeedback.preprocessors = {FEEDBACK_PREPROCESSORS!r}\n")


def prepare_assignment(course, assignment, matched, students, problems, force=False):
    """Generate one assignment in the course, put every roster student in its gradebook and
    each committed notebook in submitted/; return (tasks to grade, students kept).

    A student whose gradebook submission has the graded commit's timestamp is kept as graded
    (a rerun after an interruption grades only the rest), unless ``force``.
    """
    from nbgrader.utils import parse_utc

    course.generate(assignment)
    add_students(course, students)  # after nbgrader has created the gradebook
    for old in course.root.glob(f"submitted/*/{assignment.name}"):
        shutil.rmtree(old)  # a previous run's copy; the clones are the truth
    graded_at = {} if force else graded_timestamps(course.db_url, assignment.name)
    tasks, kept = [], []
    for student, clone in sorted(matched.items()):
        notebook = find_notebook(clone, assignment, problems)
        if not notebook:
            continue
        content = clone.read(notebook)
        with tempfile.TemporaryDirectory() as scratch:
            committed = Path(scratch) / assignment.notebook
            committed.write_bytes(content)
            course.submit(assignment, student, committed, timestamp=clone.timestamp)
        if student in graded_at and graded_at[student] == parse_utc(clone.timestamp):
            kept.append(student)
        else:
            tasks.append(Task(assignment.name, student, content, clone.timestamp,
                              this_course_version()))
    if not tasks and not kept:
        problems.append(f"{assignment.name}: no submissions to grade")
    return tasks, kept


def grade_tasks(course, engine, tasks, problems):
    """Grade ``tasks`` on ``engine``, recording each result as it arrives (the gradebook,
    autograded/ and feedback/).

    Returns ({(assignment, student): seconds} of those graded, whether Ctrl-C stopped it).
    """
    seconds = {}
    outcomes = engine.grade(tasks)
    try:
        for task, outcome in outcomes:
            problem = outcome_problem(task, outcome)
            if problem:
                problems.append(problem)
                continue
            record_result(course.db_url, task, outcome)
            write_pages(course.root, outcome)
            problems += outcome.problems
            seconds[task.assignment, task.student] = outcome.seconds
    except KeyboardInterrupt:
        problems.append(f"interrupted: {len(seconds)} of {len(tasks)} submissions graded; the "
                        "gradebook keeps them, and a rerun grades only the rest")
        return seconds, True
    finally:
        outcomes.close()  # stops the tasks still queued
    return seconds, False


def check_feedback(course, assignment, students):
    """Delete and name any feedback file that shows hidden test code (there should be none)."""
    source = read_notebook(assignment.source_notebook)
    leaking = []
    for student in students:
        for page in (course.root / "feedback" / student / assignment.name).glob("*.html"):
            if hidden_test_leaks(page, source):
                page.unlink()
                leaking.append(str(page))
    return leaking


def return_feedback(course, assignment, clone, problems):
    """Commit a student's feedback pages to their clone as feedback/<assignment>/."""
    pages = sorted((course.root / "feedback" / clone.student / assignment.name).glob("*.html"))
    if not pages:
        return
    target = clone.path / "feedback" / assignment.name
    target.mkdir(parents=True, exist_ok=True)
    for page in pages:
        shutil.copyfile(page, target / page.name)
    git = ["git", "-C", str(clone.path)]
    subprocess.run([*git, "add", "--", f"feedback/{assignment.name}"], check=True, capture_output=True)
    commit = subprocess.run([*git, "commit", "-q", "-m", f"Feedback for {assignment.name}", "--",
                             f"feedback/{assignment.name}"], capture_output=True, text=True)
    if commit.returncode != 0 and "nothing to commit" not in commit.stdout + commit.stderr:
        problems.append(f"{clone.path.name}: could not commit feedback: {commit.stderr.strip()}")


def score_table(course, assignments, students, seconds):
    """Lines of a student x assignment table of autograded points, with the seconds that
    grading each student took in this run (``seconds``: {(assignment, student): seconds})."""
    scores = {a.name: course.scores(a) for a in assignments}
    width = max([len(s) for s in students] + [7])
    lines = [f"{'student':<{width}}" + "".join(f"{a.name:>24}" for a in assignments)
             + f"{'seconds':>10}"]
    for student in sorted(students):
        cells = []
        for a in assignments:
            if student in scores[a.name]:
                score, maximum = total(scores[a.name][student])
                cells.append(f"{score:g}/{maximum:g}")
            else:
                cells.append("no submission")
        graded = [seconds[a.name, student] for a in assignments if (a.name, student) in seconds]
        took = f"{sum(graded):.1f}" if graded else "-"
        lines.append(f"{student:<{width}}" + "".join(f"{c:>24}" for c in cells) + f"{took:>10}")
    return lines


def collect(repos, roster_file, out, names=(), give_back=False, before=None, workers=None,
            scheduler=None, db=None, force=False):
    """Grade the clones under ``repos``; return (grades CSV path, problems, leaking pages).

    ``workers`` submissions are graded at once on this machine (default: its cores; 1: in
    this process), or on the Dask cluster whose scheduler is at ``scheduler``; ``db`` is the
    gradebook's URL (default: sqlite in ``out``). Raises KeyboardInterrupt after writing the
    report when grading was interrupted: the gradebook keeps those graded so far.
    """
    roster = load_roster(roster_file)
    problems = []
    clones, slugs = find_clones(repos)
    matched = match_clones(clones, roster, problems, before)
    assignments = choose_assignments(names, slugs, matched.values())
    if not assignments:
        raise ValueError(f"no course assignment found in the repositories under {repos}")
    # The engine starts (or reaches its scheduler) before anything is written.
    with GradingEngine(workers or cpu_count(), scheduler) as engine:
        course = ScratchCourse(out, db_url=db)
        enable_feedback_without_hidden_tests(course)
        tasks, kept = [], {}
        for assignment in assignments:
            new, kept[assignment.name] = prepare_assignment(
                course, assignment, matched, roster.students, problems, force)
            tasks += new
        print(f"grading {len(tasks)} submissions on {engine.describe(len(tasks))}"
              + (f"; {sum(map(len, kept.values()))} already graded at the same commit are kept "
                 "(--force regrades them)" if any(kept.values()) else ""), file=sys.stderr)
        seconds, interrupted = grade_tasks(course, engine, tasks, problems)
    leaking = []
    for assignment in assignments:
        graded = sorted(kept[assignment.name]
                        + [s for a, s in seconds if a == assignment.name])
        leaking += check_feedback(course, assignment, graded)
        if give_back and not leaking:
            for student in graded:
                return_feedback(course, assignment, matched[student], problems)
    grades = course.root / "grades.csv"
    exported = course.nbgrader("export", f"--to={grades}")
    if exported.returncode != 0:
        raise RuntimeError(f"nbgrader export failed:\n{exported.stderr[-3000:]}")
    lines = score_table(course, assignments, roster.students, seconds)
    lines += ["", f"grades: {grades}", f"feedback: {course.root / 'feedback'}"]
    if problems:
        lines += [""] + [f"! {problem}" for problem in problems]
    (course.root / "report.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if interrupted:
        raise KeyboardInterrupt
    return grades, problems, leaking


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", help="folder of cloned student repositories")
    parser.add_argument("--roster", required=True, help="CSV: student_id, repo and/or github_username")
    parser.add_argument("--out", required=True, help="nbgrader course folder for the grading")
    parser.add_argument("--assignment", action="append", default=[], metavar="NAME",
                        help="grade this assignment (repeatable)")
    parser.add_argument("--before", metavar="DATE",
                        help="grade each repo's last commit before DATE, e.g. 2026-12-01T23:59+01:00")
    parser.add_argument("--return-feedback", action="store_true",
                        help="commit each student's feedback to their clone (feedback/<assignment>/)")
    parser.add_argument("--workers", type=int, default=cpu_count(), metavar="N",
                        help="submissions graded at once on this machine (default: its %(default)s "
                             "cores; 1 grades them one after another in this process)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="grade on the Dask cluster of this scheduler instead (README.md)")
    parser.add_argument("--db", metavar="URL",
                        help="the gradebook's database, e.g. postgresql://user@host/grades "
                             "(default: sqlite, OUT/gradebook.db)")
    parser.add_argument("--force", action="store_true",
                        help="regrade students already graded at the same commit")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        _, _, leaking = collect(args.repos, args.roster, args.out, args.assignment,
                                args.return_feedback, args.before, args.workers,
                                args.scheduler, args.db, args.force)
    except (KeyError, ValueError, RuntimeError, FileNotFoundError) as err:
        sys.exit(f"error: {err.args[0] if isinstance(err, KeyError) else err}")
    except KeyboardInterrupt:
        print("interrupted: the gradebook keeps every student graded so far; run the same "
              "command again to grade the rest (report.txt names them)", file=sys.stderr)
        return 130
    if leaking:
        sys.exit("error: feedback showed hidden test code and was deleted:\n  " + "\n  ".join(leaking))
    return 0


if __name__ == "__main__":
    sys.exit(main())
