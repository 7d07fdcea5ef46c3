"""Feedback pages as a student reads them, rendered from the graded course's own gradebook."""

import pytest

from autograder.feedback import enable_feedback_without_hidden_tests, html_text
from conftest import ASSIGNMENT_IDS

HAND_GRADED = "06_tf_char_rnn"  # the assignment with written answers


@pytest.mark.slow
@pytest.mark.skipif(HAND_GRADED not in ASSIGNMENT_IDS, reason=f"COURSE_ONLY leaves out {HAND_GRADED}")
def test_written_answers_await_hand_grading_instead_of_scoring_zero(graded):
    assignment, course, scores, _ = graded[HAND_GRADED]
    enable_feedback_without_hidden_tests(course)
    process = course.generate_feedback(assignment, student="reference")
    assert process.returncode == 0, process.stderr[-2000:]
    page = next((course.root / "feedback" / "reference" / assignment.name).glob("*.html"))
    text = " ".join(html_text(page).split())
    manual = sum(s.max_score for s in scores["reference"].values() if s.manual)
    automatic = sum(s.max_score for s in scores["reference"].values() if not s.manual)
    assert f"{manual:g} points of written answers await hand grading" in text
    assert "Awaiting hand grading" in text
    assert f"/ {automatic + manual:.1f}" not in text, "the total still counts ungraded answers"
