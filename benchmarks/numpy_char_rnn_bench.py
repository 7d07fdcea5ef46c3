"""Speed of the batched char-RNN of assignment 3 against a per-example implementation.

    python benchmarks/numpy_char_rnn_bench.py [--repeats N]

Times one training step, forward + backward, at batch 2, 128 time steps, 256 hidden units
and 66 inputs/outputs (the set-up of the classic version of this lab), two ways:

- batched: the reference `VanillaRNN.forward` / `backward`, taken from the source notebook's
  cells so that the benchmark measures what students are compared with. The backward loop
  over time handles the whole batch per step; the weight gradients are one matrix product
  each over all (example, step) rows.
- per example: a straightforward implementation that loops over examples and steps and
  adds an outer product to every weight gradient at every step (the classic lab's approach).

Prints the best time of each, their ratio (target: at least 4x) and the largest difference
between the two implementations' gradients; exits non-zero if a gradient differs by more
than 1e-10. BLAS runs on one thread (as in the notebook). Prints the machine's load too:
other processes slow both implementations, so compare ratios, not seconds.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in the notebook; before numpy loads

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from autograder.grading import nbgrader_cells, read_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "source" / "03_numpy_char_rnn" / "numpy_char_rnn.ipynb"
BATCH, STEPS, HIDDEN, VOCAB = 2, 128, 256, 66
REFERENCE_CELLS = ("vanilla_rnn", "forward", "backward")


def reference_model_class():
    """Return the source notebook's VanillaRNN with its reference forward and backward."""
    cells = {cell.metadata.nbgrader.grade_id: cell.source
             for cell in nbgrader_cells(read_notebook(NOTEBOOK))}
    namespace = {"np": np}
    for grade_id in REFERENCE_CELLS:  # solution markers are comments: the cells run as they are
        exec(cells[grade_id], namespace)
    return namespace["VanillaRNN"]


def forward_per_example(params, x, h0):
    """Forward pass one example and one step at a time. Returns h (b, T, n_h), y_hat (b, T, n_out)."""
    b, T, _ = x.shape
    h = np.zeros((b, T, params["Whh"].shape[0]))
    y_hat = np.zeros((b, T, params["Wyh"].shape[0]))
    for i in range(b):
        h_prev = h0[i]
        for t in range(T):
            h_prev = np.tanh(params["Whx"] @ x[i, t] + params["Whh"] @ h_prev + params["bh"])
            scores = params["Wyh"] @ h_prev + params["by"]
            e = np.exp(scores - scores.max())
            h[i, t], y_hat[i, t] = h_prev, e / e.sum()
    return h, y_hat


def backward_per_example(params, x, h0, h, dy):
    """Backward pass adding one outer product per weight, example and step; batch-averaged."""
    b, T, _ = x.shape
    grads = {name: np.zeros_like(p) for name, p in params.items()}
    for i in range(b):
        dh_next = np.zeros(h.shape[-1])
        for t in reversed(range(T)):
            grads["Wyh"] += np.outer(dy[i, t], h[i, t])
            grads["by"] += dy[i, t]
            dz = (params["Wyh"].T @ dy[i, t] + dh_next) * (1 - h[i, t] ** 2)
            h_prev = h0[i] if t == 0 else h[i, t - 1]
            grads["Whx"] += np.outer(dz, x[i, t])
            grads["Whh"] += np.outer(dz, h_prev)
            grads["bh"] += dz
            dh_next = params["Whh"].T @ dz
    return {name: g / b for name, g in grads.items()}


def batch():
    """A seeded batch: one-hot inputs (b, T, V), targets (b, T) and an initial state (b, n_h)."""
    rng = np.random.default_rng(0)
    x = np.eye(VOCAB)[rng.integers(0, VOCAB, size=(BATCH, STEPS))]
    targets = rng.integers(0, VOCAB, size=(BATCH, STEPS))
    h0 = rng.normal(size=(BATCH, HIDDEN)) * 0.5
    return x, targets, h0


def best_time(function, repeats):
    """Return (best seconds over `repeats` calls, the last call's result)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed calls of each (best kept)")
    args = parser.parse_args(argv)

    model = reference_model_class()(VOCAB, HIDDEN, VOCAB, seed=0)
    x, targets, h0 = batch()
    one_hot_targets = np.eye(VOCAB)[targets]

    def batched_step():
        h, y_hat = model.forward(x, h0)
        return model.backward(x, h0, h, y_hat - one_hot_targets)

    def per_example_step():
        h, y_hat = forward_per_example(model.params, x, h0)
        return backward_per_example(model.params, x, h0, h, y_hat - one_hot_targets)

    batched_s, batched_grads = best_time(batched_step, args.repeats)
    per_example_s, per_example_grads = best_time(per_example_step, args.repeats)
    differences = {name: float(np.max(np.abs(batched_grads[name] - per_example_grads[name])))
                   for name in model.params}

    print(f"one training step (forward + backward): batch {BATCH}, {STEPS} steps, "
          f"{HIDDEN} hidden, {VOCAB} inputs; best of {args.repeats}; "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  per example (outer products): {per_example_s * 1e3:8.2f} ms")
    print(f"  batched (reference):          {batched_s * 1e3:8.2f} ms")
    print(f"  ratio: {per_example_s / batched_s:.1f}x faster (target: at least 4x)")
    print("  largest gradient difference: "
          + ", ".join(f"{name} {d:.1e}" for name, d in differences.items()))
    if max(differences.values()) > 1e-10:
        print("FAIL: the two implementations' gradients differ by more than 1e-10", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
