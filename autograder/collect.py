"""Grade the students' GitHub repositories with the hidden tests.

    python -m autograder.collect REPOS --roster roster.csv --out GRADING [--assignment NAME ...]
                                 [--before DATE] [--return-feedback] [--workers N]
                                 [--scheduler tcp://HOST:PORT] [--db URL] [--force]
                                 [--student LOGIN ...] [--regrade-stale] [--extensions CSV]

REPOS is a folder of cloned student repositories: either what `gh classroom clone
student-repos` makes (``<assignment>-submissions/<repo-name>/``, REPOS being that folder or
the one above it) or a plain folder of clones. The roster CSV maps each repository to a
student id: a ``student_id`` column (or ``identifier``, as in GitHub Classroom's roster) and
a ``repo`` column with the repository name and/or a ``github_username`` (or ``login``)
column; a repository matches a login when it is named ``<login>`` or ``<anything>-<login>``.

Each clone is graded at a commit: its last one, or with --before its last one committed
before the deadline; uncommitted changes do not count. Of that commit collect reads only the
entries it needs, within caps (MAX_NOTEBOOK_BYTES, MAX_GIT_OUTPUT, MAX_FOLDER_ENTRIES), so
that a clone of billions of paths (a git bomb) costs its student a report line. For each
assignment (those named; else the one a ``<assignment>-submissions`` folder names; else every
course assignment found in the repositories) it places each student's notebook, as committed, in nbgrader's
``GRADING/submitted/<student_id>/<assignment>/`` with a ``timestamp.txt`` holding that
commit's time, then grades each notebook in a scratch course of its own (`nbgrader
autograde`, then `generate_feedback` with the hidden tests' code removed,
autograder/feedback.py): --workers N at once on this machine (default: every core), or on
the Dask cluster of --scheduler (autograder/parallel.py). The scores go into the course's
one gradebook (GRADING/gradebook.db, or --db, e.g. postgresql://host/grades), then `nbgrader
export` writes the grades. A student already graded at the same commit is not graded again
(a rerun after Ctrl-C grades only the rest) unless --force is given; --student grades only
the students named, and --regrade-stale the results graded before the tests changed, which
collect otherwise names (autograder/term/regrades.py). Then come the steps after grading
(autograder/term/refresh.py): late penalties from course.toml's due dates and the extensions
CSV, names from the roster, the LMS files and the class report, report.html.

GRADING is an nbgrader course folder (gradebook.db, submitted/, autograded/, feedback/)
kept between runs; it receives ``grades.csv`` and ``report.txt``. collect writes only into a
folder it made (GRADING_MARKER), never inside the course repository or a git work tree.
Repositories no roster row matches, roster students without a repository, missing or renamed
notebooks and repos without git history are reported by name, never dropped silently. With --return-feedback
each student's feedback HTML is committed to their clone as ``feedback/<assignment>/``
(push the clones afterwards).
"""

import argparse
import csv
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from autograder.feedback import check_feedback, enable_feedback_without_hidden_tests
from autograder.gradebook import open_gradebook, retrying
from autograder.grading import (
    ROOT, ScratchCourse, get_assignment, load_course, read_notebook, total,
)
from autograder.parallel import (
    GradingEngine, Task, cpu_count, graded_timestamps, outcome_problem, record_result, write_pages,
)
from autograder.roster import load_roster
from autograder.sandbox import Sandbox, bounds_in_force
from autograder.term.deadlines import merge_snapshots
from autograder.term.folder import GradingFolder
from autograder.term.refresh import refresh
from autograder.term.regrades import chosen_students, plan_regrades, record_grading

SUBMISSIONS_SUFFIX = "-submissions"


