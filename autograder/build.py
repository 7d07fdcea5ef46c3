"""Build the course and grade it against itself.

    python -m autograder.build [ASSIGNMENT ...] [--no-grade] [--workers N]

1. Validates every source notebook (exists, valid notebook, unique grade ids, points on
   every test cell, no outputs) and stops naming the file and problem if one is not.
2. Generates each release with nbgrader in a scratch course, and only when every
   assignment generated cleanly replaces `assignments/<name>/` with it.
3. Autogrades two demo submissions per assignment with real nbgrader: the reference
   solution and the untouched release. Prints a table and exits non-zero, naming the
   assignment, unless the reference earns full marks and the untouched release zero.
"""

import argparse
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograder.grading import (
    NotebookError, ScratchCourse, check_source_notebook, get_assignment, load_course,
    self_grade, total,
)


def generate_releases(assignments, scratch):
    """Generate every release in a scratch course; return {name: release folder}."""
    for assignment in assignments:
        check_source_notebook(assignment.source_notebook)
    course = ScratchCourse(scratch)
    return {a.name: course.generate(a) for a in assignments}


def install_releases(assignments, releases):
    """Replace each committed `assignments/<name>/` with its freshly generated release."""
    for assignment in assignments:
        target = assignment.release_dir
        staging = target.with_name(target.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(releases[assignment.name], staging)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)


def grade_one(assignment, scratch):
    """Self-grade one assignment, saying when it starts and ends (a course takes minutes);
    return (assignment, scores, seconds, problems)."""
    start = time.perf_counter()
    print(f"  grading {assignment.name} (the reference and the untouched release)...", flush=True)
    _, _, scores, process = self_grade(assignment, Path(scratch) / assignment.name)
    print(f"  graded {assignment.name} in {time.perf_counter() - start:.0f} s", flush=True)
    problems = []
    for student, expect_full in (("reference", True), ("untouched", False)):
        if student not in scores:
            problems.append(f"{student} was not graded:\n{process.stdout[-2000:]}{process.stderr[-2000:]}")
            continue
        score, maximum = total(scores[student])
        if expect_full and score != maximum:
            lost = [k for k, s in scores[student].items() if not s.manual and s.score < s.max_score]
            problems.append(f"reference scored {score:g}/{maximum:g} (lost: {', '.join(lost)})")
        if not expect_full and score != 0:
            won = [k for k, s in scores[student].items() if not s.manual and s.score > 0]
            problems.append(f"untouched release scored {score:g}/{maximum:g} (won: {', '.join(won)})")
    return assignment, scores, time.perf_counter() - start, problems


def print_table(results):
    """Print assignment x submission x score, manual cells shown apart."""
    print(f"\n{'assignment':<26}{'submission':<12}{'autograded':>12}{'manual':>10}{'seconds':>9}")
    for assignment, scores, seconds, _ in results:
        for student in ("reference", "untouched"):
            if student not in scores:
                print(f"{assignment.name:<26}{student:<12}{'not graded':>12}")
                continue
            score, maximum = total(scores[student])
            manual_max = total(scores[student], manual=True)[1]
            manual = f"({manual_max:g} pts)" if manual_max else "-"
            print(f"{assignment.name:<26}{student:<12}{f'{score:g}/{maximum:g}':>12}"
                  f"{manual:>10}{seconds:>9.0f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1].strip())
    parser.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    parser.add_argument("--no-grade", action="store_true", help="generate releases only")
    parser.add_argument("--workers", type=int, default=2, help="assignments graded at once")
    args = parser.parse_args(argv)

    try:
        chosen = [get_assignment(n) for n in args.assignments] if args.assignments else load_course()
    except KeyError as err:
        sys.exit(f"error: {err.args[0]}")

    with tempfile.TemporaryDirectory(prefix="rnn-course-") as scratch:
        try:
            releases = generate_releases(chosen, Path(scratch) / "generate")
        except (NotebookError, RuntimeError) as err:
            sys.exit(f"error: {err}\nThe committed assignments/ was left untouched.")
        install_releases(chosen, releases)
        print("Generated:", ", ".join(f"assignments/{a.name}" for a in chosen))
        if args.no_grade:
            return 0

        print(f"Self-grading {len(chosen)} assignments through nbgrader, {args.workers} at a time:",
              flush=True)
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            results = list(pool.map(lambda a: grade_one(a, Path(scratch) / "grade"), chosen))
    print_table(results)

    failed = [(a.name, problems) for a, _, _, problems in results if problems]
    for name, problems in failed:
        for problem in problems:
            print(f"FAIL {name}: {problem}", file=sys.stderr)
    if failed:
        return 1
    print("\nSelf-grade passed: every reference earns full marks, every untouched release zero.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
