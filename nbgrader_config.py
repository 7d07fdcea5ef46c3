"""nbgrader configuration for the course (the instructor's repository).

`nbgrader generate_assignment <assignment>` run from this folder writes the student
version of `source/<assignment>/` into `assignments/<assignment>/`. Grading is usually done
with `make course` (self-grade) or `python -m autograder.collect` (students' repos), which
build a scratch course directory with this file's settings; see README.md.
"""

import os
import sys

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Kernels started by nbgrader inherit this environment: TensorFlow must not write its
# start-up logs to stderr (a test cell with stderr output scores zero), and the notebooks'
# training cells shrink to a token size when the autograder runs them (utils.course).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if "autograde" in sys.argv:
    os.environ["RNN_COURSE_GRADING"] = "1"

# Second line of defence against log lines on stderr: drop stderr outputs that are
# TensorFlow/absl start-up chatter, never anything a student's code would print.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(?m)^(WARNING: All log messages before absl::InitializeLog|"
    r"[IWE]\d{4} [\d:. ]+\d+ \S+\.(cc|h):\d+\]|.*oneDNN custom operations are on)"
)

# A cell that runs too long is interrupted and scores zero; the rest of the notebook is
# still graded. The grading tools override the timeout per assignment (autograder/course.toml).
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# Hostile submissions (autograder/README.md): nbgrader's Execute step is replaced by one that
# sandboxes the kernel, bounds its time and memory, and verifies every test cell in a second,
# fresh process; test cells a submission deleted are put back and run.
# nbgrader logs an exception in this file and goes on with its defaults, which would run
# students' code unsandboxed: any failure to load the grading steps stops nbgrader instead
# (SystemExit is no Exception, so nbgrader's loader does not catch it).
try:
    try:
        from autograder.guarded import GuardedExecute, RestoreGradeFlags
    except ImportError:  # run from the repository root without it on sys.path
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from autograder.guarded import GuardedExecute, RestoreGradeFlags
except Exception as error:  # noqa: BLE001
    raise SystemExit(f"nbgrader_config.py: the course's grading steps (autograder/guarded.py) "
                     f"failed to load, so nothing is graded: {type(error).__name__}: {error}")
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds, IgnorePattern,
    LimitOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades,
)

c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreGradeFlags, OverwriteCells,
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata,
]
c.OverwriteCells.add_missing_cells = True

# Late work: the course's policy (autograder/course.toml, [late]) as nbgrader's late-submission
# plugin; due dates and extensions are in the gradebook (autograder/term/deadlines.py).
c.AssignLatePenalties.plugin_class = "autograder.term.deadlines.CourseLatePenalty"
