"""From the export to grades: student repos made with git, the public check the workflow runs,
collection, autograding with hidden tests, feedback without hidden test code, a grades CSV."""

import base64
import codecs
import csv
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
import yaml

from autograder import collect
from autograder.export import main as export_main
from autograder.feedback import (
    REDACTED, HideHiddenTests, RedactSecrets, active_content, check_feedback, feedback_config,
    hidden_test_leaks, html_text, student_code,
)
from autograder.grading import (
    apply_mutant, fill_solutions, get_assignment, load_mutants, read_notebook,
)
from autograder.roster import Roster, load_roster
from conftest import ASSIGNMENT_IDS

END_TO_END = "00_setup"  # the fastest assignment; the pipeline is the same for every one
DEADLINE = "2026-12-01T23:59:00+00:00"
GIT_ENV = {"GIT_AUTHOR_NAME": "Student", "GIT_AUTHOR_EMAIL": "student@example.org",
           "GIT_COMMITTER_NAME": "Student", "GIT_COMMITTER_EMAIL": "student@example.org"}


def git(repo, *args, date=None, input=None):
    env = {**os.environ, **GIT_ENV}
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, input=input,
                          capture_output=True, text=True).stdout


def make_student_repo(template, path, notebook_edit=None, date="2026-11-20T18:30:00+01:00"):
    """A student's clone: the export as a git repo, the student's work in a later commit."""
    shutil.copytree(template, path)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "Course release", date="2026-11-01T09:00:00+00:00")
    if notebook_edit:
        notebook_edit(path)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "My answers", date=date)
    return path


def public_tests(nb):
    """{grade_id: points} of the test cells that keep code in the release (the public tests)."""
    return {c.metadata.nbgrader.grade_id: c.metadata.nbgrader.points for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
            and any(line.strip() and not line.strip().startswith("#") for line in c.source.splitlines())}


# ------------------------------------------------------------------------ fast unit tests

