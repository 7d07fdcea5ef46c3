"""The messages of utils.testing: a student reading one can see what differs and by how much."""

import numpy as np
import pytest

from utils.testing import check_close, check_equal


def test_check_close_shows_every_digit_when_eight_look_the_same():
    expected = 0.8826193
    got = float(np.nextafter(expected, 1.0))
    with pytest.raises(AssertionError) as failure:
        check_close("p", np.array(got), expected, rtol=0, atol=0)
    assert f"got {got!r}, expected {expected!r}" in str(failure.value)
    assert "0.8826193," not in str(failure.value)


def test_check_close_names_index_errors_and_tolerance():
    with pytest.raises(AssertionError) as failure:
        check_close("y", np.array([[1.0, 2.0], [3.0, 4.5]]), [[1.0, 2.0], [3.0, 4.0]], rtol=1e-6, atol=0)
    message = str(failure.value)
    for part in ("at index (1, 1)", "got 4.5, expected 4", "absolute error 0.5",
                 "relative error 0.12", "rtol=1e-06, atol=0", "= 4e-06", "1 of 4 values differ"):
        assert part in message, (part, message)


def test_check_close_checks_the_shape_before_the_values():
    with pytest.raises(AssertionError, match=r"has shape \(3,\), expected \(2,\)$"):
        check_close("y", np.array([9.0, 9.0, 9.0]), [1.0, 2.0])


def test_check_close_relative_error_of_an_expected_zero_is_infinite():
    with pytest.raises(AssertionError, match="relative error inf"):
        check_close("y", np.array([1e-3]), [0.0], rtol=0, atol=1e-9)


def test_check_close_points_at_the_first_nan():
    with pytest.raises(AssertionError, match=r"NaN or inf values \(first at index \(2,\)\)"):
        check_close("y", np.array([1.0, 2.0, np.inf]), [1.0, 2.0, 3.0])


def test_check_equal_reports_a_length_before_the_contents():
    expected = list(range(50))
    with pytest.raises(AssertionError) as failure:
        check_equal("sample", expected + [0], expected)
    message = str(failure.value)
    assert message.startswith("sample has length 51, expected 50 (the first 50 elements agree)"), message


def test_check_equal_names_the_first_difference_of_lists_and_strings():
    with pytest.raises(AssertionError, match=r"^idx has length 3, expected 2 \(first difference at index 1: got 5, expected 7\)"):
        check_equal("idx", [1, 5, 9], [1, 7])
    with pytest.raises(AssertionError, match=r"^idx is wrong at index 2: got 9, expected 3"):
        check_equal("idx", [1, 2, 9], [1, 2, 3])
    with pytest.raises(AssertionError, match=r"^text is wrong at index 1: got 'x', expected 'b'"):
        check_equal("text", "axc", "abc")
    check_equal("idx", [1, 2, 3], [1, 2, 3])


def test_check_equal_checks_an_array_shape_before_its_values():
    with pytest.raises(AssertionError, match=r"has shape \(3,\), expected \(2,\)"):
        check_equal("idx", np.array([1, 2, 3]), np.array([4, 5]))
