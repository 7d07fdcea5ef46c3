"""Checks used by the notebooks' tests, each failing with a message a student can act on.

Every check raises ``AssertionError`` naming the quantity, what it got and what was
expected, e.g. ``a_next has shape (5, 1), expected (5, 10)``.
"""

import numbers

import numpy as np


def check_type(name, value, expected_type):
    """Fail unless ``value`` is an instance of ``expected_type`` (a type or tuple of types)."""
    if not isinstance(value, expected_type):
        expected = getattr(expected_type, "__name__", str(expected_type))
        raise AssertionError(f"{name} is a {type(value).__name__}, expected {expected}")


def check_shape(name, array, expected_shape):
    """Fail unless ``array`` is a numpy array of shape ``expected_shape``."""
    check_type(name, array, np.ndarray)
    if array.shape != tuple(expected_shape):
        raise AssertionError(f"{name} has shape {array.shape}, expected {tuple(expected_shape)}")


def check_close(name, actual, expected, rtol=1e-6, atol=1e-8):
    """Fail unless ``actual`` matches ``expected`` in shape and, element-wise, within tolerance.

    Inputs:
    - name: what the student computed, used in the message.
    - actual, expected: numbers or array-likes of the same shape.
    - rtol, atol: tolerances as in ``numpy.isclose``.
    """
    expected = np.asarray(expected, dtype=float)
    if isinstance(actual, numbers.Number) and not isinstance(actual, bool):
        actual = np.asarray(actual, dtype=float)
    check_type(name, actual, (np.ndarray, np.generic))
    actual = np.asarray(actual)
    if actual.shape != expected.shape:
        raise AssertionError(f"{name} has shape {actual.shape}, expected {expected.shape}")
    if not np.issubdtype(actual.dtype, np.number):
        raise AssertionError(f"{name} has dtype {actual.dtype}, expected numbers")
    actual = actual.astype(float)
    if not np.all(np.isfinite(actual)):
        raise AssertionError(f"{name} contains NaN or inf values")
    bad = ~np.isclose(actual, expected, rtol=rtol, atol=atol)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {index}" if index else ""
        raise AssertionError(
            f"{name} is wrong{where}: got {float(actual[index]):.8g}, "
            f"expected {float(expected[index]):.8g} "
            f"({int(bad.sum())} of {bad.size} values differ beyond rtol={rtol}, atol={atol})"
        )


def check_equal(name, actual, expected):
    """Fail unless ``actual == expected`` exactly (for integers, strings, index arrays)."""
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        actual_array = np.asarray(actual)
        if actual_array.shape != np.shape(expected):
            raise AssertionError(
                f"{name} has shape {actual_array.shape}, expected {np.shape(expected)}"
            )
        if not np.array_equal(actual_array, expected):
            index = tuple(int(i) for i in np.argwhere(actual_array != expected)[0])
            raise AssertionError(
                f"{name} is wrong at index {index}: got {actual_array[index].item()!r}, "
                f"expected {np.asarray(expected)[index].item()!r}"
            )
        return
    check_type(name, actual, type(expected))
    if actual != expected:
        raise AssertionError(f"{name} is {actual!r}, expected {expected!r}")


def check_keys(name, mapping, expected_keys):
    """Fail unless dict ``mapping`` has exactly the keys ``expected_keys``."""
    check_type(name, mapping, dict)
    missing = sorted(set(expected_keys) - set(mapping))
    extra = sorted(set(mapping) - set(expected_keys))
    if missing or extra:
        raise AssertionError(f"{name} is missing keys {missing} and has unexpected keys {extra}")

