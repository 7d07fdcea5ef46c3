"""Hostile and broken submissions through real `nbgrader autograde` (tests/adversarial/).

Every case of an assignment is graded in one nbgrader call, attackers first (student ids
sort before ``zz-reference``), so that a submission that damages the grader would show in
the grades of the students graded after it. For each case: the exact set of test cells that
score (no false pass, no grade lost), a message on every test cell that lost points, a
gradebook row for every submission, the repository untouched and nothing secret in the
outputs.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from adversarial.cases import ATTACK_MARK, CASES, TF_CASES, make_kit
from autograder.grading import (
    ScratchCourse, fill_solutions, read_notebook, secret_lines,
)
from conftest import COURSE

ROOT = Path(__file__).resolve().parent.parent


def uses_tensorflow(assignment):
    path = assignment.source_notebook
    return path.is_file() and "utils.tf_setup" in path.read_text()


def adversarial_assignments():
    """00_setup (numpy, every case) and the first TensorFlow assignment (a cheap subset)."""
    numpy_ones = [a for a in COURSE if a.name == "00_setup"]
    tf_ones = [a for a in COURSE if uses_tensorflow(a)][:1]
    return [(a, list(CASES)) for a in numpy_ones] + [(a, TF_CASES) for a in tf_ones]


ASSIGNMENTS = adversarial_assignments()
# The loops of the corpus each cost one cell timeout (plus a grace when they ignore the
# interrupt); 00_setup's cells take a second or two, so 15 s leaves room for a loaded machine.
CELL_TIMEOUT = {"00_setup": 15}
PAIRS = [(a, name) for a, names in ASSIGNMENTS for name in names]


def student_id(name):
    return "zz-reference" if name == "reference" else f"adv-{name}"


def data_files():
    return {p.name for p in (ROOT / "data").iterdir() if p.is_file()}


def repository_damage(data_before):
    """What the attacks of the corpus did to the repository (others may edit it meanwhile:
    only the attacks' own marks count)."""
    damage = [f"data/{name} deleted" for name in sorted(data_before - data_files())]
    damage += [f"{path.relative_to(ROOT)} rewritten" for path in (ROOT / "utils").glob("*.py")
               if ATTACK_MARK in path.read_text()]
    return damage


def grade_corpus(assignment, names, folder):
    """Grade the cases ``names`` of one assignment in one nbgrader call; return a result dict."""
    course = ScratchCourse(folder)
    course.generate(assignment)
    release = course.release_notebook(assignment)
    kit = make_kit(release, fill_solutions(release, read_notebook(assignment.source_notebook)))
    submissions = {name: CASES[name](kit) for name in names}
    for name, submission in submissions.items():
        if submission.raw is not None:
            course.submit_text(assignment, student_id(name), submission.raw)
        else:
            course.submit(assignment, student_id(name), submission.notebook,
                          filename=submission.filename)
    start = time.monotonic()
    process = course.autograde(assignment, timeout=CELL_TIMEOUT.get(assignment.name))
    return dict(kit=kit, course=course, process=process, submissions=submissions,
                scores=course.scores(assignment), seconds=time.monotonic() - start,
                times=course.grading_times(assignment))


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    """{assignment name: result} for every case, one nbgrader call per assignment (the
    assignments graded side by side)."""
    root = tmp_path_factory.mktemp("adversarial")
    data_before = data_files()
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {a.name: pool.submit(grade_corpus, a, names, root / a.name)
                   for a, names in ASSIGNMENTS}
        results = {name: future.result() for name, future in futures.items()}
    damage = repository_damage(data_before)
    for result in results.values():
        result["repository_damage"] = damage
    return results


def expected_passes(kit, expect):
    return {"all": set(kit.tests), "none": set(), "before": kit.before_split()}[expect]


@pytest.mark.slow
@pytest.mark.parametrize("assignment,name", PAIRS, ids=[f"{a.name}:{n}" for a, n in PAIRS])
def test_hostile_submission_gets_exactly_its_score(attacked, assignment, name):
    result = attacked[assignment.name]
    kit, process = result["kit"], result["process"]
    student = student_id(name)
    assert student in result["scores"], (
        f"no gradebook row for {student}\n{process.stdout[-2000:]}{process.stderr[-3000:]}")
    cells = result["scores"][student]
    passed = {k for k, s in cells.items() if not s.manual and s.max_score and s.score == s.max_score}
    scored = {k for k, s in cells.items() if not s.manual and s.score > 0}
    expected = expected_passes(kit, result["submissions"][name].expect)
    false_passes, lost = sorted(scored - expected), sorted(expected - passed)
    assert not false_passes and not lost, (
        f"{name}: false passes {false_passes}, grades lost {lost} "
        f"({result['submissions'][name].expect!r} expected)")


@pytest.mark.slow
@pytest.mark.parametrize("assignment,name", PAIRS, ids=[f"{a.name}:{n}" for a, n in PAIRS])
def test_every_lost_point_comes_with_a_message(attacked, assignment, name):
    result = attacked[assignment.name]
    path = (result["course"].root / "autograded" / student_id(name) / assignment.name
            / assignment.notebook)
    if not path.exists():  # not a notebook at all: nbgrader's log says why
        assert result["submissions"][name].raw is not None
        return
    nb = read_notebook(path)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id not in result["kit"].tests:
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        score = result["scores"][student_id(name)][grade_id].score
        if score == 0:
            assert errors and (errors[0].evalue or errors[0].ename), (
                f"{name}: {grade_id} scored zero without an error message")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", [a for a, names in ASSIGNMENTS if "infinite-loop" in names],
                         ids=[a.name for a, names in ASSIGNMENTS if "infinite-loop" in names])
