"""Teaching figures for assignment 1: an unrolled RNN, an LSTM cell, gradient norms in time.

Each function draws on a matplotlib Axes (a new figure when ``ax`` is None) and returns it,
so a notebook can place figures side by side or add to them; in Jupyter a figure drawn in a
cell is shown below it.

When the autograder runs a notebook (``utils.course.is_grading``) the functions draw nothing
and return None: the grader's feedback needs no figures, and importing pyplot and rendering
three figures would be most of the notebook's grading time, once per student.
"""

import functools

import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from utils.course import is_grading

CELL_COLOR = "#cfe2f3"
GATE_COLOR = "#f9cb9c"
OP_COLOR = "#d9ead3"


def _skipped_when_grading(draw):
    """Make ``draw`` return None without drawing (or importing pyplot) when grading."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        if is_grading():
            return None
        return draw(*args, **kwargs)
    return wrapper


def _axes(ax, size):
    import matplotlib.pyplot as plt  # here, not at the top: pyplot is slow to import

    if ax is None:
        _, ax = plt.subplots(figsize=size)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _arrow(ax, start, end, color="black"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                 color=color, linewidth=1.3, shrinkA=0, shrinkB=0))


def _box(ax, center, width, height, label, color, fontsize=11):
    x, y = center
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.1",
                                facecolor=color, edgecolor="black"))
    ax.text(x, y, label, ha="center", va="center", fontsize=fontsize)


def _op(ax, center, label):
    ax.add_patch(Circle(center, 0.22, facecolor=OP_COLOR, edgecolor="black"))
    ax.text(*center, label, ha="center", va="center", fontsize=11)


@_skipped_when_grading
def draw_unrolled_rnn(steps=4, ax=None):
    """Draw an RNN unrolled over ``steps`` time steps: the same cell (same weights) at every
    step, reading x<t> and a<t-1>, writing a<t> and the prediction y<t>.

    Inputs:
    - steps: number of time steps drawn, at least 1
    - ax: matplotlib Axes to draw on, or None for a new figure

    Returns:
    - the matplotlib Axes (None when grading)
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    ax = _axes(ax, (2.2 * steps + 1.5, 3.6))
    spacing = 2.4
    ax.text(-1.35, 0, r"$a^{\langle 0 \rangle}$", ha="center", va="center", fontsize=12)
    for step in range(steps):
        x = spacing * step
        t = step + 1
        _box(ax, (x, 0), 1.2, 0.9, "RNN cell\n" + r"$W_{ax}, W_{aa}, b_a$", CELL_COLOR, fontsize=9)
        ax.text(x, -1.75, rf"$x^{{\langle {t} \rangle}}$", ha="center", va="center", fontsize=12)
        _arrow(ax, (x, -1.5), (x, -0.47))
        ax.text(x, 1.75, rf"$\hat y^{{\langle {t} \rangle}}$", ha="center", va="center", fontsize=12)
        _arrow(ax, (x, 0.47), (x, 1.45))
        _arrow(ax, (x - spacing + 0.62 if step else -1.05, 0), (x - 0.62, 0))
        ax.text(x + spacing / 2, 0.22, rf"$a^{{\langle {t} \rangle}}$", ha="center", fontsize=11)
    _arrow(ax, (spacing * (steps - 1) + 0.62, 0), (spacing * (steps - 1) + 1.6, 0))
    ax.set_xlim(-1.8, spacing * (steps - 1) + 1.9)
    ax.set_ylim(-2.1, 2.1)
    ax.set_title("An RNN unrolled in time: one cell, the same parameters at every step")
    return ax