def write_roster(path, header, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def test_roster_matches_repo_names_and_classroom_logins(tmp_path):
    roster = load_roster(write_roster(tmp_path / "roster.csv",
        ["identifier", "github_username", "repo"],
        [["s1", "bob", ""], ["s2", "Jim-Bob", ""], ["s3", "", "Carols-Fork"]]))
    assert roster.student_of("rnn-course-bob") == "s1"
    assert roster.student_of("rnn-course-jim-bob") == "s2"  # the longer login wins
    assert roster.student_of("jim-bob") == "s2"
    assert roster.student_of("carols-fork") == "s3"
    assert roster.student_of("rnn-course-mallory") is None


@pytest.mark.parametrize("header,rows,problem", [
    (["name", "email"], [["a", "b"]], "needs a student_id"),
    (["student_id", "repo"], [["s1", ""]], "line 2: s1 has neither"),
    (["student_id", "repo"], [["a/b", "x"]], "line 2: student id 'a/b'"),
])
def test_bad_roster_is_named_with_its_problem(tmp_path, header, rows, problem):
    with pytest.raises(ValueError, match=problem):
        load_roster(write_roster(tmp_path / "roster.csv", header, rows))


def test_clones_are_found_in_classroom_and_plain_layouts(tmp_path):
    for layout in ("rnn-course-submissions/rnn-course-alice", "rnn-course-submissions/rnn-course-bob",
                   "plain/alice-clone", "plain/bob-clone"):
        (tmp_path / layout).mkdir(parents=True)
    clones, slugs = collect.find_clones(tmp_path)
    assert [c.name for c in clones] == ["rnn-course-alice", "rnn-course-bob"] and slugs == ["rnn-course"]
    clones, slugs = collect.find_clones(tmp_path / "rnn-course-submissions")
    assert [c.name for c in clones] == ["rnn-course-alice", "rnn-course-bob"] and slugs == ["rnn-course"]
    clones, slugs = collect.find_clones(tmp_path / "plain")
    assert [c.name for c in clones] == ["alice-clone", "bob-clone"] and slugs == []


def test_graded_commit_is_the_last_one_or_the_last_before_the_deadline(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    for text, date in (("on time", "2026-11-20T18:30:05+01:00"), ("late", "2026-12-02T10:00:00+00:00")):
        (repo / "a.txt").write_text(text)
        git(repo, "add", "a.txt")
        git(repo, "commit", "-q", "-m", text, date=date)
    commit, timestamp = collect.last_commit(repo)
    assert timestamp == "2026-12-02 10:00:00.000000 UTC"
    commit, timestamp = collect.last_commit(repo, before="2026-12-01T23:59:00+00:00")
    assert timestamp == "2026-11-20 17:30:05.000000 UTC"
    assert collect.Clone(repo, "s", commit).read("a.txt") == b"on time"
    assert collect.last_commit(repo, before="2026-01-01") is None
    (tmp_path / "no-git").mkdir()
    assert collect.last_commit(tmp_path / "no-git") is None


def test_deadlines_come_from_when_the_grader_saw_a_commit_not_from_its_date(tmp_path):
    student = tmp_path / "student"  # the student's repository on GitHub
    student.mkdir()
    git(student, "init", "-q", "-b", "main")
    (student / "a.txt").write_text("on time")
    git(student, "add", "a.txt")
    git(student, "commit", "-q", "-m", "on time", date="2026-11-20T18:30:00+01:00")
    clones = tmp_path / "clones"
    clones.mkdir()
    subprocess.run(["git", "clone", "-q", str(student), str(clones / "rnn-course-ann")], check=True)
    clone = clones / "rnn-course-ann"
    on_time = git(clone, "rev-parse", "HEAD").strip()
    assert collect.take_snapshot(clones, tmp_path / "manifest.json") == []
    snapshot = collect.read_snapshot(tmp_path / "manifest.json")
    time.sleep(1.1)
    deadline = datetime.now(timezone.utc).isoformat()
    time.sleep(1.1)
    # After the deadline: late work, back-dated by its committer, pushed and pulled.
    (student / "a.txt").write_text("late")
    git(student, "commit", "-q", "-am", "late", date="2026-01-01T00:00:00Z")
    git(clone, "pull", "-q")
    late = git(clone, "rev-parse", "HEAD").strip()
    assert collect.choose_commit(clone)[0] == late  # no deadline: the last commit
    commit, timestamp, how = collect.choose_commit(clone, snapshot=snapshot)
    assert (commit, timestamp[:16]) == (on_time, collect.nbgrader_time(
        datetime.fromisoformat(snapshot["clones"]["rnn-course-ann"]["fetched"]))[:16])
    assert collect.choose_commit(clone, before=deadline)[0] == on_time  # by the reflog
    # A clone made after the deadline has no record from before it: committer dates decide,
    # and the report says so.
    subprocess.run(["git", "clone", "-q", str(student), str(clones / "rnn-course-ben")], check=True)
    problems = []
    roster = Roster(by_login={"ann": "ann", "ben": "ben"}, students=["ann", "ben"])
    matched = collect.match_clones(sorted(clones.iterdir()), roster, problems, before=deadline)
    assert matched["ann"].commit == on_time and matched["ben"].commit == late
    assert len(problems) == 1 and "(rnn-course-ben)" in problems[0] and "--snapshot" in problems[0]
    assert collect.match_clones(sorted(clones.iterdir()), roster, [], snapshot=snapshot)[
        "ann"].commit == on_time


def test_grading_without_bubblewrap_is_refused_unless_asked_for(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(collect.shutil, "which", lambda name: None)
    roster = write_roster(tmp_path / "roster.csv", ["student_id", "repo"], [["s1", "r1"]])
    with pytest.raises(SystemExit, match="bubblewrap"):
        collect.main([str(tmp_path), "--roster", str(roster), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit, match="no course assignment found"):  # past the check
        collect.main([str(tmp_path), "--roster", str(roster), "--out", str(tmp_path / "out"),
                      "--unsafe-no-sandbox"])


def run_collect_into(out, tmp_path):
    """collect.main on an empty class with grading folder ``out``; returns the SystemExit.
    Past the folder checks it stops at "no course assignment found", before writing."""
    roster = write_roster(tmp_path / "roster.csv", ["student_id", "repo"], [["s1", "r1"]])
    (tmp_path / "clones").mkdir(exist_ok=True)
    with pytest.raises(SystemExit) as stopped:
        collect.main([str(tmp_path / "clones"), "--roster", str(roster), "--out", str(out),
                      "--unsafe-no-sandbox"])
    return str(stopped.value.code)


@pytest.mark.parametrize("out,message", [
    (lambda tmp: collect.ROOT, "is inside the course repository"),  # --out . from the course
    (lambda tmp: collect.ROOT / "grading", "is inside the course repository"),
    (lambda tmp: tmp / "work-tree" / "grading", "is inside the git work tree"),
    (lambda tmp: tmp / "notes", "holds files that collect did not write (plan.md)"),
    (lambda tmp: tmp / "notes" / "plan.md", "is a file: give a folder"),
], ids=["course", "in-course", "in-work-tree", "not-collects", "file"])
def test_collect_refuses_a_grading_folder_where_it_could_damage_something(
        tmp_path, out, message):
    (tmp_path / "work-tree").mkdir()
    git(tmp_path / "work-tree", "init", "-q")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "plan.md").write_text("my plan")
    out = out(tmp_path)
    existed = out.exists()
    error = run_collect_into(out, tmp_path)
    assert message in error and f"e.g. {collect.SUGGESTED_OUT}" in error, error
    assert out.exists() == existed and (tmp_path / "notes" / "plan.md").read_text() == "my plan"


def test_collect_writes_into_a_new_empty_or_its_own_grading_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "new" / "grading", tmp_path / "empty"):
        assert "no course assignment found" in run_collect_into(out, tmp_path)
    collect.claim_out(tmp_path / "grading")
    (tmp_path / "grading" / "gradebook.db").write_text("")
    collect.check_out(tmp_path / "grading")  # a rerun: collect made it
    (tmp_path / "grading" / collect.GRADING_MARKER).unlink()
    with pytest.raises(ValueError, match=f"create an empty {collect.GRADING_MARKER} file"):
        collect.check_out(tmp_path / "grading")


def test_a_snapshot_makes_its_manifests_folder(tmp_path):
    (tmp_path / "clones").mkdir()
    manifest = tmp_path / "manifests" / "01" / "deadline.json"
    assert collect.main([str(tmp_path / "clones"), "--snapshot", str(manifest)]) == 0
    assert collect.read_snapshot(manifest)["clones"] == {}
    with pytest.raises(SystemExit, match="is a folder: give a file in it"):
        collect.main([str(tmp_path / "clones"), "--snapshot", str(manifest.parent)])


@pytest.mark.parametrize("message,regraded", [
    ("the kernel died while running cell 4: os._exit, a crash, more memory than ...", True),
    ("the kernel stopped answering (TimeoutError) while running cell 4: ...", True),
    ("a cell ran past the 30s time limit and ignored the interrupt, so the kernel was stopped",
     False),
])
def test_only_kernels_stopped_by_something_other_than_their_own_limits_are_regraded(
        tmp_path, message, regraded):
    folder = tmp_path / "autograded" / "ann" / "00_setup"
    folder.mkdir(parents=True)
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.outputs = [nbformat.v4.new_output("error", ename="KernelStopped", evalue=message,
                                           traceback=[])]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), str(folder / "setup.ipynb"))
    course = type("Course", (), {"root": tmp_path})
    task = type("Task", (), {"student": "ann", "assignment": "00_setup"})
    assert collect.stopped_from_outside(course, task) == (message if regraded else None)


