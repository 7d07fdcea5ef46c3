"""The teaching figures of assignment 1 draw without errors and show what they say."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from utils.rnn_figures import draw_lstm_cell, draw_unrolled_rnn, plot_gradient_norms  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax):
    return [t.get_text() for t in ax.texts]


def test_unrolled_rnn_draws_one_cell_per_step():
    ax = draw_unrolled_rnn(steps=3)
    assert sum("RNN cell" in t for t in texts(ax)) == 3
    assert any(r"x^{\langle 3 \rangle}" in t for t in texts(ax))
    assert not any(r"x^{\langle 4 \rangle}" in t for t in texts(ax))


def test_unrolled_rnn_rejects_no_steps():
    with pytest.raises(ValueError, match="steps must be at least 1"):
        draw_unrolled_rnn(steps=0)


def test_unrolled_rnn_draws_on_a_given_axes():
    _, ax = plt.subplots()
    assert draw_unrolled_rnn(steps=2, ax=ax) is ax


def test_lstm_cell_names_its_four_gates_and_both_states():
    labels = " ".join(texts(draw_lstm_cell()))
    for gate in ("forget", "input", "candidate", "output"):
        assert gate in labels
    for state in (r"c^{\langle t-1 \rangle}", r"c^{\langle t \rangle}", r"a^{\langle t \rangle}"):
        assert state in labels


def test_gradient_norms_plot_one_log_scale_line_per_network():
    ax = plot_gradient_norms({"RNN": [1e-6, 1e-3, 1.0], "LSTM": [0.1, 0.5, 1.0]})
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["RNN", "LSTM"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [1e-6, 1e-3, 1.0])


@pytest.mark.parametrize("norms,message", [
    ({}, "norms is empty"),
    ({"RNN": [1.0, 0.0]}, "positive finite"),
    ({"RNN": [[1.0]]}, "1-D"),
])
def test_gradient_norms_reject_what_a_log_plot_cannot_show(norms, message):
    with pytest.raises(ValueError, match=message):
        plot_gradient_norms(norms)


def test_figures_are_skipped_when_the_autograder_runs(monkeypatch):
    monkeypatch.setenv("RNN_COURSE_GRADING", "1")
    assert draw_unrolled_rnn(steps=2) is None
    assert draw_lstm_cell() is None
    assert plot_gradient_norms({"RNN": [1.0]}) is None
    assert not plt.get_fignums()