@dataclass
class Clone:
    """A student's clone and the commit graded: its last one, or its last before a deadline.

    Everything is read from git's objects at that commit, never from the work tree, which a
    student's commit can fill with symbolic links; and only the entries collect needs, never
    the whole tree, which a few objects can make billions of paths long (a git bomb)."""
    path: Path
    student: str
    commit: str = None      # the graded commit's hash
    timestamp: str = None   # its commit time, nbgrader's format, UTC

    def entry(self, path):
        """(mode, object id) of ``path`` in the graded commit, or None (`tree_entry`)."""
        return tree_entry(self.path, self.commit, path)

    def files_under(self, folder):
        """{path: mode} of everything under ``folder`` in the graded commit (`tree_files`)."""
        return tree_files(self.path, self.commit, folder)

    def read(self, path):
        """The bytes of the regular file ``path`` (relative to the repo) in the graded commit.

        Raises ValueError when it is no regular file there (a symbolic link, a submodule) or
        is larger than MAX_NOTEBOOK_BYTES: it is reported, never followed."""
        found = self.entry(path)
        if found is None:
            raise ValueError(f"{path} is not in commit {self.commit[:12]}")
        mode, blob = found
        if mode not in REGULAR_FILE_MODES:
            raise ValueError(f"{path} is {describe_mode(mode)} in commit {self.commit[:12]}, not a "
                             "file (not followed: commit the notebook itself)")
        size = int(git_output(self.path, "cat-file", "-s", blob) or 0)
        if size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"{path} is {size / 2**20:.0f} MiB, over the grader's "
                             f"{MAX_NOTEBOOK_BYTES / 2**20:.0f} MiB (clear its outputs)")
        return git_output(self.path, "cat-file", "blob", blob, text=False, limit=MAX_NOTEBOOK_BYTES)


class TooLarge(ValueError):
    """A clone holds more than collect reads of it (MAX_GIT_OUTPUT, MAX_FOLDER_ENTRIES)."""


REGULAR_FILE_MODES = ("100644", "100755")
FOLDER_MODE = "040000"
NO_BWRAP = (
    "bwrap (bubblewrap) is not installed, and students' notebooks are only graded inside it. "
    "Install it (apt-get install bubblewrap, dnf install bubblewrap), or pass "
    "--unsafe-no-sandbox to grade with the grader's own rights (README.md says what that "
    "gives up)")
# The most collect reads of a clone: a notebook's bytes, git's output for one command (a
# listing, say), and the entries of one folder.
MAX_NOTEBOOK_BYTES = 64 * 2**20
MAX_GIT_OUTPUT = 2 * 2**20
MAX_FOLDER_ENTRIES = 10_000
GIT_CHUNK = 2**16
# collect writes only into a grading folder it made, which this file marks.
GRADING_MARKER = ".rnn-course-grading"
SUGGESTED_OUT = "~/grading/rnn-course"


def describe_mode(mode):
    """A git tree entry's mode, in words."""
    return {"120000": "a symbolic link", "160000": "a submodule", FOLDER_MODE: "a folder"}.get(
        mode, f"an entry of mode {mode}")


def tree_entry(repo, commit, path):
    """(mode, object id) of the one entry ``path`` in ``commit`` (a file, folder, link or
    submodule, never followed), or None when it is not there."""
    # One path, no trailing slash, no -r: git prints that entry alone, never a folder's content.
    listing = git_output(repo, "--literal-pathspecs", "ls-tree", "-z", commit, "--", path) or ""
    info, _, found = listing.split("\0")[0].partition("\t")
    if found != path:
        return None
    mode, _, obj = info.split()
    return mode, obj


def tree_files(repo, commit, folder):
    """{path: mode} of everything under ``folder`` in ``commit`` (``git ls-tree -r``: files,
    links and submodules, never followed).

    Raises TooLarge, naming the cap, past MAX_FOLDER_ENTRIES entries or MAX_GIT_OUTPUT bytes
    of git's listing: no more is ever read."""
    cap = TooLarge(f"{folder} in commit {commit[:12]} holds more than collect reads of a folder "
                   f"({MAX_FOLDER_ENTRIES} entries, {MAX_GIT_OUTPUT // 2**20} MiB of names): "
                   "not read further")
    try:
        listing = git_output(repo, "--literal-pathspecs", "ls-tree", "-r", "-z", commit, "--",
                             folder) or ""
    except TooLarge:
        raise cap from None
    entries = [entry.split("\t", 1) for entry in listing.split("\0") if entry]
    if len(entries) > MAX_FOLDER_ENTRIES:
        raise cap
    return {path: info.split()[0] for info, path in entries}


