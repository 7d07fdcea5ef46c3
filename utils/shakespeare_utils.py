"""The Sonnets poet of assignment 5: the corpus, the held-out sonnet, the pretrained model.

Importing this module reads no file, builds no data set and loads no model; TensorFlow is
imported only by the functions that need it. Students write the windows, the one-hot
vectors, the model, the sampling and the generation themselves (the notebook's graded
exercises), so their reference versions are not here, where students would receive them:
they are instructor-side, in ``training/poet_reference.py``. This module gives the notebook
and the training script what is not an exercise: the corpus and its 38 symbols, the held-out
sonnet, the pretrained model, per-character probabilities and perplexity, a progress bar.

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
