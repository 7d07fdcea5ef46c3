"""The Sonnets poet of assignment 5: data windows, one-hot vectors, sampling and generation.

Importing this module reads no file, builds no data set and loads no model; TensorFlow is
imported only by the functions that need it. The notebook's graded exercises ask students
to write their own versions of ``build_data``, ``vectorization``, ``poet_model``, ``sample``
and ``generate_output``; these are the trusted copies used by the training script
(``training/train_shakespeare_poet.py``) and by the notebook's demonstrations.

The corpus is ``data/shakespeare.txt`` lowercased: 38 symbols. Sonnet 18 ("shall i compare
thee to a summer's day?") is held out of the pretrained model's training text so that its
perplexity measures how the model does on a sonnet it has never seen.
"""

import numpy as np

from utils.paths import REPO_ROOT, data_path
from utils.text import Vocabulary

CORPUS_FILE = "shakespeare.txt"
# The 38 symbols of the lowercased corpus, sorted (index i of the model's softmax is CHARS[i]).
CHARS = "\n !'(),-.:;?abcdefghijklmnopqrstuvwxyz"
TX = 40
STRIDE = 3
HELD_OUT_FIRST_LINE = "shall i compare thee to a summer's day?"
HELD_OUT_LAST_LINE = "so long lives this, and this gives life to thee."
MODEL_PATH = REPO_ROOT / "models" / "shakespeare_poet" / "poet.keras"


def vocabulary():
    """Return the ``utils.text.Vocabulary`` of the 38 symbols, index order of the model."""
    return Vocabulary(CHARS)


def load_corpus():
    """Return the Sonnets lowercased: a string of 94,275 characters over the 38 ``CHARS``."""
    return data_path(CORPUS_FILE).read_text(encoding="utf-8").lower()


def split_held_out(text):
    """Take the held-out sonnet (18) out of the corpus.

    Inputs:
    - text: the lowercased corpus, as returned by ``load_corpus``

    Returns:
    - training_text: ``text`` with the sonnet and the blank line after it removed
    - held_out: the 14 lines of the sonnet, ending with a newline
    """
    start = text.index(HELD_OUT_FIRST_LINE)
    end = text.index(HELD_OUT_LAST_LINE, start) + len(HELD_OUT_LAST_LINE) + 1
    held_out = text[start:end]
    following_blank_lines = len(text[end:]) - len(text[end:].lstrip("\n"))
    return text[:start] + text[end + following_blank_lines:], held_out


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


def load_pretrained_model(path=MODEL_PATH):
    """Load the shipped poet (compiled, so it can train further); no network needed.

    Returns:
    - keras.Model reading (m, 40, 38) one-hot windows, returning (m, 38) probabilities
    """
    from utils.tf_setup import keras

    if not path.is_file():
        raise FileNotFoundError(f"pretrained model not found at {path}; "
                                "run training/train_shakespeare_poet.py to rebuild it")
    return keras.models.load_model(path)


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


def one_hot_window(text, char_to_ix, Tx=TX):
    """Encode the last Tx characters of ``text`` as one (1, Tx, n_x) input.

    A text shorter than Tx is left-padded with all-zero vectors, so its last character
    always sits at the last time step, where the model expects the most recent character.
    """
    x = np.zeros((1, Tx, len(char_to_ix)), dtype=np.float32)
    recent = text[-Tx:]
    offset = Tx - len(recent)
    for t, char in enumerate(recent):
        x[0, offset + t, char_to_ix[char]] = 1.0
    return x


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


def next_char_probabilities(model, text, vocab=None, Tx=TX, batch_size=512):
    """Return the model's probability of every character of ``text`` given the ones before it.

    Character t is predicted from the (up to) Tx characters before it, left-padded as in
    ``generate_output``; the first character is predicted from an all-zero window.

    Returns:
    - array of shape (len(text),): P(text[t] | text[max(0, t - Tx):t])
    """
    vocab = vocabulary() if vocab is None else vocab
    windows = np.concatenate([one_hot_window(text[:t], vocab.char_to_ix, Tx) for t in range(len(text))])
    probs = model.predict(windows, batch_size=batch_size, verbose=0)
    return probs[np.arange(len(text)), vocab.encode(text)]


def perplexity(model, text, vocab=None, Tx=TX):
    """Per-character perplexity exp(-mean log P(text[t] | previous characters)) of a text."""
    probs = next_char_probabilities(model, text, vocab, Tx)
    return float(np.exp(-np.mean(np.log(np.maximum(probs, 1e-12)))))


def tqdm_callback(total_batches, description="training"):
    """Return a Keras callback that shows training as a tqdm progress bar (a widget in Jupyter).

    Inputs:
    - total_batches: batches the whole ``fit`` will run (epochs x batches per epoch)
    - description: label shown left of the bar
    """
    from tqdm.auto import tqdm

    from utils.tf_setup import keras

    class TqdmProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=total_batches, desc=description)

        def on_train_batch_end(self, batch, logs=None):
            self.bar.update(1)
            if logs and "loss" in logs:
                self.bar.set_postfix(loss=f"{float(logs['loss']):.3f}")

        def on_train_end(self, logs=None):
            self.bar.close()

    return TqdmProgress()
