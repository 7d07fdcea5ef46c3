"""What the bubblewrap sandbox costs: the same submissions graded with and without it.

    .venv/bin/python benchmarks/sandbox_cost.py [ASSIGNMENT ...]     (default: 00_setup 01_rnn_step_by_step)

For each assignment, the reference, the untouched release and every mutant are graded through
real `nbgrader autograde` twice, sandboxed (bwrap) and unsandboxed, alternating which goes
first, and the seconds per submission and the scores are printed. Run it on a quiet machine.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

from autograder.grading import (
    ScratchCourse, apply_mutant, fill_solutions, get_assignment, load_mutants, mutant_student_id,
    read_notebook,
)


def grade(assignment, sandbox, folder):
    """(seconds per submission, {student: score}) for the reference, untouched and mutants."""
    course = ScratchCourse(folder, sandbox=sandbox)
    course.generate(assignment)
    release = course.release_notebook(assignment)
    reference = fill_solutions(release, read_notebook(assignment.source_notebook))
    submissions = {"reference": reference, "untouched": release}
    submissions.update({mutant_student_id(m): apply_mutant(reference, m)
                        for m in load_mutants(assignment)})
    for student, nb in submissions.items():
        course.submit(assignment, student, nb)
    started = time.perf_counter()
    course.autograde(assignment)
    seconds = time.perf_counter() - started
    scores = {student: sum(s.score for s in cells.values())
              for student, cells in course.scores(assignment).items()}
    return seconds / len(submissions), scores


def main(names):
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min)")
    for number, name in enumerate(names):
        assignment = get_assignment(name)
        results = {}
        order = ["bwrap", "none"] if number % 2 == 0 else ["none", "bwrap"]
        for sandbox in order:
            with tempfile.TemporaryDirectory() as folder:
                results[sandbox] = grade(assignment, sandbox, Path(folder))
        (sandboxed, scores_in), (plain, scores_out) = results["bwrap"], results["none"]
        print(f"{name}: {len(scores_in)} submissions, {sandboxed:.1f} s each sandboxed, "
              f"{plain:.1f} s unsandboxed ({sandboxed - plain:+.1f} s, x{sandboxed / plain:.2f}); "
              f"same scores: {scores_in == scores_out}; load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["00_setup", "01_rnn_step_by_step"])
