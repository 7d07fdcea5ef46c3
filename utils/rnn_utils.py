"""The vanilla character-level RNN of assignment 2 (Dinosaur Island), forward and backward.

One example is one name: a list ``X`` of input indices (``None`` stands for the zero vector
that starts every name) and a list ``Y`` of target indices, ``Y[t] = X[t + 1]`` with ``\\n``
last. Vectors are columns, as in the lectures; the parameters are a dict::

    a<t> = tanh(Wax x<t> + Waa a<t-1> + b)      Wax (n_a, n_x), Waa (n_a, n_a), b (n_a, 1)
    y<t> = softmax(Wya a<t> + by)               Wya (n_y, n_a), by (n_y, 1)

``rnn_step_forward`` and ``rnn_step_backward`` are one step, written as plainly as the
equations. ``rnn_forward`` and ``rnn_backward`` run a whole name. They are what training
calls, tens of thousands of times, so they avoid the work that does not change a number:
a product with a one-hot vector is a column of ``Wax``, and everything that does not feed
the recurrence (softmax, loss, the outer products of the weight gradients) is done for all
steps at once. Every floating-point operation is still the one the step functions do, in the
same order, so the results are identical to running the step functions in a loop, which is
what ``rnn_forward_stepwise`` and ``rnn_backward_stepwise`` do (``tests/test_rnn_utils.py``
checks it bit for bit; ``benchmarks/dinosaur_island_bench.py`` times both).
"""

import numpy as np

PARAMETER_NAMES = ("Wax", "Waa", "Wya", "b", "by")
GRADIENT_NAMES = ("dWax", "dWaa", "dWya", "db", "dby")


def softmax(z):
    """Column-wise softmax, shifted by each column's maximum so that exp cannot overflow.

    Inputs:
    - z: scores, array of shape (n, m) or (n,)

    Returns:
    - probabilities of the shape of z; each column sums to 1
    """
    return _softmax(z, axis=0)


def _softmax(z, axis):
    # np.maximum.reduce and np.add.reduce are what np.max and np.sum call, without the
    # Python wrappers (which cost more than the arithmetic on 27 numbers).
    e = np.exp(z - np.maximum.reduce(z, axis=axis, keepdims=True))
    return e / np.add.reduce(e, axis=axis, keepdims=True)


def smooth(loss, cur_loss):
    """Exponential moving average of the loss: 0.999 of the old value, 0.001 of the new one."""
    return loss * 0.999 + cur_loss * 0.001


def get_initial_loss(vocab_size, seq_length):
    """Loss of a model that predicts every character with probability 1 / vocab_size, over
    ``seq_length`` characters: the value the smoothed loss starts from."""
    return -np.log(1.0 / vocab_size) * seq_length


def initialize_parameters(n_a, n_x, n_y, seed=1):
    """Small random weights and zero biases.

    Inputs:
    - n_a: number of hidden units
    - n_x: size of the input vectors (the vocabulary size)
    - n_y: size of the output vectors (the vocabulary size)
    - seed: seed of the numpy Generator that draws the weights

    Returns:
    - parameters: dict with Wax (n_a, n_x), Waa (n_a, n_a), Wya (n_y, n_a), b (n_a, 1),
      by (n_y, 1)
    """
    rng = np.random.default_rng(seed)
    return {
        "Wax": rng.standard_normal((n_a, n_x)) * 0.01,
        "Waa": rng.standard_normal((n_a, n_a)) * 0.01,
        "Wya": rng.standard_normal((n_y, n_a)) * 0.01,
        "b": np.zeros((n_a, 1)),
        "by": np.zeros((n_y, 1)),
    }


def one_hot_column(index, size):
    """Return the one-hot column (size, 1) of ``index``; ``None`` gives the zero vector."""
    x = np.zeros((size, 1))
    if index is not None:
        x[index] = 1.0
    return x


# ------------------------------------------------------------------- one step, plainly

def rnn_step_forward(parameters, a_prev, x):
    """One step forward.

    Inputs:
    - parameters: dict with Wax, Waa, Wya, b, by (see the module docstring)
    - a_prev: previous hidden state, (n_a, 1)
    - x: input, a one-hot column (n_x, 1) (zeros for the first step)

    Returns:
    - a_next: new hidden state, (n_a, 1)
    - y_hat: probabilities of the next character, (n_y, 1)
    """
    a_next = np.tanh(np.dot(parameters["Wax"], x) + np.dot(parameters["Waa"], a_prev)
                     + parameters["b"])
    y_hat = softmax(np.dot(parameters["Wya"], a_next) + parameters["by"])
    return a_next, y_hat


