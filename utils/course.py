"""How much work a notebook does: all of it for a student, a token amount for the grader.

The autograder runs every notebook once per submission, so a training cell that takes two
minutes for a student would make grading a class take hours. Training cells ask
``budget(full, grading=small)`` for their iteration counts; graded tests never depend on
them. The grader sets ``RNN_COURSE_GRADING=1`` (see ``nbgrader_config.py``).
"""

import os

GRADING_ENV = "RNN_COURSE_GRADING"


def is_grading():
    """Return True when the notebook is being run by the autograder."""
    return os.environ.get(GRADING_ENV) == "1"


def budget(full, grading=None):
    """Return ``full`` for a student's run and ``grading`` (default: ``full``) for the grader's.

    Inputs:
    - full: the amount of work (iterations, epochs, characters) a student's run does.
    - grading: the smaller amount the autograder's run does.
    """
    if grading is not None and os.environ.get(GRADING_ENV) == "1":
        return grading
    return full
