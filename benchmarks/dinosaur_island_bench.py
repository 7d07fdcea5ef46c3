"""Time the reference model() run of assignment 2 (Dinosaur Island), fast vs step by step.

    python benchmarks/dinosaur_island_bench.py [--iterations 35000]

Runs the reference solution of the source notebook (its clip, sample, optimize and model
cells) exactly as a student's notebook calls it, twice:

- with the provided ``rnn_forward`` / ``rnn_backward`` of ``utils.rnn_utils``;
- with ``rnn_forward_stepwise`` / ``rnn_backward_stepwise``, the straightforward loop over
  one-step functions with one-hot vectors.

It prints the wall-clock and CPU time of each run, the load average (the machine may be
shared: wall time grows with the load, CPU time much less), and whether the two runs agree
bit for bit: the loss history, every trained parameter and every printed sample.
"""

import argparse
import contextlib
import io
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.grading import BEGIN_SOLUTION, END_SOLUTION, get_assignment, read_notebook  # noqa: E402
from utils import rnn_utils  # noqa: E402
from utils.text import Vocabulary, load_text  # noqa: E402

GRADED_FUNCTIONS = ("clip", "sample", "optimize", "model")


def reference_namespace():
    """Return a namespace holding the notebook's imports and its reference solutions."""
    from tqdm.auto import tqdm

    namespace = {"np": np, "tqdm": tqdm}
    namespace.update({name: getattr(rnn_utils, name) for name in (
        "get_initial_loss", "initialize_parameters", "print_sample", "indices_to_name",
        "rnn_backward", "rnn_forward", "smooth", "softmax", "update_parameters")})
    notebook = read_notebook(get_assignment("02_dinosaur_island").source_notebook)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in notebook.cells}
    for name in GRADED_FUNCTIONS:
        lines = [line for line in cells[name].splitlines()
                 if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION)]
        exec("\n".join(lines), namespace)
    return namespace


def timed_run(namespace, forward, backward, names, vocab, iterations):
    """Run model() as the notebook does; return (seconds, cpu seconds, parameters, losses,
    printed text)."""
    namespace["rnn_forward"], namespace["rnn_backward"] = forward, backward
    printed = io.StringIO()
    start, start_cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(printed), open(os.devnull, "w") as devnull, \
            contextlib.redirect_stderr(devnull):
        parameters, losses = namespace["model"](names, vocab.ix_to_char, vocab.char_to_ix,
                                                num_iterations=iterations)
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return seconds, cpu, parameters, losses, printed.getvalue()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=35000)
    args = parser.parse_args(argv)

    data = load_text("dinos.txt", lower=True)
    names, vocab = data.split("\n"), Vocabulary(data)
    namespace = reference_namespace()
    print(f"model(): {args.iterations} iterations, n_a=50; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    fast = timed_run(namespace, rnn_utils.rnn_forward, rnn_utils.rnn_backward,
                     names, vocab, args.iterations)
    print(f"provided (fast) rnn_forward/rnn_backward: {fast[0]:6.1f} s wall, {fast[1]:6.1f} s CPU")
    plain = timed_run(namespace, rnn_utils.rnn_forward_stepwise, rnn_utils.rnn_backward_stepwise,
                      names, vocab, args.iterations)
    print(f"step-by-step rnn_forward/rnn_backward:    {plain[0]:6.1f} s wall, {plain[1]:6.1f} s CPU")
    print(f"speed-up: {plain[0] / fast[0]:.2f}x wall, {plain[1] / fast[1]:.2f}x CPU; load average "
          f"after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    same_losses = np.array_equal(fast[3], plain[3])
    same_parameters = all(np.array_equal(fast[2][k], plain[2][k]) for k in fast[2])
    same_printed = fast[4] == plain[4]
    print(f"identical loss history: {same_losses}; identical parameters: {same_parameters}; "
          f"identical printed samples: {same_printed}")
    print(f"final smoothed loss: {fast[3][-1]:.6f}")

    rng = np.random.default_rng(0)
    sampled = [rnn_utils.indices_to_name(namespace["sample"](fast[2], vocab.char_to_ix, rng),
                                         vocab.ix_to_char) for _ in range(10)]
    print("ten names sampled from the trained model (rng seed 0):", ", ".join(sampled))
    return 0 if same_losses and same_parameters and same_printed else 1


if __name__ == "__main__":
    sys.exit(main())
