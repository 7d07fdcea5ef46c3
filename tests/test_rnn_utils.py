"""The Dinosaur Island RNN utilities: values, gradients, and the fast sequence functions
giving exactly the numbers of the plain step-by-step ones."""

import numpy as np
import pytest

from utils.gradcheck import numerical_gradient, relative_error
from utils.rnn_utils import (
    GRADIENT_NAMES, get_initial_loss, indices_to_name, initialize_parameters, one_hot_column,
    print_sample, rnn_backward, rnn_backward_stepwise, rnn_forward, rnn_forward_stepwise,
    rnn_step_backward, rnn_step_forward, smooth, softmax, update_parameters, zero_gradients,
)


def random_parameters(n_a, n_x, scale, seed):
    """Parameters with weights of the given scale and non-zero biases."""
    rng = np.random.default_rng(seed)
    return {"Wax": rng.normal(0, scale, (n_a, n_x)), "Waa": rng.normal(0, scale, (n_a, n_a)),
            "Wya": rng.normal(0, scale, (n_x, n_a)), "b": rng.normal(0, scale, (n_a, 1)),
            "by": rng.normal(0, scale, (n_x, 1))}


def random_example(T, n_x, seed):
    """An example as the course builds it: X starts with None, Y is X shifted, ending with 0."""
    ix = np.random.default_rng(seed).integers(1, n_x, size=T - 1).tolist()
    return [None] + ix, ix + [0]


def test_softmax_columns_sum_to_one_and_large_scores_do_not_overflow():
    p = softmax(np.array([[1.0, 1000.0], [2.0, 1001.0], [3.0, -1000.0]]))
    np.testing.assert_allclose(p.sum(axis=0), [1.0, 1.0])
    np.testing.assert_allclose(p[:, 0], [0.09003057, 0.24472847, 0.66524096], rtol=1e-7)
    np.testing.assert_allclose(p[:, 1], [0.26894142, 0.73105858, 0.0], atol=1e-8)


def test_smooth_and_initial_loss():
    assert smooth(10.0, 20.0) == pytest.approx(10.01)
    assert get_initial_loss(27, 7) == pytest.approx(7 * np.log(27))


def test_initialize_parameters_shapes_scale_and_seed():
    p = initialize_parameters(5, 4, 3, seed=2)
    assert {k: v.shape for k, v in p.items()} == {
        "Wax": (5, 4), "Waa": (5, 5), "Wya": (3, 5), "b": (5, 1), "by": (3, 1)}
    assert not p["b"].any() and not p["by"].any()
    assert 0 < np.abs(p["Waa"]).max() < 0.05
    np.testing.assert_array_equal(p["Wax"], initialize_parameters(5, 4, 3, seed=2)["Wax"])
    assert not np.array_equal(p["Wax"], initialize_parameters(5, 4, 3, seed=3)["Wax"])


def test_one_hot_column():
    np.testing.assert_array_equal(one_hot_column(2, 4), [[0], [0], [1], [0]])
    np.testing.assert_array_equal(one_hot_column(None, 3), np.zeros((3, 1)))


def test_step_forward_values():
    p = random_parameters(4, 3, 1.0, seed=0)
    a_prev = np.random.default_rng(1).normal(size=(4, 1))
    a_next, y_hat = rnn_step_forward(p, a_prev, one_hot_column(1, 3))
    expected_a = np.tanh(p["Wax"][:, [1]] + p["Waa"] @ a_prev + p["b"])
    np.testing.assert_allclose(a_next, expected_a, rtol=1e-12)
    np.testing.assert_allclose(y_hat, softmax(p["Wya"] @ expected_a + p["by"]), rtol=1e-12)


def test_step_backward_matches_numerical_gradients():
    p = random_parameters(4, 3, 0.8, seed=3)
    rng = np.random.default_rng(4)
    a_prev, x, da_next = rng.normal(size=(4, 1)), one_hot_column(2, 3), rng.normal(size=(4, 1))
    target = 1

    def loss_of(**changed):
        q = {**p, **{k: v for k, v in changed.items() if k in p}}
        a, y = rnn_step_forward(q, changed.get("a_prev", a_prev), x)
        return -np.log(y[target, 0]) + float(np.sum(a * da_next))

    a, y = rnn_step_forward(p, a_prev, x)
    dy = y.copy()
    dy[target] -= 1
    gradients = zero_gradients(p)
    da_prev = rnn_step_backward(dy, da_next, p, x, a, a_prev, gradients)
    for name in p:
        numeric = numerical_gradient(lambda v, n=name: np.array(loss_of(**{n: v})), p[name].copy(), 1.0)
        assert relative_error(gradients["d" + name], numeric) < 1e-7, name
    numeric = numerical_gradient(lambda v: np.array(loss_of(a_prev=v)), a_prev.copy(), 1.0)
    assert relative_error(da_prev, numeric) < 1e-7


