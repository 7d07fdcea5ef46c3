"""Reference versions of the graded functions of assignment 5 (instructor side, never exported).

The notebook's students write ``build_data``, ``vectorization``, ``poet_model``, ``sample`` and
``generate_output`` themselves; these trusted copies train the shipped model
(``train_shakespeare_poet.py``) and are tested in ``tests/test_shakespeare_utils.py``. They
live outside ``utils/`` because ``utils/`` is shipped to students.
"""

import numpy as np

from utils.shakespeare_utils import CHARS, STRIDE, TX, one_hot_window, vocabulary


def build_data(text, Tx=TX, stride=STRIDE):
    """Cut a text into overlapping windows, each labelled with the character that follows it.

    Inputs:
    - text: string of length N
    - Tx: window length
    - stride: characters between the starts of consecutive windows

    Returns:
    - X: list of m strings of length Tx, X[i] = text[i * stride : i * stride + Tx]
    - Y: list of m characters, Y[i] = text[i * stride + Tx]
    where m = len(range(0, N - Tx, stride)).
    """
    X, Y = [], []
    for start in range(0, len(text) - Tx, stride):
        X.append(text[start:start + Tx])
        Y.append(text[start + Tx])
    return X, Y


def vectorization(X, Y, char_to_ix, Tx=TX):
    """One-hot encode windows and their targets.

    Inputs:
    - X: list of m strings of length Tx
    - Y: list of m characters
    - char_to_ix: dict character -> index in [0, n_x)
    - Tx: window length

    Returns:
    - x: bool array of shape (m, Tx, n_x), x[i, t, char_to_ix[X[i][t]]] = True
    - y: bool array of shape (m, n_x), y[i, char_to_ix[Y[i]]] = True
    """
    n_x = len(char_to_ix)
    x = np.zeros((len(X), Tx, n_x), dtype=bool)
    y = np.zeros((len(Y), n_x), dtype=bool)
    for i, window in enumerate(X):
        for t, char in enumerate(window):
            x[i, t, char_to_ix[char]] = True
        y[i, char_to_ix[Y[i]]] = True
    return x, y


def poet_model(Tx=TX, n_x=len(CHARS), n_a=128, dropout=0.2):
    """The poet: two stacked LSTMs with dropout and a softmax over the next character.

    Inputs:
    - Tx, n_x: window length and number of symbols; the model reads (m, Tx, n_x)
    - n_a: units of each LSTM
    - dropout: rate of the Dropout layer after each LSTM

    Returns:
    - keras.Model mapping (m, Tx, n_x) one-hot windows to (m, n_x) probabilities
    """
    from utils.tf_setup import keras

    inputs = keras.Input(shape=(Tx, n_x), name="window")
    a = keras.layers.LSTM(n_a, return_sequences=True, name="lstm_1")(inputs)
    a = keras.layers.Dropout(dropout, name="dropout_1")(a)
    a = keras.layers.LSTM(n_a, name="lstm_2")(a)
    a = keras.layers.Dropout(dropout, name="dropout_2")(a)
    outputs = keras.layers.Dense(n_x, activation="softmax", name="next_char")(a)
    return keras.Model(inputs, outputs, name="poet")


def sample(probs, temperature, rng):
    """Draw an index from a probability vector reshaped by a temperature.

    The distribution drawn from is q_i = p_i^(1/T) / sum_j p_j^(1/T), computed from
    log-probabilities so that temperatures as low as 0.01 neither overflow nor underflow.

    Inputs:
    - probs: array of shape (n_x,), non-negative, summing to 1 (float32 or float64)
    - temperature: T > 0; below 1 sharpens the distribution, above 1 flattens it
    - rng: numpy.random.Generator, the only source of randomness

    Returns:
    - int in [0, n_x)
    """
    logits = np.log(np.asarray(probs, dtype=np.float64) + 1e-12) / temperature
    q = np.exp(logits - np.max(logits))
    q /= q.sum()
    return int(rng.choice(len(q), p=q))


def generate_output(model, seed_text, length=400, temperature=1.0, rng=None, vocab=None, Tx=TX):
    """Continue a poem from a prime, one sampled character at a time.

    Inputs:
    - model: keras.Model mapping (1, Tx, n_x) windows to (1, n_x) probabilities
    - seed_text: the prime; lowercased, and every character must be in the vocabulary
    - length: number of characters to generate
    - temperature: passed to ``sample``
    - rng: numpy.random.Generator (default: a fresh unseeded one)
    - vocab: utils.text.Vocabulary of the model's symbols (default: the 38 ``CHARS``)
    - Tx: window length the model reads

    Returns:
    - the poem: the lowercased prime followed by ``length`` generated characters
    """
    rng = np.random.default_rng() if rng is None else rng
    vocab = vocabulary() if vocab is None else vocab
    poem = seed_text.lower()
    unknown = sorted(set(poem) - set(vocab.chars))
    if unknown:
        raise ValueError(f"the prime contains characters the model does not know: {unknown}")
    for _ in range(length):
        # predict_on_batch runs the compiled graph: ~50x faster than an eager model(x) on CPU
        probs = np.asarray(model.predict_on_batch(one_hot_window(poem, vocab.char_to_ix, Tx)))[0]
        poem += vocab.ix_to_char[sample(probs, temperature, rng)]
    return poem