def rnn_step_backward(dy, da_next, parameters, x, a, a_prev, gradients):
    """One step backward; adds this step's parameter gradients to ``gradients`` in place.

    Inputs:
    - dy: gradient of the loss with respect to the scores Wya a + by, (n_y, 1)
      (for softmax and cross-entropy: y_hat with 1 subtracted at the target)
    - da_next: gradient flowing into a from the following step, (n_a, 1)
    - parameters: dict with Wax, Waa, Wya, b, by
    - x: this step's input, (n_x, 1); a: this step's hidden state, (n_a, 1);
      a_prev: the previous hidden state, (n_a, 1)
    - gradients: dict with dWax, dWaa, dWya, db, dby, the sums over later steps

    Returns:
    - da_prev: gradient flowing into a_prev, (n_a, 1)
    """
    gradients["dWya"] += np.dot(dy, a.T)
    gradients["dby"] += dy
    da = np.dot(parameters["Wya"].T, dy) + da_next
    daraw = (1 - a * a) * da  # back through tanh: d tanh(u) / du = 1 - tanh(u)^2
    gradients["db"] += daraw
    gradients["dWax"] += np.dot(daraw, x.T)
    gradients["dWaa"] += np.dot(daraw, a_prev.T)
    return np.dot(parameters["Waa"].T, daraw)


def zero_gradients(parameters):
    """Return a dict of zero arrays dWax, dWaa, dWya, db, dby shaped like the parameters."""
    return {"d" + name: np.zeros_like(parameters[name]) for name in PARAMETER_NAMES}


# ------------------------------------------------------------------- a whole name, plainly

def rnn_forward_stepwise(X, Y, a0, parameters):
    """rnn_forward written as a loop over rnn_step_forward with one-hot inputs: the
    definition that rnn_forward must reproduce exactly (same inputs and returns)."""
    _check_example(X, Y)
    n_x = parameters["Wax"].shape[1]
    a, y_hat = [], []
    a_prev, loss = a0, 0.0
    for t in range(len(X)):
        a_prev, y_t = rnn_step_forward(parameters, a_prev, one_hot_column(X[t], n_x))
        a.append(a_prev)
        y_hat.append(y_t)
        loss -= np.log(y_t[Y[t], 0])
    return float(loss), (a0, np.array(a), np.array(y_hat))


def rnn_backward_stepwise(X, Y, parameters, cache):
    """rnn_backward written as a loop over rnn_step_backward: the definition that
    rnn_backward must reproduce exactly (same inputs and returns, for a stepwise cache)."""
    _check_example(X, Y)
    a0, a, y_hat = cache
    n_x = parameters["Wax"].shape[1]
    gradients = zero_gradients(parameters)
    da_next = np.zeros_like(a0)
    for t in reversed(range(len(X))):
        dy = np.copy(y_hat[t])
        dy[Y[t]] -= 1
        a_prev = a[t - 1] if t > 0 else a0
        da_next = rnn_step_backward(dy, da_next, parameters, one_hot_column(X[t], n_x),
                                    a[t], a_prev, gradients)
    return gradients, a


# ------------------------------------------------------------------- a whole name, fast

def _check_example(X, Y):
    if len(X) != len(Y):
        raise ValueError(f"X has {len(X)} indices and Y has {len(Y)}: they must be equally "
                         "long (Y is X shifted by one, ending with the newline index)")
    if len(X) == 0:
        raise ValueError("X is empty: an example has at least one step")


def rnn_forward(X, Y, a0, parameters):
    """Forward pass over one example, and its cross-entropy loss.

    Inputs:
    - X: list of T input indices; None means the zero vector (the start of a name)
    - Y: list of T target indices
    - a0: initial hidden state, (n_a, 1)
    - parameters: dict with Wax (n_a, n_x), Waa (n_a, n_a), Wya (n_y, n_a), b (n_a, 1),
      by (n_y, 1)

    Returns:
    - loss: float, -sum_t log y_hat<t>[Y[t]]
    - cache: what rnn_backward needs (the hidden states and probabilities of every step)
    """
    _check_example(X, Y)
    Wax, Waa, Wya, b, by = (parameters[name] for name in PARAMETER_NAMES)
    T = len(X)
    targets = np.array(Y, dtype=np.intp)
    wax_columns = np.ascontiguousarray(Wax.T)[:, :, np.newaxis]  # [k] is Wax x, x one-hot at k
    a = np.empty((T, Waa.shape[0], 1))
    scores = np.empty((T, Wya.shape[0], 1))
    a_prev = a0
    for ix, a_t, scores_t in zip(X, a, scores):
        Waa.dot(a_prev, a_t)
        if ix is not None:  # the zero vector adds nothing
            a_t += wax_columns[ix]
        a_t += b
        np.tanh(a_t, out=a_t)
        Wya.dot(a_t, scores_t)
        a_prev = a_t

    # The outputs do not feed the recurrence: softmax and loss for every step at once.
    scores += by
    y_hat = _softmax(scores, axis=1)
    loss = 0.0
    for log_p in np.log(y_hat[np.arange(T), targets, 0]).tolist():
        loss -= log_p
    return loss, (a0, a, y_hat, targets)


def rnn_backward(X, Y, parameters, cache):
    """Backward pass over one example (backpropagation through time).

    Inputs:
    - X, Y: the lists given to rnn_forward
    - parameters: dict with Wax, Waa, Wya, b, by
    - cache: from rnn_forward

    Returns:
    - gradients: dict with dWax (n_a, n_x), dWaa (n_a, n_a), dWya (n_y, n_a), db (n_a, 1),
      dby (n_y, 1): gradients of the loss summed over the T steps
    - a: hidden states, array (T, n_a, 1); a[t] is the state after step t, so
      a[len(X) - 1] is the last one
    """
    _check_example(X, Y)
    a0, a, y_hat, targets = cache
    T, n_a = a.shape[0], a.shape[1]
    dy = y_hat.copy()
    dy[np.arange(T), targets, 0] -= 1
    dtanh = 1 - a * a  # d tanh(u) / du = 1 - tanh(u)^2

    # The recurrence backwards, one step at a time.
    Wya_T, Waa_T = parameters["Wya"].T, parameters["Waa"].T
    daraw = np.empty((T, n_a, 1))
    da = np.empty((n_a, 1))
    da_next = np.zeros((n_a, 1))
    for dy_t, dtanh_t, daraw_t in zip(dy[::-1], dtanh[::-1], daraw[::-1]):
        Wya_T.dot(dy_t, da)
        da += da_next
        np.multiply(dtanh_t, da, out=daraw_t)
        da_next = Waa_T.dot(daraw_t)

    # Sums over the steps, added last step first as the step-by-step backward adds them.
    # Each product of an outer product is one multiplication, so forming them all at once
    # changes no number; np.add.reduce over axis 0 adds the steps one after the other.
    dy_r, daraw_r = dy[::-1, :, 0], daraw[::-1, :, 0]
    a_prev_r = np.concatenate([a[-2::-1, :, 0], a0.T])
    d_wax_rows = np.zeros(parameters["Wax"].shape[::-1])
    for ix, daraw_t in zip(X[::-1], daraw_r):
        if ix is not None:  # a one-hot x adds daraw to one column of dWax
            d_wax_rows[ix] += daraw_t
    gradients = {
        "dWax": d_wax_rows.T.copy(),
        "dWaa": np.add.reduce(np.einsum("ti,tj->tij", daraw_r, a_prev_r), axis=0),
        "dWya": np.add.reduce(np.einsum("ti,tj->tij", dy_r, a[::-1, :, 0]), axis=0),
        "db": np.add.reduce(daraw[::-1], axis=0),
        "dby": np.add.reduce(dy[::-1], axis=0),
    }
    return gradients, a


def update_parameters(parameters, gradients, learning_rate):
    """One step of gradient descent, in place: W -= learning_rate * dW for every parameter.

    Returns:
    - parameters: the same dict, updated
    """
    for name in PARAMETER_NAMES:
        parameters[name] -= learning_rate * gradients["d" + name]
    return parameters


# --------------------------------------------------------------------------- printing

def indices_to_name(indices, ix_to_char):
    """Return the name spelled by sampled indices: newline removed, first letter capitalised."""
    text = "".join(ix_to_char[int(ix)] for ix in indices).replace("\n", "")
    return text[:1].upper() + text[1:]


def print_sample(indices, ix_to_char):
    """Print the name spelled by sampled indices (see indices_to_name)."""
    print(indices_to_name(indices, ix_to_char))