def test_a_folder_that_is_not_a_clone_is_reported_even_inside_a_repository(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("a")
    git(tmp_path, "add", "a.txt")
    git(tmp_path, "commit", "-q", "-m", "the instructor's own repository")
    (tmp_path / "clones" / "rnn-course-bob").mkdir(parents=True)
    roster = Roster(by_login={"bob": "bob"}, students=["bob"])
    problems = []
    assert collect.match_clones([tmp_path / "clones" / "rnn-course-bob"], roster, problems) == {}
    assert problems == ["rnn-course-bob (bob): not a git clone with commits (not graded)",
                        "bob: no repository found (graded as no submission)"]


def test_missing_and_renamed_notebooks_are_reported_by_name(tmp_path):
    assignment = get_assignment(ASSIGNMENT_IDS[0])
    folder = f"assignments/{assignment.name}"
    repo = repo_with_links(tmp_path / "rnn-course-dave", {}, files=[
        f"{folder}/Copy of {assignment.notebook}", assignment.notebook, f"{folder}/data.csv"])
    clone = collect.Clone(repo, "dave", git(repo, "rev-parse", "HEAD").strip())
    problems = []
    assert collect.find_notebook(clone, assignment, problems) is None
    assert problems == [
        f"rnn-course-dave (dave): {folder}/{assignment.notebook} is missing; "
        f"found {folder}/Copy of {assignment.notebook}, {assignment.notebook} (renamed or "
        f"moved? restore {folder}/{assignment.notebook})"]


def repo_with_links(path, links, files=()):
    """A git repo whose one commit holds ``links`` ({path: target}) and ``files``."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    for name in files:
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text("{}")
    for name, target in links.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path / name)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "links")
    return path


def test_committed_symbolic_links_are_reported_never_followed(tmp_path):
    assignment = get_assignment(ASSIGNMENT_IDS[0])
    notebook = f"assignments/{assignment.name}/{assignment.notebook}"
    secret = tmp_path / "instructor-secret.txt"
    secret.write_text("hidden tests")
    roster = Roster(by_login={"ann": "ann", "ben": "ben"}, students=["ann", "ben"])
    repos = [repo_with_links(tmp_path / "rnn-course-ann", {notebook: str(secret)}),
             repo_with_links(tmp_path / "rnn-course-ben",
                             {f"assignments/{assignment.name}": str(tmp_path)})]
    problems = []
    matched = collect.match_clones(repos, roster, problems)
    assert collect.find_notebook(matched["ann"], assignment, problems) is None
    assert collect.find_notebook(matched["ben"], assignment, problems) is None
    assert problems == [
        f"rnn-course-ann (ann): {notebook} is a symbolic link in the graded commit, not a "
        "notebook (not followed, not graded: commit the notebook itself)",
        f"rnn-course-ben (ben): assignments/{assignment.name} is a symbolic link in the graded "
        f"commit (not followed): {notebook} is missing"]
    with pytest.raises(ValueError, match="is a symbolic link"):
        matched["ann"].read(notebook)


def mktree(repo, entries):
    """Write a git tree of ``entries`` ({name: (mode, object id)}); return its id."""
    lines = "".join(f"{mode} {'tree' if mode == collect.FOLDER_MODE else 'blob'} {obj}\t{name}\n"
                    for name, (mode, obj) in entries.items())
    return git(repo, "mktree", input=lines).strip()


def git_bomb(repo, levels, width=10):
    """A folder of ``width ** levels`` paths in ``levels + 1`` objects: each folder holds
    ``width`` copies of the one below (a git bomb). Returns its tree id."""
    blob = git(repo, "hash-object", "-w", "--stdin", input="boom\n").strip()
    tree = mktree(repo, {f"f{i}": ("100644", blob) for i in range(width)})
    for _ in range(levels - 1):
        tree = mktree(repo, {f"d{i}": (collect.FOLDER_MODE, tree) for i in range(width)})
    return tree


def with_entries(repo, tree, changes):
    """The id of ``tree`` with ``changes`` ({path: folder tree id, or None to remove the
    entry}) made, written with git's plumbing: nothing is checked out, so a bomb stays tiny."""
    entries = {}
    for line in filter(None, git(repo, "ls-tree", "-z", tree).split("\0")):
        info, name = line.split("\t", 1)
        mode, _, obj = info.split()
        entries[name] = (mode, obj)
    below = {}
    for path, change in changes.items():
        name, _, rest = path.partition("/")
        if rest:
            below.setdefault(name, {})[rest] = change
        elif change is None:
            entries.pop(name, None)
        else:
            entries[name] = (collect.FOLDER_MODE, change)
    for name, sub in below.items():
        inside = entries[name][1] if name in entries else mktree(repo, {})
        entries[name] = (collect.FOLDER_MODE, with_entries(repo, inside, sub))
    return mktree(repo, entries)


def commit_entries(repo, changes, message="My answers"):
    """Commit ``changes`` (`with_entries`) on the repo's branch without touching its work
    tree; return the commit's hash."""
    tree = with_entries(repo, git(repo, "rev-parse", "HEAD^{tree}").strip(), changes)
    commit = git(repo, "commit-tree", tree, "-p", "HEAD", "-m", message).strip()
    git(repo, "update-ref", "HEAD", commit)
    return commit


def test_collect_reads_only_the_entries_it_needs_of_a_git_bomb(tmp_path):
    assignment = get_assignment(ASSIGNMENT_IDS[0])
    folder = f"assignments/{assignment.name}"
    notebook = f"{folder}/{assignment.notebook}"
    repo = repo_with_links(tmp_path / "rnn-course-ann", {}, files=[notebook])
    bomb = git_bomb(repo, levels=5)  # 10^5 paths: 7 MiB of listing, over the caps
    beside = commit_entries(repo, {"bomb": bomb, f"{folder}/bomb": bomb})
    clone = collect.Clone(repo, "ann", beside)
    assert collect.choose_assignments([], [], [clone]) == [assignment]
    assert collect.find_notebook(clone, assignment, []) == notebook
    assert clone.read(notebook) == b"{}"
    instead = commit_entries(repo, {notebook: None})
    problems = []
    tracemalloc.start()
    try:
        assert collect.find_notebook(collect.Clone(repo, "ann", instead), assignment,
                                     problems) is None
        held = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert held < 16 * 2**20, f"looking for the notebook held {held / 2**20:.0f} MiB"
    assert problems == [
        f"rnn-course-ann (ann): {notebook} is missing, and {folder} in commit {instead[:12]} "
        "holds more than collect reads of a folder (10000 entries, 2 MiB of names): not read "
        "further"]


@pytest.mark.parametrize("link", ["feedback", "feedback/{name}", "feedback/{name}/{page}"])
def test_feedback_is_never_written_through_a_symbolic_link(tmp_path, link):
    assignment = get_assignment(ASSIGNMENT_IDS[0])
    page = Path(assignment.notebook).with_suffix(".html").name
    course = type("Course", (), {"root": tmp_path / "grading"})
    (course.root / "feedback" / "ann" / assignment.name).mkdir(parents=True)
    (course.root / "feedback" / "ann" / assignment.name / page).write_text("<p>5/5</p>")
    outside = tmp_path / "outside"
    outside.mkdir()
    link = link.format(name=assignment.name, page=page)
    parents = [f"feedback/{assignment.name}"] if link.count("/") == 2 else []
    repo = repo_with_links(tmp_path / "rnn-course-ann", {link: str(outside)},
                           files=[f"{p}/keep.txt" for p in parents])
    clone = collect.Clone(repo, "ann", git(repo, "rev-parse", "HEAD").strip())
    problems = []
    collect.return_feedback(course, assignment, clone, problems)
    assert list(outside.iterdir()) == [] and len(problems) == 1, problems
    assert f"{link} is a symbolic link" in problems[0] and "not returned" in problems[0]
    assert git(repo, "log", "--format=%s").split("\n")[0] == "links"


def test_feedback_is_committed_to_a_plain_clone(tmp_path):
    assignment = get_assignment(ASSIGNMENT_IDS[0])
    page = Path(assignment.notebook).with_suffix(".html").name
    course = type("Course", (), {"root": tmp_path / "grading"})
    (course.root / "feedback" / "ann" / assignment.name).mkdir(parents=True)
    (course.root / "feedback" / "ann" / assignment.name / page).write_text("<p>5/5</p>")
    repo = repo_with_links(tmp_path / "rnn-course-ann", {}, files=[".gitignore"])
    (repo / ".gitignore").write_text("feedback/\n")  # a student's ignore rule changes nothing
    clone = collect.Clone(repo, "ann", git(repo, "rev-parse", "HEAD").strip())
    problems = []
    with pytest.MonkeyPatch.context() as patch:
        for name, value in GIT_ENV.items():
            patch.setenv(name, value)
        collect.return_feedback(course, assignment, clone, problems)
    assert problems == []
    assert git(repo, "show", f"HEAD:feedback/{assignment.name}/{page}") == "<p>5/5</p>"


def test_feedback_preprocessor_hides_hidden_code_and_tracebacks():
    cell = nbformat.v4.new_code_cell(
        "# Hidden tests: values.\n### BEGIN HIDDEN TESTS\nsecret = 41\nassert f(1) == secret\n"
        "### END HIDDEN TESTS")
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="f(1) is 2, expected 41",
                                           traceback=["assert f(1) == secret"])]
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert cell.source == "# Hidden tests: values.\n# (hidden tests: 2 lines not shown; their result is below)"
    assert cell.outputs[0].traceback[0] == "AssertionError: f(1) is 2, expected 41"
    assert "secret" not in str(cell.outputs)