@_skipped_when_grading
def draw_lstm_cell(ax=None):
    """Draw one LSTM cell: the memory line c<t-1> -> c<t> across the top, the four gates fed
    by [a<t-1>; x<t>] along the bottom, and the element-wise products that combine them.

    Inputs:
    - ax: matplotlib Axes to draw on, or None for a new figure

    Returns:
    - the matplotlib Axes (None when grading)
    """
    ax = _axes(ax, (9, 5))
    ax.add_patch(FancyBboxPatch((0, 0), 8, 4.4, boxstyle="round,pad=0.05,rounding_size=0.3",
                                facecolor="#f3f3f3", edgecolor="black"))
    top, gates_y = 3.6, 1.2
    # Memory line: c<t-1> is scaled by the forget gate, then the new content is added.
    ax.text(-0.9, top, r"$c^{\langle t-1 \rangle}$", ha="center", va="center", fontsize=13)
    ax.text(8.9, top, r"$c^{\langle t \rangle}$", ha="center", va="center", fontsize=13)
    _arrow(ax, (-0.5, top), (1.28, top))
    _op(ax, (1.5, top), r"$\times$")
    _arrow(ax, (1.72, top), (3.78, top))
    _op(ax, (4.0, top), "+")
    _arrow(ax, (4.22, top), (8.5, top))
    gates = [(1.5, r"$\sigma$", r"$\Gamma_f$ forget"), (3.0, r"$\sigma$", r"$\Gamma_i$ input"),
             (4.0, "tanh", r"$\tilde c$ candidate"), (5.5, r"$\sigma$", r"$\Gamma_o$ output")]
    for x, label, name in gates:
        _box(ax, (x, gates_y), 0.8, 0.55, label, GATE_COLOR)
        ax.text(x, gates_y - 0.55, name, ha="center", va="top", fontsize=8)
        _arrow(ax, (x, 0.35), (x, gates_y - 0.28))
    # Gate outputs: forget to the memory line, input x candidate added to it, output x tanh(c).
    _arrow(ax, (1.5, gates_y + 0.28), (1.5, top - 0.22))
    _op(ax, (3.5, 2.3), r"$\times$")
    _arrow(ax, (3.0, gates_y + 0.28), (3.38, 2.1))
    _arrow(ax, (4.0, gates_y + 0.28), (3.62, 2.1))
    _arrow(ax, (3.6, 2.5), (3.92, top - 0.2))
    _box(ax, (6.6, 2.75), 0.8, 0.45, "tanh", GATE_COLOR)
    _arrow(ax, (6.6, top), (6.6, 2.98))
    _op(ax, (6.6, 1.8), r"$\times$")
    _arrow(ax, (6.6, 2.52), (6.6, 2.02))
    _arrow(ax, (5.5, gates_y + 0.28), (6.4, 1.7))
    _arrow(ax, (6.82, 1.8), (8.5, 1.8))
    ax.text(8.9, 1.8, r"$a^{\langle t \rangle}$", ha="center", va="center", fontsize=13)
    # The gates all read the stacked input [a<t-1>; x<t>].
    ax.plot([0.6, 5.5], [0.35, 0.35], color="black", linewidth=1.3)
    ax.text(-0.9, 0.35, r"$a^{\langle t-1 \rangle}$", ha="center", va="center", fontsize=13)
    ax.text(0.6, -0.45, r"$x^{\langle t \rangle}$", ha="center", va="center", fontsize=13)
    ax.plot([-0.5, 0.6], [0.35, 0.35], color="black", linewidth=1.3)
    ax.plot([0.6, 0.6], [-0.2, 0.35], color="black", linewidth=1.3)
    ax.text(2.3, 0.1, r"$[a^{\langle t-1 \rangle}; x^{\langle t \rangle}]$", ha="center",
            va="center", fontsize=9)
    ax.set_xlim(-1.4, 9.4)
    ax.set_ylim(-0.8, 4.8)
    ax.set_title("LSTM cell: gates decide what the memory keeps, adds and shows")
    return ax


@_skipped_when_grading
def plot_gradient_norms(norms, ax=None):
    """Plot, on a log scale, the norm of da<t> at each time step t for one or more networks.

    Inputs:
    - norms: dict {label: sequence of T positive floats}, entry t is ||da<t>|| for the loss
      at the last step
    - ax: matplotlib Axes to draw on, or None for a new figure

    Returns:
    - the matplotlib Axes (None when grading)
    """
    if not norms:
        raise ValueError("norms is empty: give at least one {label: norms} entry")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for label, values in norms.items():
        values = np.asarray(values, dtype=float)
        if values.ndim != 1 or np.any(values <= 0) or not np.all(np.isfinite(values)):
            raise ValueError(f"norms[{label!r}] must be a 1-D sequence of positive finite numbers")
        ax.semilogy(np.arange(len(values)), values, marker=".", label=label)
    ax.set_xlabel(r"time step $t$ (the loss is at the last step)")
    ax.set_ylabel(r"$\|\partial L / \partial a^{\langle t \rangle}\|$")
    ax.set_title("Gradient reaching each time step")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax
