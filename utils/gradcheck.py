"""Reference gradient checking: centred numerical gradients and relative error.

Assignment 1 asks students to write these themselves; the tests of every assignment use
this copy, so a broken student checker can never vouch for a broken backward pass.
"""

import numpy as np


def numerical_gradient(f, x, df, h=1e-5):
    """Centred-difference gradient of ``sum(f(x) * df)`` with respect to array ``x``.

    Inputs:
    - f: function of ``x`` alone returning an array (other inputs closed over)
    - x: array, perturbed in place one element at a time and restored
    - df: upstream gradient, same shape as ``f(x)``
    - h: step size

    Returns:
    - array of the shape of ``x``: d sum(f(x) * df) / dx
    """
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        index = it.multi_index
        original = x[index]
        x[index] = original + h
        plus = np.sum(f(x) * df)
        x[index] = original - h
        minus = np.sum(f(x) * df)
        x[index] = original
        grad[index] = (plus - minus) / (2 * h)
        it.iternext()
    return grad


def relative_error(analytic, numeric):
    """Return ``||a - n|| / max(||a|| + ||n||, 1e-12)``: about 1e-7 or less for a correct
    backward pass in float64, above 1e-3 for a wrong one."""
    analytic, numeric = np.asarray(analytic, dtype=float), np.asarray(numeric, dtype=float)
    denominator = max(np.linalg.norm(analytic) + np.linalg.norm(numeric), 1e-12)
    return float(np.linalg.norm(analytic - numeric) / denominator)