GRADEBOOK_PREPROCESSORS = ("nbgrader.preprocessors.GetGrades",
                           "autograder.feedback.AwaitingHandGrading")  # they read a gradebook


def render_feedback(nb, config_lines, tmp_path, assignment="00_setup"):
    """Write ``nb`` as nbgrader's generate_feedback would (its template and exporter) with
    ``config_lines`` of nbgrader configuration; return the page's path."""
    import nbgrader
    from nbconvert.exporters import HTMLExporter
    from traitlets.config import Config
    from traitlets.utils.importstring import import_item

    templates = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    config = Config()
    exec("\n".join(config_lines), {"c": config})  # noqa: S102  (the lines collect writes)
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [str(templates / "templates")]
    config.HTMLExporter.extra_template_paths = [
        str(templates / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    exporter = HTMLExporter(config=config)
    for name in config.GenerateFeedback.get("preprocessors", []):
        if name not in GRADEBOOK_PREPROCESSORS:
            exporter.register_preprocessor(import_item(name)(config=config), enabled=True)
    resources = {"nbgrader": {"notebook": "setup", "assignment": assignment, "score": 1,
                              "max_score": 2, "late_penalty": 0}}
    page = tmp_path / "page.html"
    page.write_text(exporter.from_notebook_node(nb, resources=resources)[0])
    return page


def display(data, metadata=None):
    return nbformat.v4.new_output("display_data", data=data, metadata=metadata or {})


def hostile_outputs_notebook():
    """A notebook whose cells and outputs try every way to run script in a feedback page."""
    markdown = nbformat.v4.new_markdown_cell(
        "# Answer $x^2$ <script>alert(1)</script> [link](javascript:alert(2))\n"
        "<img src=x onerror=alert(3)> <iframe src='https://evil.example'></iframe>")
    code = nbformat.v4.new_code_cell("show()")
    code.outputs = [
        display({"text/html": "<table><tr><td onclick=alert(4)>kept</td></tr></table>"
                              "<script>alert(5)</script><svg><script>alert(6)</script></svg>"
                              "<a href=' javascript:alert(7)'>a</a><form action=x></form>",
                 "text/plain": "table"}, {"text/html": {"isolated": True}}),
        display({"application/javascript": "alert(8)"}),
        display({"image/svg+xml": "<svg onload=alert(9)></svg>", "text/plain": "<Figure>"}),
        display({"image/png": 'AAAA"><script>alert(10)</script>'}),
        display({"image/png": "iVBORw0KGgo="}, {"image/png": {"width": "1 onload=alert(11)"}}),
        display({"text/markdown": "<script>alert(12)</script>\n\n**bold**"}),
        display({"application/vnd.jupyter.widget-view+json": {"model_id": "x"}}),
        nbformat.v4.new_output("stream", name="stdout", text="<script>alert(13)</script>"),
    ]
    code.metadata["tags"] = ['"><script>alert(14)</script>']
    code.execution_count = 1
    nb = nbformat.v4.new_notebook(cells=[markdown, code])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"x": "</script><script>alert(15)</script>"}, "version_major": 2,
        "version_minor": 0}}
    return nb


