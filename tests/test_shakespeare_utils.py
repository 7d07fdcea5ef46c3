"""utils.shakespeare_utils (corpus, held-out sonnet, shipped model, perplexity) and the reference
versions of the graded functions of assignment 5 (training/poet_reference.py)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from utils import shakespeare_utils as su

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "training"))
import poet_reference as ref  # noqa: E402  (instructor-side module, not a package)


def test_import_has_no_side_effects():
    code = ("import sys, builtins; opened = []; real = builtins.open\n"
            "builtins.open = lambda *a, **k: (opened.append(a[0]), real(*a, **k))[1]\n"
            "import utils.shakespeare_utils\n"
            "assert 'tensorflow' not in sys.modules, 'imported tensorflow'\n"
            "assert not [p for p in opened if str(p).endswith(('.txt', '.keras'))], opened\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_corpus_has_the_38_symbols_and_the_held_out_sonnet_is_removed():
    text = su.load_corpus()
    assert len(text) == 94275 and "".join(sorted(set(text))) == su.CHARS
    training, held_out = su.split_held_out(text)
    assert held_out.startswith("shall i compare thee") and held_out.endswith("life to thee.\n")
    assert held_out.count("\n") == 14 and held_out not in training
    assert "summer's day" not in training
    assert len(training) == len(text) - len(held_out) - 1  # and the blank line after it


def test_build_data_windows_and_targets():
    X, Y = ref.build_data("abcdefghij", Tx=4, stride=3)
    assert X == ["abcd", "defg"] and Y == ["e", "h"]
    X, Y = ref.build_data(su.load_corpus())
    assert len(X) == len(Y) == 31412 and {len(w) for w in X} == {40}


def test_vectorization_is_exact_one_hot():
    x, y = ref.vectorization(["abc", "cab"], ["a", "b"], {"a": 0, "b": 1, "c": 2}, Tx=3)
    assert x.dtype == bool and x.shape == (2, 3, 3) and y.shape == (2, 3)
    np.testing.assert_array_equal(x[1], [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(y, [[1, 0, 0], [0, 1, 0]])


def test_sample_follows_the_tempered_distribution():
    probs = np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32)
    rng = np.random.default_rng(0)
    for temperature in (1.0, 0.5):
        draws = [ref.sample(probs, temperature, rng) for _ in range(8000)]
        expected = probs ** (1 / temperature) / np.sum(probs ** (1 / temperature))
        np.testing.assert_allclose(np.bincount(draws, minlength=4) / 8000, expected, atol=0.02)
    assert {ref.sample(probs, 0.01, rng) for _ in range(100)} == {3}
    same = [ref.sample(probs, 1.0, np.random.default_rng(5)) for _ in range(3)]
    assert len(set(same)) == 1


def test_one_hot_window_left_pads_and_keeps_the_last_tx_characters():
    c2i = {"a": 0, "b": 1}
    np.testing.assert_array_equal(su.one_hot_window("ab", c2i, Tx=3)[0], [[0, 0], [1, 0], [0, 1]])
    np.testing.assert_array_equal(su.one_hot_window("bbab", c2i, Tx=2)[0], [[1, 0], [0, 1]])


@pytest.fixture(scope="module")
def tiny_model():
    from utils.tf_setup import keras

    model = ref.poet_model(Tx=su.TX, n_x=len(su.CHARS), n_a=8, dropout=0.1)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(scale=0.5, size=w.shape) for w in model.get_weights()])
    assert isinstance(model, keras.Model)
    return model


def test_poet_model_structure(tiny_model):
    kinds = [type(layer).__name__ for layer in tiny_model.layers]
    assert kinds == ["InputLayer", "LSTM", "Dropout", "LSTM", "Dropout", "Dense"]
    assert tiny_model.output_shape == (None, 38)


def test_generate_output_length_characters_and_determinism(tiny_model):
    poem = ref.generate_output(tiny_model, "Forsooth ", 30, 1.0, np.random.default_rng(1))
    assert poem.startswith("forsooth ") and len(poem) == 9 + 30 and set(poem) <= set(su.CHARS)
    assert poem == ref.generate_output(tiny_model, "Forsooth ", 30, 1.0, np.random.default_rng(1))
    with pytest.raises(ValueError, match="does not know"):
        ref.generate_output(tiny_model, "café", 5, 1.0, np.random.default_rng(1))


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    class Uniform:
        def predict(self, x, batch_size=None, verbose=0):
            return np.full((len(x), 38), 1 / 38)

    assert su.perplexity(Uniform(), "shall i compare") == pytest.approx(38)


def test_tqdm_callback_counts_batches(tiny_model):
    from utils.tf_setup import keras

    model = keras.Sequential([keras.Input((3, 2)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    callback = su.tqdm_callback(total_batches=4)
    model.fit(np.zeros((8, 3, 2)), np.zeros((8, 3, 1)), batch_size=2, verbose=0, callbacks=[callback])
    assert callback.bar.n == 4


@pytest.mark.skipif(not su.MODEL_PATH.is_file(), reason="pretrained model not trained yet")
def test_shipped_model_loads_and_predicts_the_38_symbols():
    model = su.load_pretrained_model()
    assert model.input_shape == (None, 40, 38) and model.output_shape == (None, 38)
    assert su.MODEL_PATH.stat().st_size < 5_000_000
    probs = model.predict(su.one_hot_window("shall i compare thee to a summer", su.vocabulary().char_to_ix),
                          verbose=0)
    assert probs.shape == (1, 38) and abs(probs.sum() - 1) < 1e-4
