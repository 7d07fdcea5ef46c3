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
