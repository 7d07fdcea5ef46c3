"""Character vocabularies and integer encoding of text, shared by the text assignments."""

import numpy as np

from utils.paths import data_path


def load_text(name, lower=False):
    """Return the contents of data file ``name`` (UTF-8), lowercased if asked."""
    text = data_path(name).read_text(encoding="utf-8")
    return text.lower() if lower else text


class Vocabulary:
    """The sorted set of characters of a text, with index lookups both ways.

    Attributes:
    - chars: list of the distinct characters, sorted
    - char_to_ix: dict character -> index
    - ix_to_char: dict index -> character
    """

    def __init__(self, text):
        self.chars = sorted(set(text))
        self.char_to_ix = {ch: i for i, ch in enumerate(self.chars)}
        self.ix_to_char = dict(enumerate(self.chars))

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        """Return the indices of ``text`` as an int32 array of shape (len(text),)."""
        try:
            return np.fromiter((self.char_to_ix[ch] for ch in text), dtype=np.int32, count=len(text))
        except KeyError as err:
            raise ValueError(f"character {err.args[0]!r} is not in the vocabulary") from None

    def decode(self, indices):
        """Return the string spelled by a sequence of indices."""
        return "".join(self.ix_to_char[int(i)] for i in indices)