def check_out(out):
    """Raise ValueError, saying what to do, when writing the grading folder ``out`` could
    damage something: it is in the course repository or in any git work tree, is not a
    folder, or is a folder that holds files and no GRADING_MARKER (collect did not make it)."""
    out = Path(out).expanduser().resolve()
    if out == ROOT or ROOT in out.parents:
        raise ValueError(f"--out {out} is inside the course repository {ROOT}, whose solutions "
                         "and configuration grading would overwrite: choose a folder outside "
                         f"it, e.g. {SUGGESTED_OUT}")
    work_tree = next((folder for folder in [out, *out.parents] if (folder / ".git").exists()), None)
    if work_tree:
        raise ValueError(f"--out {out} is inside the git work tree {work_tree}: choose a folder "
                         f"outside every git repository, e.g. {SUGGESTED_OUT}")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file: give a folder, e.g. {SUGGESTED_OUT}")
    held = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if held and GRADING_MARKER not in held:
        raise ValueError(f"--out {out} holds files that collect did not write "
                         f"({', '.join(held[:3])}{', ...' if len(held) > 3 else ''}): choose a "
                         f"new or empty folder, e.g. {SUGGESTED_OUT} (a grading folder of a "
                         f"collect older than this check: create an empty {GRADING_MARKER} "
                         "file in it)")


def claim_out(out):
    """Make the grading folder ``out`` (`check_out` allowed it) and mark it as collect's."""
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / GRADING_MARKER).write_text(
        "A grading folder of `python -m autograder.collect`, which writes only into folders "
        "holding this file.\n")


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


def git_output(repo, *args, text=True, limit=MAX_GIT_OUTPUT):
    """Run git in ``repo``; return its output, or None when git fails (no repo, no commit).

    The output is read as it comes, up to ``limit`` bytes: past that git is stopped and
    TooLarge raised, so that no clone makes collect hold more."""
    with subprocess.Popen(["git", "-C", str(repo), *args], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as git:
        chunks, size = [], 0
        while chunk := git.stdout.read1(GIT_CHUNK):
            size += len(chunk)
            if size > limit:
                git.kill()
                raise TooLarge(f"git printed more than {limit} bytes")
            chunks.append(chunk)
        failed = git.wait()
    if failed:
        return None
    output = b"".join(chunks)
    return output.decode(errors="replace") if text else output


def last_commit(repo, before=None):
    """Return (hash, nbgrader UTC timestamp) of the last commit, or of the last one committed
    before ``before`` (any date git reads); None without git or without such a commit."""
    deadline = [f"--before={before}"] if before else []
    line = (git_output(repo, "log", "-1", "--format=%H %cI", *deadline, "HEAD") or "").strip()
    if not line:
        return None
    commit, iso_time = line.split()
    return commit, nbgrader_time(datetime.fromisoformat(iso_time))


def nbgrader_time(when):
    """A time as nbgrader writes timestamps (UTC)."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def parse_deadline(text):
    """A deadline given as ISO 8601 (``2026-12-01T23:59+01:00``; no zone: UTC)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--before {text!r}: give the deadline as ISO 8601, e.g. "
                         "2026-12-01T23:59+01:00") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def upstream(repo):
    """The remote-tracking branch the clone's branch follows (``origin/main``), or None."""
    name = git_output(repo, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}")
    return (name or "").strip() or None


def held_at(repo, deadline):
    """(time, commit): the newest commit that this clone's HEAD or upstream branch held at
    ``deadline``, by its reflogs (written by this machine's git at each clone, fetch, pull
    or commit, at this machine's time); None when it has no record from before then."""
    held = []
    for ref in ["HEAD", upstream(repo)]:
        log = git_output(repo, "log", "--walk-reflogs", "--date=unix", "--format=%H %gd", ref) \
            if ref else None
        for commit, selector in (line.split() for line in (log or "").splitlines()):
            seconds = re.search(r"@\{(\d+)\}$", selector)
            when = seconds and datetime.fromtimestamp(int(seconds[1]), timezone.utc)
            if when and when <= deadline:
                held.append((when, commit))
    return max(held) if held else None


