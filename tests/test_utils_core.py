"""The shared helpers every notebook relies on: data paths, work budgets, test checks."""

import numpy as np
import pytest

from utils import data_path
from utils.course import budget
from utils.testing import check_close, check_equal, check_keys, check_shape


def test_data_path_finds_course_data():
    assert data_path("dinos.txt").stat().st_size == 19909


def test_data_path_names_the_missing_file(monkeypatch, tmp_path):
    monkeypatch.setenv("RNN_COURSE_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="'dinos.txt' not found"):
        data_path("dinos.txt")


def test_budget_is_full_for_students_and_small_for_the_grader(monkeypatch):
    monkeypatch.delenv("RNN_COURSE_GRADING", raising=False)
    assert budget(1000, grading=10) == 1000
    monkeypatch.setenv("RNN_COURSE_GRADING", "1")
    assert budget(1000, grading=10) == 10
    assert budget(1000) == 1000


def test_check_shape_message_names_both_shapes():
    with pytest.raises(AssertionError, match=r"a_next has shape \(5, 1\), expected \(5, 10\)"):
        check_shape("a_next", np.zeros((5, 1)), (5, 10))


def test_check_close_reports_the_first_wrong_value():
    with pytest.raises(AssertionError, match=r"y is wrong at index \(1,\): got 2.5, expected 2 "):
        check_close("y", np.array([1.0, 2.5]), [1.0, 2.0])
    check_close("y", np.array([1.0, 2.0 + 1e-9]), [1.0, 2.0])


def test_check_close_rejects_nan_and_wrong_types():
    with pytest.raises(AssertionError, match="NaN or inf"):
        check_close("p", np.array([np.nan]), [0.5])
    with pytest.raises(AssertionError, match="is a list, expected"):
        check_close("p", [0.5], [0.5])


def test_check_close_is_not_fooled_by_an_object_that_equals_everything():
    class EqualsAll(np.ndarray):
        def __eq__(self, other):
            return True
    fake = np.zeros(2).view(EqualsAll)
    with pytest.raises(AssertionError):
        check_close("p", fake, [0.5, 0.5])


def test_check_equal_and_check_keys():
    check_equal("n", 3, 3)
    with pytest.raises(AssertionError, match="n is 4, expected 3"):
        check_equal("n", 4, 3)
    with pytest.raises(AssertionError, match=r"idx is wrong at index \(1,\)"):
        check_equal("idx", np.array([1, 2]), np.array([1, 3]))
    with pytest.raises(AssertionError, match=r"missing keys \['dWax'\]"):
        check_keys("grads", {"dx": 0}, ["dx", "dWax"])