def test_feedback_pages_run_nothing_that_a_student_wrote(tmp_path):
    unsafe = render_feedback(hostile_outputs_notebook(), [], tmp_path)
    assert len(active_content(unsafe)) >= 5, "the page check must see what nbconvert lets through"
    page = render_feedback(hostile_outputs_notebook(), feedback_config({}), tmp_path)
    assert active_content(page) == []
    text = page.read_text()
    body = text.split("<body>", 1)[1].lower()
    assert not [word for word in ("<script", "onerror", "onclick", "onload", "javascript:",
                                  "<iframe", "<form", "isolated") if word in body]
    assert "<td>kept</td>" in text and "<strong>bold</strong>" in text, "formatting is kept"
    assert "MathJax" in text.split("<body>")[0], "the course's own page chrome is kept"
    assert "(a application/javascript output is not shown)" in html_text(page)


@pytest.mark.parametrize("encode", [
    lambda s: s, lambda s: "  ".join(s.split(" ")), lambda s: s[::-1],
    lambda s: codecs.encode(s, "rot13"),
    lambda s: base64.b64encode(("x" * 7 + s + "\n").encode()).decode(),
    lambda s: base64.encodebytes(("yy" + s).encode()).decode(),
], ids=["plain", "spaced", "reversed", "rot13", "base64", "base64-wrapped"])
def test_outputs_showing_a_hidden_line_are_redacted_in_any_encoding(tmp_path, encode):
    hidden = "assert softmax(z_hidden)[0, 2] == 0.125"
    test_cell = nbformat.v4.new_code_cell(f"### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS")
    test_cell.metadata["nbgrader"] = {"grade": True, "grade_id": "softmax_hidden", "points": 1, "score": 0,
                                      "locked": True, "solution": False}
    test_cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=encode(hidden)),
                         nbformat.v4.new_output("error", ename="AssertionError",
                                                evalue="softmax is wrong", traceback=[hidden])]
    later = nbformat.v4.new_code_cell("print(stolen)")
    later.outputs = [display({"text/plain": encode(hidden)}),
                     nbformat.v4.new_output("stream", name="stdout", text="loss 0.125\n")]
    nb = nbformat.v4.new_notebook(cells=[test_cell, later])
    page = render_feedback(nb, feedback_config({"00_setup": [hidden]}), tmp_path)
    text = html_text(page)
    assert text.count(REDACTED) == 2 and "loss 0.125" in text
    assert "AssertionError: softmax is wrong" in text
    assert encode(hidden).strip() not in text and "z_hidden" not in text


def test_a_traceback_quoting_the_students_own_solution_line_is_shown():
    solution_line = "shifted = z - np.max(z, axis=0, keepdims=True)"
    cell = nbformat.v4.new_code_cell(f"def softmax(z):\n    {solution_line}\n    return shifted")
    cell.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="bad shape",
                                           traceback=[f"---> 2     {solution_line}"])]
    redact = RedactSecrets(secrets={"00_setup": [solution_line]})
    nb, _ = redact.preprocess(nbformat.v4.new_notebook(cells=[cell]),
                              {"nbgrader": {"assignment": "00_setup"}})
    assert nb.cells[0].outputs[0].ename == "ValueError"
    cell.source = "softmax(x)"  # the same traceback from a cell that does not hold the line
    cell.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="bad shape",
                                           traceback=[f"---> 2     {solution_line}"])]
    nb, _ = redact.preprocess(nbformat.v4.new_notebook(cells=[cell]),
                              {"nbgrader": {"assignment": "00_setup"}})
    assert nb.cells[0].outputs[0].text == REDACTED + "\n"