def choose_commit(path, before=None, snapshot=None):
    """Which commit of the clone at ``path`` is graded, and its nbgrader timestamp.

    With a ``snapshot`` (collect --snapshot at the deadline): the commit it recorded, at the
    time it was fetched. Else with ``before``: the commit the clone held at the deadline by
    its reflogs, at the time it got it; only when the clone has no record from before the
    deadline (cloned later), its last commit dated before the deadline by its committer, a
    date the student sets (``how`` says so). Else its last commit.

    Returns (commit, timestamp, how), or (None, None, why it is not graded).
    """
    if snapshot is not None:
        entry = snapshot["clones"].get(path.name)
        if entry is None:
            return None, None, "not in the snapshot (not graded)"
        if git_output(path, "cat-file", "-e", entry["commit"] + "^{commit}") is None:
            return None, None, (f"commit {entry['commit'][:12]} of the snapshot is not in the "
                                "clone (git fetch it; not graded)")
        fetched = datetime.fromisoformat(entry["fetched"])
        return entry["commit"], nbgrader_time(fetched), f"held when fetched at {entry['fetched']}"
    if before is None:
        return (*last_commit(path), "last commit")
    held = held_at(path, parse_deadline(before))
    if held:
        return held[1], nbgrader_time(held[0]), "held by the clone at the deadline (reflog)"
    graded = last_commit(path, before)
    if graded is None:
        return None, None, f"no commit before {before} (not graded)"
    return (*graded, COMMITTER_DATE)


COMMITTER_DATE = "dated before the deadline by its committer"


def match_clones(clones, roster, problems, before=None, snapshot=None):
    """Return {student id: Clone}; report unknown repos, clones without git and duplicates.

    The graded commit is chosen by `choose_commit`; clones graded by their committer dates
    (which students set) are named in one problem."""
    matched, by_committer_date = {}, []
    for path in clones:
        student = roster.student_of(path.name)
        if student is None:
            problems.append(f"unknown repository {path.name}: no roster row matches it (not graded)")
            continue
        # A folder without its own .git would make git read the repository around it.
        if not (path / ".git").exists() or last_commit(path) is None:
            problems.append(f"{path.name} ({student}): not a git clone with commits (not graded)")
            continue
        commit, timestamp, how = choose_commit(path, before, snapshot)
        if commit is None:
            problems.append(f"{path.name} ({student}): {how}")
            continue
        if how == COMMITTER_DATE:
            by_committer_date.append(path.name)
        clone = Clone(path, student, commit, timestamp)
        if student in matched:
            newer, older = sorted([clone, matched[student]], key=lambda c: c.timestamp, reverse=True)
            problems.append(f"{student} has two repositories, {newer.path.name} and "
                            f"{older.path.name}: grading {newer.path.name} (latest commit)")
            clone = newer
        matched[student] = clone
    if by_committer_date:
        problems.append(
            f"{len(by_committer_date)} clones have no record from before {before} (cloned "
            f"later): graded at their last commit dated before it by its committer, a date "
            f"students can set ({', '.join(by_committer_date)}). Take a snapshot at the "
            "deadline (collect --snapshot, README.md) to grade what was pushed by then.")
    for student in roster.students:
        if student not in matched:
            problems.append(f"{student}: no repository found (graded as no submission)")
    return matched


def take_snapshot(repos, manifest):
    """Fetch every clone under ``repos`` and write to ``manifest`` (JSON) the commit each then
    holds (its upstream branch, else HEAD), the time by this machine's clock and the commit's
    own committer date. Run at the deadline; `collect --manifest` then grades exactly those
    commits. Taken again into the same manifest (to collect late work), a clone still at the
    commit recorded keeps the time it was first seen. Returns the problems (clones without
    git, failed fetches)."""
    manifest = Path(manifest)
    try:  # before fetching: at a deadline, a snapshot that cannot be written is lost
        manifest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--snapshot {manifest}: cannot make its folder ({err.strerror}): give "
                         "a path in a folder you can write, e.g. manifests/deadline.json") from None
    if manifest.is_dir():
        raise ValueError(f"--snapshot {manifest} is a folder: give a file in it, e.g. "
                         f"{manifest / 'deadline.json'}")
    earlier = read_snapshot(manifest) if manifest.is_file() else None  # late work: taken again
    problems, entries = [], {}
    for path in find_clones(repos)[0]:
        if not (path / ".git").exists():
            problems.append(f"{path.name}: not a git clone (not in the snapshot)")
            continue
        branch = upstream(path)
        if branch:
            fetch = subprocess.run(["git", "-C", str(path), "fetch", "--quiet",
                                    branch.split("/")[0]], capture_output=True, text=True)
            if fetch.returncode:
                problems.append(f"{path.name}: git fetch failed, recording what it holds: "
                                f"{fetch.stderr.strip()[-300:]}")
        line = (git_output(path, "log", "-1", "--format=%H %cI", branch or "HEAD") or "").split()
        if not line:
            problems.append(f"{path.name}: no commit (not in the snapshot)")
            continue
        entries[path.name] = {"commit": line[0], "ref": branch or "HEAD",
                              "fetched": datetime.now(timezone.utc).isoformat(),
                              "committed": line[1]}
    taken = {"taken": datetime.now(timezone.utc).isoformat(), "repos": str(Path(repos).resolve()),
             "clones": entries}
    manifest.write_text(json.dumps(merge_snapshots(earlier, taken), indent=1) + "\n")
    return problems