def test_a_cell_stopped_at_its_limit_says_which_limit(attacked, assignment):
    result = attacked[assignment.name]
    path = (result["course"].root / "autograded" / student_id("infinite-loop") / assignment.name
            / assignment.notebook)
    errors = [o for c in read_notebook(path).cells if "while True" in c.source
              for o in c.outputs if o.output_type == "error"]
    limit = CELL_TIMEOUT.get(assignment.name, assignment.timeout)
    assert [(o.ename, o.evalue) for o in errors] == [
        ("CellTimeoutError", f"this cell ran past its {limit} s time limit and was interrupted")]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", [a for a, _ in ASSIGNMENTS],
                         ids=[a.name for a, _ in ASSIGNMENTS])
def test_grading_leaves_the_repository_and_secrets_alone(attacked, assignment):
    result = attacked[assignment.name]
    assert not result["repository_damage"], result["repository_damage"]
    secrets = secret_lines(read_notebook(assignment.source_notebook))
    for name in result["submissions"]:
        path = (result["course"].root / "autograded" / student_id(name) / assignment.name
                / assignment.notebook)
        if not path.exists():
            continue
        for index, cell in enumerate(read_notebook(path).cells):
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                continue  # test cells: nbgrader shows their code in tracebacks by design
            text = str(cell.get("outputs", ""))
            leaked = [line for line in secrets if line in text]
            assert not leaked, f"{name}: cell {index} shows {leaked[:2]}"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", [a for a, _ in ASSIGNMENTS],
                         ids=[a.name for a, _ in ASSIGNMENTS])
def test_every_submission_has_a_gradebook_row(attacked, assignment):
    result = attacked[assignment.name]
    missing = sorted(set(map(student_id, result["submissions"])) - set(result["scores"]))
    assert not missing and not result["process"].ungraded, missing
    slowest = max(result["times"].items(), key=lambda item: item[1])
    print(f"\n{assignment.name}: {len(result['submissions'])} submissions graded in "
          f"{result['seconds']:.0f} s; slowest {slowest[0]} {slowest[1]:.0f} s")