@pytest.mark.parametrize("n_a,T,scale,seed", [(5, 1, 1.0, 0), (7, 6, 0.5, 1), (50, 13, 0.3, 2),
                                              (50, 27, 2.0, 3), (12, 9, 0.01, 4)])
def test_fast_sequence_functions_give_exactly_the_stepwise_numbers(n_a, T, scale, seed):
    """The speed-ups change no number: every output is bit-for-bit the stepwise one."""
    p = random_parameters(n_a, 27, scale, seed)
    X, Y = random_example(T, 27, seed)
    a0 = np.random.default_rng(seed + 100).normal(0, 0.5, (n_a, 1))
    loss, cache = rnn_forward(X, Y, a0, p)
    loss_ref, cache_ref = rnn_forward_stepwise(X, Y, a0, p)
    assert isinstance(loss, float) and loss == loss_ref
    gradients, a = rnn_backward(X, Y, p, cache)
    gradients_ref, a_ref = rnn_backward_stepwise(X, Y, p, cache_ref)
    np.testing.assert_array_equal(a, a_ref)
    assert a.shape == (T, n_a, 1)
    assert set(gradients) == set(GRADIENT_NAMES)
    for name in GRADIENT_NAMES:
        assert gradients[name].shape == gradients_ref[name].shape, name
        np.testing.assert_array_equal(gradients[name], gradients_ref[name], err_msg=name)


def test_fast_functions_handle_repeated_inputs_and_inputs_without_none():
    p = random_parameters(6, 5, 1.0, seed=5)
    X, Y = [3, 3, 1, 3, None, 3], [3, 1, 3, 0, 3, 0]
    a0 = np.zeros((6, 1))
    gradients, _ = rnn_backward(X, Y, p, rnn_forward(X, Y, a0, p)[1])
    reference, _ = rnn_backward_stepwise(X, Y, p, rnn_forward_stepwise(X, Y, a0, p)[1])
    for name in GRADIENT_NAMES:
        np.testing.assert_array_equal(gradients[name], reference[name], err_msg=name)


def test_backward_matches_numerical_gradient_of_the_forward_loss():
    p = random_parameters(4, 5, 0.7, seed=6)
    X, Y = random_example(5, 5, seed=6)
    a0 = np.random.default_rng(7).normal(size=(4, 1))
    gradients, _ = rnn_backward(X, Y, p, rnn_forward(X, Y, a0, p)[1])
    for name in p:
        def loss_of(value, name=name):
            return np.array(rnn_forward(X, Y, a0, {**p, name: value})[0])
        numeric = numerical_gradient(loss_of, p[name].copy(), 1.0)
        assert relative_error(gradients["d" + name], numeric) < 1e-7, name


def test_forward_rejects_examples_of_unequal_length():
    p = random_parameters(3, 4, 1.0, seed=0)
    with pytest.raises(ValueError, match="X has 3 indices and Y has 2"):
        rnn_forward([None, 1, 2], [1, 2], np.zeros((3, 1)), p)


def test_forward_does_not_modify_its_inputs():
    p = random_parameters(3, 4, 1.0, seed=0)
    before = {k: v.copy() for k, v in p.items()}
    a0 = np.ones((3, 1))
    rnn_forward([None, 1, 2], [1, 2, 0], a0, p)
    np.testing.assert_array_equal(a0, np.ones((3, 1)))
    for name in p:
        np.testing.assert_array_equal(p[name], before[name])


def test_update_parameters_is_gradient_descent_in_place():
    p = random_parameters(3, 4, 1.0, seed=1)
    before = {k: v.copy() for k, v in p.items()}
    gradients = {"d" + k: np.full_like(v, 2.0) for k, v in p.items()}
    returned = update_parameters(p, gradients, 0.1)
    assert returned is p
    for name in p:
        np.testing.assert_allclose(p[name], before[name] - 0.2, rtol=1e-12)


def test_indices_to_name_and_print_sample(capsys):
    ix_to_char = {0: "\n", 1: "a", 2: "b", 3: "r"}
    assert indices_to_name([2, 1, 3, 1, 0], ix_to_char) == "Bara"
    assert indices_to_name([0], ix_to_char) == ""
    print_sample(np.array([3, 1, 0]), ix_to_char)
    assert capsys.readouterr().out == "Ra\n"