def read_snapshot(manifest):
    """A manifest written by `take_snapshot`; ValueError naming the file when it is not one."""
    try:
        snapshot = json.loads(Path(manifest).read_text())
        assert all({"commit", "fetched"} <= set(e) for e in snapshot["clones"].values())
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as err:
        raise ValueError(f"{manifest}: not a snapshot written by collect --snapshot ({err})") from None
    return snapshot


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
    return [a for a in course if any(c.entry(f"assignments/{a.name}") for c in clones)]


def find_notebook(clone, assignment, problems):
    """Return the repo path of a student's notebook in the graded commit, or None after
    reporting what is there instead (a link, a renamed or moved notebook)."""
    expected = f"assignments/{assignment.name}/{assignment.notebook}"
    found = clone.entry(expected)
    if found and found[0] in REGULAR_FILE_MODES:
        return expected
    if found:
        why = (f"{expected} is {describe_mode(found[0])} in the graded commit, not a notebook "
               "(not followed, not graded: commit the notebook itself)")
    else:
        why = missing_notebook(clone, assignment, expected)
    problems.append(f"{clone.path.name} ({clone.student}): {why}")
    return None


def missing_notebook(clone, assignment, expected):
    """Why the notebook ``expected`` is not in the clone's graded commit, in words: a folder
    above it that is a link or a submodule (never followed), else the notebooks found instead
    in the assignment's folder or at the top of the repository (renamed or moved)."""
    folder = f"assignments/{assignment.name}"
    for parent in ("assignments", folder):
        found = clone.entry(parent)
        if found and found[0] not in (FOLDER_MODE, *REGULAR_FILE_MODES):
            return (f"{parent} is {describe_mode(found[0])} in the graded commit (not "
                    f"followed): {expected} is missing")
    try:
        files = clone.files_under(folder)
    except TooLarge as err:
        return f"{expected} is missing, and {err}"
    others = sorted(f for f in files if f.endswith(".ipynb") and ".ipynb_checkpoints" not in f)
    at_top = clone.entry(assignment.notebook)
    if at_top and at_top[0] in REGULAR_FILE_MODES:
        others.append(assignment.notebook)
    found = f"; found {', '.join(others)} (renamed or moved? restore {expected})" if others else ""
    return f"{expected} is missing{found}"


def add_students(course, students):
    """Put every roster student in the gradebook, so the grades CSV lists each of them."""
    with open_gradebook(course.db_url) as gradebook:
        for student in students:
            retrying(lambda: gradebook.update_or_create_student(student))  # noqa: B023


def prepare_assignment(course, assignment, matched, students, problems, force=False,
                       regrade=()):
    """Generate one assignment in the course, put every roster student in its gradebook and
    each committed notebook in submitted/; return (tasks to grade, students kept).

    A student whose gradebook submission has the graded commit's timestamp is kept as graded
    (a rerun after an interruption grades only the rest), unless ``force`` or in ``regrade``.
    """
    from nbgrader.utils import parse_utc

    # The gradebook's tables and course row first, retrying while another grader sharing the
    # database makes them: nbgrader's own commands would fail instead.
    open_gradebook(course.db_url).close()
    course.generate(assignment)
    add_students(course, students)
    for old in course.root.glob(f"submitted/*/{assignment.name}"):
        shutil.rmtree(old)  # a previous run's copy; the clones are the truth
    graded_at = {} if force else graded_timestamps(course.db_url, assignment.name)
    tasks, kept = [], []
    for student, clone in sorted(matched.items()):
        notebook = find_notebook(clone, assignment, problems)
        if not notebook:
            continue
        try:
            content = clone.read(notebook)
        except ValueError as err:
            problems.append(f"{clone.path.name} ({student}): {err} (not graded)")
            continue
        with tempfile.TemporaryDirectory() as scratch:
            committed = Path(scratch) / assignment.notebook
            committed.write_bytes(content)
            course.submit(assignment, student, committed, timestamp=clone.timestamp)
        if (student in graded_at and graded_at[student] == parse_utc(clone.timestamp)
                and student not in regrade):
            kept.append(student)
        else:
            tasks.append(Task(assignment.name, student, content, clone.timestamp))
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