def test_redaction_without_configured_secrets_uses_the_notebooks_own_hidden_lines():
    hidden = "assert softmax(z_hidden)[0, 2] == 0.125"
    cell = nbformat.v4.new_code_cell(f"### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=hidden[::-1])]
    nb, _ = RedactSecrets().preprocess(nbformat.v4.new_notebook(cells=[cell]),
                                       {"nbgrader": {"assignment": "other"}})
    assert nb.cells[0].outputs[0].text == REDACTED + "\n"


def test_student_markup_keeps_no_class_id_or_style_that_could_pass_for_the_page(tmp_path):
    lookalike = ('<div class="alert alert-danger" id="score" style="position:fixed;top:0">'
                 'Plagiarism detected: <a href="https://example.org/login">log in</a></div>')
    markdown = nbformat.v4.new_markdown_cell(f"# My answer\n\n{lookalike}")
    code = nbformat.v4.new_code_cell("show_notice()")
    code.outputs = [display({"text/html": lookalike, "text/plain": "notice"}),
                    display({"text/markdown": lookalike})]
    page = render_feedback(nbformat.v4.new_notebook(cells=[markdown, code]),
                           feedback_config({}), tmp_path)
    body = page.read_text().split("<body>", 1)[1]
    assert not [kept for kept in ("alert", 'id="score"', "position:fixed", 'id="My-answer"')
                if kept in body], "a student's class, id or style reached the page"
    assert html_text(page).count("Plagiarism detected: log in") == 3, "shown as plain text"
    assert 'class="panel' in body, "the page's own markup keeps its classes"


# A natural line of a student's 06 answer that a hidden test also holds.
OWN_LINE = "self.rnn_layers = [layer_type(hidden_size, return_sequences=True)"


def notebook_with_hidden_line(*others):
    """A source notebook whose hidden test holds OWN_LINE and the lines ``others``."""
    hidden = "\n".join([OWN_LINE, *others])
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS")])


def students_notebook(source):
    """A submission whose one answer cell holds ``source``."""
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": "model", "locked": False,
                                 "solution": True}
    return nbformat.v4.new_notebook(cells=[cell])


def test_a_line_the_student_wrote_is_no_leak_though_a_hidden_test_holds_it(tmp_path):
    source = notebook_with_hidden_line("assert model.count_params() == 14_720")
    page = tmp_path / "page.html"
    page.write_text(f"<pre>{OWN_LINE}]</pre><pre>assert model.count_params() == 14_720</pre>")
    own = student_code(students_notebook(f"def build(self):\n    {OWN_LINE}]"))
    assert hidden_test_leaks(page, source, own) == ["assert model.count_params() == 14_720"]
    assert hidden_test_leaks(page, source) == [OWN_LINE, "assert model.count_params() == 14_720"]


def test_collect_keeps_the_page_of_a_student_whose_own_line_a_hidden_test_holds(tmp_path):
    source = tmp_path / "source.ipynb"
    nbformat.write(notebook_with_hidden_line(), str(source))
    assignment = type("Assignment", (), {"name": "06_tf_char_rnn", "notebook": "rnn.ipynb",
                                         "source_notebook": source})
    course = type("Course", (), {"root": tmp_path / "grading"})
    for student, answer in (("ann", f"{OWN_LINE}]"), ("ben", "self.rnn_layers = []")):
        submitted = course.root / "submitted" / student / assignment.name / "rnn.ipynb"
        submitted.parent.mkdir(parents=True)
        nbformat.write(students_notebook(answer), str(submitted))
        page = course.root / "feedback" / student / assignment.name / "rnn.html"
        page.parent.mkdir(parents=True)
        page.write_text(f"<html><body><pre>{OWN_LINE}]</pre></body></html>")
    problems = []
    assert check_feedback(course, assignment, ["ann", "ben"], problems) == ["ann"]
    assert problems == [f"06_tf_char_rnn: ben's feedback feedback/ben/06_tf_char_rnn/rnn.html "
                        f"deleted: it shows hidden test code ({OWN_LINE[:60]!r})"]


def test_outputs_showing_the_students_own_line_are_not_redacted():
    printed = nbformat.v4.new_output("stream", name="stdout", text=f"{OWN_LINE}]\n")
    answer = students_notebook(f"{OWN_LINE}]\nprint(inspect.getsource(build))")
    answer.cells[0].outputs = [printed]
    other = students_notebook("print(stolen)")
    other.cells[0].outputs = [printed]
    redact = RedactSecrets(secrets={"06_tf_char_rnn": [OWN_LINE]})
    resources = {"nbgrader": {"assignment": "06_tf_char_rnn"}}
    assert redact.preprocess(answer, resources)[0].cells[0].outputs[0].text == f"{OWN_LINE}]\n"
    assert redact.preprocess(other, resources)[0].cells[0].outputs[0].text == REDACTED + "\n"


# ------------------------------------------------------------------------------ end to end

@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """Export, then the student repos as `gh classroom clone student-repos` lays them out."""
    assignment = get_assignment(END_TO_END)
    root = tmp_path_factory.mktemp("classroom")
    assert export_main([str(root / "export"), "--assignment", assignment.name]) == 0
    template = root / "export"
    release = read_notebook(template / "assignments" / assignment.name / assignment.notebook)
    reference = fill_solutions(release, read_notebook(assignment.source_notebook))
    mutant = load_mutants(assignment)[0]
    notebook = Path("assignments") / assignment.name / assignment.notebook

    def answer(nb):
        return lambda repo: nbformat.write(nb, str(repo / notebook))

    def rename(repo):
        (repo / notebook).rename(repo / notebook.with_name("my " + assignment.notebook))

    submissions = root / "repos" / "rnn-course-submissions"
    repos = {
        "correct": make_student_repo(template, submissions / "rnn-course-alice-gh", answer(reference)),
        "blank": make_student_repo(template, submissions / "rnn-course-bob"),
        "partial": make_student_repo(template, submissions / "rnn-course-carol",
                                     answer(apply_mutant(reference, mutant)), date="2026-11-21T08:00:00Z"),
        "renamed": make_student_repo(template, submissions / "rnn-course-dave", rename),
        "unknown": make_student_repo(template, submissions / "rnn-course-mallory", answer(reference)),
        "late": make_student_repo(template, submissions / "rnn-course-frank", answer(reference),
                                  date="2026-11-30T12:00:00Z"),
    }
    # After the deadline frank commits a blank notebook, then deletes it without committing:
    # neither counts.
    answer(release)(repos["late"])
    git(repos["late"], "commit", "-q", "-am", "Oops", date="2026-12-02T10:00:00Z")
    (repos["late"] / notebook).unlink()
    roster = write_roster(root / "roster.csv", ["student_id", "github_username", "repo"], [
        ["alice", "alice-gh", ""], ["bob", "", "rnn-course-bob"], ["carol", "carol", ""],
        ["dave", "dave", ""], ["erin", "erin", ""], ["frank", "frank", ""]])
    return assignment, template, repos, roster, release, mutant, root


