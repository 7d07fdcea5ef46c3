"""Checks used by the notebooks' tests, each failing with a message a student can act on.

Every check raises ``AssertionError`` naming the quantity, what it got and what was
expected, e.g. ``a_next has shape (5, 1), expected (5, 10)``. Shapes and lengths are checked
before contents; a wrong value is shown with its index, its absolute and relative error and
the tolerance, with every digit when 8 significant digits would hide the difference.
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
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(actual))[0])
        where = f" (first at index {index})" if index else ""
        raise AssertionError(f"{name} contains NaN or inf values{where}")
    bad = ~np.isclose(actual, expected, rtol=rtol, atol=atol)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {index}" if index else ""
        got, want = float(actual[index]), float(expected[index])
        error = abs(got - want)
        relative = f"{error / abs(want):.2g}" if want else "inf"
        raise AssertionError(
            f"{name} is wrong{where}: got {_distinct(got, want)}, expected {_distinct(want, got)} "
            f"(absolute error {error:.2g}, relative error {relative}; allowed "
            f"atol + rtol * |expected| = {atol + rtol * abs(want):.2g} with rtol={rtol}, "
            f"atol={atol}; {int(bad.sum())} of {bad.size} values differ)"
        )


def _distinct(value, other):
    """Format ``value`` with 8 significant digits, or every digit (``repr``) when 8 would
    print it the same as the different ``other``."""
    short = f"{value:.8g}"
    return repr(value) if short == f"{other:.8g}" and value != other else short


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
    if isinstance(expected, (list, tuple, str)):
        _check_sequence(name, actual, expected)
    elif actual != expected:
        raise AssertionError(f"{name} is {actual!r}, expected {expected!r}")


def _check_sequence(name, actual, expected):
    """Compare two lists (tuples, strings): the length first, then the first difference."""
    first = next((i for i, (a, e) in enumerate(zip(actual, expected)) if a != e), None)
    shown = f"\n  got      {actual!r}\n  expected {expected!r}" if len(repr(expected)) < 400 else ""
    if len(actual) != len(expected):
        agree = (f"first difference at index {first}: got {actual[first]!r}, expected "
                 f"{expected[first]!r}" if first is not None
                 else f"the first {min(len(actual), len(expected))} elements agree")
        raise AssertionError(
            f"{name} has length {len(actual)}, expected {len(expected)} ({agree}){shown}")
    if first is not None:
        raise AssertionError(f"{name} is wrong at index {first}: got {actual[first]!r}, "
                             f"expected {expected[first]!r}{shown}")


def check_keys(name, mapping, expected_keys):
    """Fail unless dict ``mapping`` has exactly the keys ``expected_keys``."""
    check_type(name, mapping, dict)
    missing = sorted(set(expected_keys) - set(mapping))
    extra = sorted(set(mapping) - set(expected_keys))
    if missing or extra:
        raise AssertionError(f"{name} is missing keys {missing} and has unexpected keys {extra}")