def feedback_obstacle(clone, relative_folders, relative_files):
    """Why feedback cannot be written into ``clone`` without following a link (None: it can):
    each folder must be a plain folder or absent, each file a plain file or absent, in the
    work tree and in the clone's HEAD commit."""
    for path in relative_folders + relative_files:
        wanted = (FOLDER_MODE,) if path in relative_folders else REGULAR_FILE_MODES
        committed = tree_entry(clone.path, "HEAD", path)
        if committed and committed[0] not in wanted:
            return f"{path} is {describe_mode(committed[0])} in the clone's last commit"
        try:
            status = os.lstat(clone.path / path)
        except FileNotFoundError:
            continue
        plain = stat.S_ISDIR if path in relative_folders else stat.S_ISREG
        if not plain(status.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(status.st_mode) else "not a plain " + (
                "folder" if path in relative_folders else "file")
            return f"{path} is {kind} in the clone"
    return None


def return_feedback(course, assignment, clone, problems):
    """Commit a student's feedback page to their clone as feedback/<assignment>/<page>.

    Nothing in the clone is followed: when ``feedback``, ``feedback/<assignment>`` or the
    page is anything but a plain folder or file (a symbolic link a student committed, say),
    nothing is written and the clone is named in ``problems``."""
    pages = sorted(page for page in
                   (course.root / "feedback" / clone.student / assignment.name).glob("*.html")
                   if page.is_file() and not page.is_symlink())
    if not pages:
        return
    folders = ["feedback", f"feedback/{assignment.name}"]
    files = [f"{folders[1]}/{page.name}" for page in pages]
    obstacle = feedback_obstacle(clone, folders, files)
    if obstacle:
        problems.append(f"{clone.path.name} ({clone.student}): feedback for {assignment.name} "
                        f"not returned: {obstacle} (not followed; remove it from the repository)")
        return
    for folder in folders:
        if not (clone.path / folder).is_dir():
            os.mkdir(clone.path / folder)
    for page, relative in zip(pages, files):
        fd = os.open(clone.path / relative, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
                     0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(page.read_bytes())
    git = ["git", "-C", str(clone.path), "-c", "core.hooksPath=/dev/null"]
    added = subprocess.run([*git, "add", "--force", "--", *files], capture_output=True, text=True)
    commit = subprocess.run([*git, "commit", "-q", "-m", f"Feedback for {assignment.name}", "--",
                             *files], capture_output=True, text=True)
    if added.returncode or (commit.returncode and "nothing to commit" not in commit.stdout):
        problems.append(f"{clone.path.name}: could not commit feedback: "
                        f"{(added.stderr + commit.stderr).strip()}")


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
            scheduler=None, db=None, force=False, snapshot=None, sandbox="bwrap", students=(),
            regrade_stale=False, extensions=None):
    """Grade the clones under ``repos``; return (grades CSV path, problems). grades.csv and
    report.txt are written whatever happens, and name every problem; no student's
    submission stops the others'.

    ``workers`` submissions are graded at once on this machine (default: its cores; 1: in
    this process), or on the Dask cluster whose scheduler is at ``scheduler``; ``db`` is the
    gradebook's URL (default: sqlite in ``out``). Raises KeyboardInterrupt after writing the
    report when grading was interrupted: the gradebook keeps those graded so far.

    ``snapshot`` (`read_snapshot`): grade the commits it recorded at the deadline. ``sandbox``
    "bwrap" (the default) refuses to grade without bubblewrap installed; "none" grades
    without it (``--unsafe-no-sandbox``).

    ``students`` (ids, logins or repositories): grade only them, even at the same commit;
    ``regrade_stale``: grade again the results graded before the tests changed
    (autograder/term/regrades.py). Then every step after grading runs
    (autograder/term/refresh.py: late penalties with ``extensions``, default extensions.csv
    beside the roster; names; grades.csv; LMS files; report.html).
    """
    if sandbox == "bwrap" and not shutil.which("bwrap"):
        raise ValueError(NO_BWRAP)
    check_out(out)
    roster = load_roster(roster_file)
    only = chosen_students(roster, students) if students else None
    problems = []
    clones, slugs = find_clones(repos)
    matched = match_clones(clones, roster, problems, before, snapshot)
    assignments = choose_assignments(names, slugs, matched.values())
    if not assignments:
        raise ValueError(f"no course assignment found in the repositories under {repos}")
    # The engine starts (or reaches its scheduler) before anything is written.
    course, seconds, interrupted = None, {}, False
    try:
        with GradingEngine(workers or cpu_count(), scheduler, sandbox) as engine:
            claim_out(out)
            course = ScratchCourse(out, db_url=db)
            enable_feedback_without_hidden_tests(course)
            folder = GradingFolder(course.root, course.db_url)
            plan = plan_regrades(folder, assignments, only, regrade_stale)
            problems += plan.notes
            tasks, kept = [], {}
            for assignment in assignments:
                new, kept[assignment.name] = prepare_assignment(
                    course, assignment, matched, roster.students, problems, force,
                    plan.regrade[assignment.name])
                tasks += plan.tasks(new)
            print(f"grading {len(tasks)} submissions on {engine.describe(len(tasks))}"
                  + (f"; {sum(map(len, kept.values()))} already graded at the same commit are "
                     "kept (--force regrades them)" if any(kept.values()) else ""), file=sys.stderr)
            seconds, interrupted = grade_tasks(course, engine, tasks, problems)
            again = [task for task in tasks if (task.assignment, task.student) in seconds
                     and stopped_from_outside(course, task)]
            if again and not interrupted:
                problems += [f"{t.assignment}: {t.student}'s kernel was stopped by something "
                             "other than its own time limits: graded once more" for t in again]
                more, interrupted = grade_tasks(course, engine, again, problems)
                seconds.update(more)
        for assignment in assignments:
            record_grading(folder, assignment, {s: t for (a, s), t in seconds.items()
                                                if a == assignment.name})
            graded = sorted(kept[assignment.name] + [s for a, s in seconds if a == assignment.name])
            for student in check_feedback(course, assignment, graded, problems):
                if give_back:
                    try:
                        return_feedback(course, assignment, matched[student], problems)
                    except OSError as err:  # one clone's file system never stops the class
                        problems.append(f"{matched[student].path.name}: feedback for "
                                        f"{assignment.name} not returned: {err}")
    except Exception as err:
        problems.append(f"collect stopped early: {type(err).__name__}: {err}")
        raise
    finally:
        if course is not None:
            after = refresh(GradingFolder(course.root, course.db_url), roster_file, extensions,
                            assignments, sandbox)
            grades = write_report(course, assignments, roster.students, seconds, problems,
                                  after + commit_lines(matched))
    if interrupted:
        raise KeyboardInterrupt
    return grades, problems


def stopped_from_outside(course, task):
    """The message of a kernel stop in a graded notebook that its own time limits did not
    cause (``KernelStopped`` from autograder/guarded.py: the kernel died or stopped
    answering; a frozen or killed kernel looks the same), or None."""
    folder = course.root / "autograded" / task.student / task.assignment
    for path in folder.glob("*.ipynb"):
        try:
            cells = read_notebook(path).cells
        except Exception:  # noqa: BLE001  (an unreadable notebook was no kernel stop)
            continue
        for cell in cells:
            for output in cell.get("outputs", []):
                if (output.get("ename") == "KernelStopped"
                        and not re.search(r"time limit|time budget", output.get("evalue", ""))):
                    return output.evalue
    return None


def commit_lines(matched):
    """Lines of the report naming each student's graded commit, its committer date (shown,
    never trusted) and the time it is graded as of."""
    lines = ["", "graded commits (committer dates are the students' own; timestamps are "
             "when this grader saw the commit, where known):"]
    for student, clone in sorted(matched.items()):
        committed = (git_output(clone.path, "log", "-1", "--format=%cI", clone.commit) or "").strip()
        lines.append(f"  {student}: {clone.path.name} {clone.commit[:12]} committed "
                     f"{committed or '?'}, timestamp {clone.timestamp}")
    return lines


def sandbox_line(course):
    """The report's line on how students' code was confined in this run."""
    if course.sandbox != "bwrap":
        return "sandbox bounds: none (--unsafe-no-sandbox: students' code ran with your rights)"
    return bounds_in_force(Sandbox.memory, Sandbox.processes)


def write_report(course, assignments, students, seconds, problems, commits=()):
    """Write grades.csv (nbgrader export) and report.txt, whatever happened before; return
    the grades CSV's path. report.txt names every problem, then lists ``commits``."""
    grades = course.root / "grades.csv"
    grades.unlink(missing_ok=True)  # never a previous run's
    try:
        exported = course.nbgrader("export", f"--to={grades}")
        if exported.returncode != 0:
            problems.append(f"nbgrader export failed:\n{exported.stderr[-3000:]}")
        lines = score_table(course, assignments, students, seconds)
    except Exception as err:  # noqa: BLE001  (a broken gradebook still gets a report)
        problems.append(f"no grades table: {type(err).__name__}: {err}")
        lines = []
    if not grades.is_file():
        with open(grades, "w", newline="") as f:
            csv.writer(f).writerows([["student_id", "problem"],
                                     *[[s, "not exported: see report.txt"] for s in students]])
    lines += ["", f"grades: {grades}", f"feedback: {course.root / 'feedback'}", sandbox_line(course)]
    if problems:
        lines += [""] + [f"! {problem}" for problem in problems]
    lines += list(commits)
    (course.root / "report.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return grades


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", help="folder of cloned student repositories")
    parser.add_argument("--roster", help="CSV: student_id, repo and/or github_username (required "
                                          "to grade)")
    parser.add_argument("--out", help="nbgrader course folder for the grading (required to grade)")
    parser.add_argument("--assignment", action="append", default=[], metavar="NAME",
                        help="grade this assignment (repeatable)")
    parser.add_argument("--before", metavar="DATE",
                        help="grade the commit each clone held at DATE (ISO 8601, e.g. "
                             "2026-12-01T23:59+01:00) by its reflog; a clone made later is "
                             "graded by committer dates, which students set: prefer --manifest")
    parser.add_argument("--snapshot", metavar="MANIFEST",
                        help="grade nothing: fetch every clone and record in MANIFEST the commit "
                             "it holds now and this machine's time (run it at the deadline)")
    parser.add_argument("--manifest", metavar="MANIFEST",
                        help="grade exactly the commits a --snapshot recorded in MANIFEST")
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
    parser.add_argument("--student", action="append", default=[], metavar="LOGIN",
                        help="grade only this student (id, GitHub login or repository), even "
                             "at the same commit (repeatable)")
    parser.add_argument("--regrade-stale", action="store_true",
                        help="regrade the results graded before the tests or the course "
                             "changed (collect names them)")
    parser.add_argument("--extensions", metavar="CSV",
                        help="extensions: student_id, assignment, days (default: "
                             "extensions.csv beside the roster)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="grade without bubblewrap: students' code then runs with your "
                             "rights and can read the hidden tests, solutions and other "
                             "students' work, change grades, the repository and the venv, and "
                             "reach the network. Only for notebooks you trust")
    args = parser.parse_args(argv)
    if args.snapshot:
        try:
            problems = take_snapshot(args.repos, args.snapshot)
        except (ValueError, FileNotFoundError) as err:
            sys.exit(f"error: {err}")
        print("\n".join([f"snapshot: {args.snapshot}", *[f"! {p}" for p in problems]]))
        return 0
    if not (args.roster and args.out):
        parser.error("grading needs --roster and --out")
    if args.manifest and args.before:
        parser.error("--manifest already fixes each clone's commit: leave out --before")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    from sqlalchemy.exc import SAWarning

    # nbgrader's gradebook warns of its own session bookkeeping on each new submission:
    # harmless, and it would break into the progress bar.
    warnings.filterwarnings("ignore", category=SAWarning)
    try:
        snapshot = read_snapshot(args.manifest) if args.manifest else None
        collect(args.repos, args.roster, args.out, args.assignment, args.return_feedback,
                args.before, args.workers, args.scheduler, args.db, args.force, snapshot,
                "none" if args.unsafe_no_sandbox else "bwrap", args.student, args.regrade_stale,
                args.extensions)
    except (KeyError, ValueError, RuntimeError, FileNotFoundError) as err:
        sys.exit(f"error: {err.args[0] if isinstance(err, KeyError) else err}")
    except KeyboardInterrupt:
        print("interrupted: the gradebook keeps every student graded so far; run the same "
              "command again to grade the rest (report.txt names them)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