def run_workflow_check(repo, template, summary):
    """Run the workflow's public-test step in ``repo``, as GitHub would after installing."""
    workflow = yaml.safe_load((template / ".github" / "workflows" / "public-tests.yml").read_text())
    step = next(s for s in workflow["jobs"]["public-tests"]["steps"] if s.get("id") == "public-tests")
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    return subprocess.run(["bash", "-c", step["run"]], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.skipif(END_TO_END not in ASSIGNMENT_IDS, reason=f"COURSE_ONLY leaves out {END_TO_END}")
def test_public_check_scores_correct_blank_and_partial_submissions(classroom, tmp_path):
    assignment, template, repos, _, release, mutant, _ = classroom
    public = public_tests(release)
    maximum = sum(public.values())
    lost = sum(points for grade_id, points in public.items() if grade_id in mutant["fails"])

    correct = run_workflow_check(repos["correct"], template, tmp_path / "correct.md")
    assert correct.returncode == 0, correct.stdout + correct.stderr
    summary = (tmp_path / "correct.md").read_text()
    assert f"{assignment.name}: {maximum:g} / {maximum:g} public points (all public tests pass)" in summary
    assert "❌" not in summary and f"{maximum:g} / {maximum:g} public points" in correct.stdout

    blank = run_workflow_check(repos["blank"], template, tmp_path / "blank.md")
    assert blank.returncode == 0, "an assignment not started yet must not fail the job"
    summary = (tmp_path / "blank.md").read_text()
    assert f"0 / {maximum:g} public points (not started)" in summary and "✅" not in summary
    assert "NotImplementedError" in summary and "hidden tests worth" in summary.lower()

    partial = run_workflow_check(repos["partial"], template, tmp_path / "partial.md")
    assert partial.returncode == 1, partial.stdout + partial.stderr
    summary = (tmp_path / "partial.md").read_text()
    assert f"{maximum - lost:g} / {maximum:g} public points (some public tests fail)" in summary
    for test in public:
        result = "❌ failed" if test in mutant["fails"] else "✅ passed"
        assert f"| `{test}` | {result} |" in summary


@pytest.fixture(scope="module")
def collected(classroom):
    assignment, _, repos, roster, *_ , root = classroom
    out = root / "grading"
    with pytest.MonkeyPatch.context() as patch:  # who commits the feedback, on any machine
        for name, value in GIT_ENV.items():
            patch.setenv(name, value)
        code = collect.main([str(root / "repos"), "--roster", str(roster), "--out", str(out),
                             "--before", DEADLINE, "--return-feedback"])
    return out, code


def grades_by_student(out):
    with open(out / "grades.csv", newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


@pytest.mark.slow
@pytest.mark.skipif(END_TO_END not in ASSIGNMENT_IDS, reason=f"COURSE_ONLY leaves out {END_TO_END}")
def test_collected_repos_are_graded_with_hidden_tests(classroom, collected):
    assignment, _, _, _, release, mutant, _ = classroom
    out, code = collected
    assert code == 0
    maximum = sum(c.metadata.nbgrader.points for c in release.cells
                  if c.metadata.get("nbgrader", {}).get("grade"))
    lost = sum(c.metadata.nbgrader.points for c in release.cells
               if c.metadata.get("nbgrader", {}).get("grade_id") in mutant["fails"])
    grades = grades_by_student(out)
    assert {s: float(row["score"]) for s, row in grades.items()} == {
        "alice": maximum, "bob": 0, "carol": maximum - lost, "dave": 0, "erin": 0, "frank": maximum}
    assert {float(row["max_score"]) for row in grades.values()} == {maximum}
    assert grades["carol"]["timestamp"].startswith("2026-11-21 08:00:00")
    assert grades["alice"]["timestamp"].startswith("2026-11-20 17:30:00")
    assert grades["frank"]["timestamp"].startswith("2026-11-30 12:00:00")  # before the deadline
    assert grades["dave"]["timestamp"] in ("", "None")
    assert (out / "submitted" / "alice" / assignment.name / "timestamp.txt").read_text() == (
        "2026-11-20 17:30:00.000000 UTC")


@pytest.mark.slow
@pytest.mark.skipif(END_TO_END not in ASSIGNMENT_IDS, reason=f"COURSE_ONLY leaves out {END_TO_END}")
def test_unknown_repos_and_renamed_notebooks_are_reported_by_name(classroom, collected):
    assignment, *_ = classroom
    out, _ = collected
    report = (out / "report.txt").read_text()
    assert "unknown repository rnn-course-mallory" in report
    assert (f"rnn-course-dave (dave): assignments/{assignment.name}/{assignment.notebook} is missing; "
            f"found assignments/{assignment.name}/my {assignment.notebook}") in report
    assert "erin: no repository found" in report
    assert not (out / "submitted" / "mallory").exists()


@pytest.mark.slow
@pytest.mark.skipif(END_TO_END not in ASSIGNMENT_IDS, reason=f"COURSE_ONLY leaves out {END_TO_END}")
def test_feedback_shows_results_and_messages_but_no_hidden_test_code(classroom, collected):
    assignment, _, repos, _, release, mutant, _ = classroom
    out, _ = collected
    source = read_notebook(assignment.source_notebook)
    page_name = Path(assignment.notebook).with_suffix(".html").name
    test_cells = [c.metadata.nbgrader.grade_id for c in release.cells
                  if c.metadata.get("nbgrader", {}).get("grade")]
    for student in ("alice", "bob", "carol"):
        page = out / "feedback" / student / assignment.name / page_name
        text = html_text(page)
        assert hidden_test_leaks(page, source) == [], student
        assert "BEGIN HIDDEN TESTS" not in text and "hidden tests:" in text
        assert all(f"Grade cell: {grade_id}" in text for grade_id in test_cells)
    # The partly right student sees the message of every test they failed, hidden ones too.
    autograded = read_notebook(out / "autograded" / "carol" / assignment.name / assignment.notebook)
    carol_page = html_text(out / "feedback" / "carol" / assignment.name / page_name)
    for cell in autograded.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in mutant["fails"]:
            error = next(o for o in cell.outputs if o.output_type == "error")
            assert f"{error.ename}: {error.evalue}" in carol_page
    assert (repos["partial"] / "feedback" / assignment.name / page_name).is_file()
    assert git(repos["partial"], "log", "-1", "--format=%s").strip() == f"Feedback for {assignment.name}"


def test_leak_check_sees_hidden_code_through_syntax_highlighting(tmp_path):
    source = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "# Hidden tests.\n### BEGIN HIDDEN TESTS\nfrom utils.testing import check_close\n"
        "z_hidden = rng.normal(size=(5, 4))\n### END HIDDEN TESTS"), nbformat.v4.new_code_cell(
        "from utils.testing import check_close, check_shape")])
    page = tmp_path / "feedback.html"
    page.write_text('<pre><span class="n">z_hidden</span> <span class="o">=</span> '
                    '<span class="n">rng</span>.normal(size<span class="o">=</span>(5, 4))</pre>'
                    '<pre>from utils.testing import check_close</pre>')
    assert hidden_test_leaks(page, source) == ["z_hidden = rng.normal(size=(5, 4))"]


# ----------------------------------------------------------------- a class with git bombs

BOMB_LEVELS = 10  # 10^10 paths in 11 objects: listing them all takes terabytes
# Runs collect in a process of its own and prints that process's peak memory. Its data
# memory is limited, so that collect reading a bomb fails instead of filling the machine.
COLLECT_WITH_PEAK_MEMORY = """
import resource, sys
from autograder.collect import main
resource.setrlimit(resource.RLIMIT_DATA, (2 * 2**30, resource.getrlimit(resource.RLIMIT_DATA)[1]))
code = main(sys.argv[1:])
print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")
sys.exit(code)
"""


@pytest.fixture(scope="module")
def bombed_class(classroom):
    """Three clones of the reference; after they are cloned, one student pushes a git bomb
    beside the notebook, another one instead of it. A snapshot fetches the bombs (nothing
    checks them out), then one collect of the class, in a process of its own."""
    assignment, template, repos, *_, root = classroom
    folder = f"assignments/{assignment.name}"
    notebook = f"{folder}/{assignment.notebook}"
    reference = read_notebook(repos["correct"] / notebook)
    base = root / "bombs"
    origins = {name: make_student_repo(template, base / "origins" / name,
                                       lambda repo: nbformat.write(reference, str(repo / notebook)))
               for name in ("honest", "bomb-beside", "bomb-instead")}
    for name, origin in origins.items():
        subprocess.run(["git", "clone", "-q", str(origin),
                        str(base / "clones" / f"rnn-course-{name}")], check=True)
    beside = git_bomb(origins["bomb-beside"], BOMB_LEVELS)
    commit_entries(origins["bomb-beside"], {"bomb": beside, f"{folder}/bomb": beside})
    instead = git_bomb(origins["bomb-instead"], BOMB_LEVELS)
    commit_entries(origins["bomb-instead"], {notebook: None, f"{folder}/bomb": instead})
    manifest = base / "manifests" / "deadline.json"
    assert collect.main([str(base / "clones"), "--snapshot", str(manifest)]) == 0
    roster = write_roster(base / "roster.csv", ["student_id", "repo"],
                          [[name, f"rnn-course-{name}"] for name in origins])
    out = base / "grading"
    run = subprocess.run(
        [sys.executable, "-c", COLLECT_WITH_PEAK_MEMORY, str(base / "clones"), "--roster",
         str(roster), "--out", str(out), "--manifest", str(manifest), "--workers", "1",
         "--return-feedback"],
        cwd=collect.ROOT, env={**os.environ, **GIT_ENV}, capture_output=True, text=True)
    return assignment, out, run


@pytest.mark.slow
@pytest.mark.skipif(END_TO_END not in ASSIGNMENT_IDS, reason=f"COURSE_ONLY leaves out {END_TO_END}")
def test_a_git_bomb_costs_its_student_a_report_line_and_collect_little_memory(
        classroom, bombed_class):
    assignment, out, run = bombed_class
    release = classroom[4]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    folder = f"assignments/{assignment.name}"
    report = (out / "report.txt").read_text()
    assert (f"rnn-course-bomb-instead (bomb-instead): {folder}/{assignment.notebook} is "
            f"missing, and {folder} in commit ") in report
    assert "holds more than collect reads of a folder (10000 entries, 2 MiB of names)" in report
    maximum = sum(c.metadata.nbgrader.points for c in release.cells
                  if c.metadata.get("nbgrader", {}).get("grade"))
    assert {s: float(row["score"]) for s, row in grades_by_student(out).items()} == {
        "honest": maximum, "bomb-beside": maximum, "bomb-instead": 0}
    peak = int(run.stdout.rsplit("peak RSS ", 1)[1].split()[0])
    print(f"\ncollect's peak memory with two {10 ** BOMB_LEVELS:.0e}-path git bombs in the "
          f"class: {peak} MiB")
    # An honest class takes about 170 MiB here (grading in this process); listing either
    # bomb would take terabytes.
    assert peak < 300, f"collect held {peak} MiB: it read more of a clone than it needs"
