"""Speed of the reference RNN of assignment 1: forward + backward over a sequence.

    python benchmarks/rnn_step_by_step_bench.py [--repeats N]

Times the reference `rnn_forward` + `rnn_backward` (taken from the source notebook's solution
cells, so the benchmark measures what students are compared with) at n_x = n_y = 66 (a
character vocabulary), n_a = 256, m = 64, T_x = 100, and prints milliseconds per call and
GFLOP/s next to `np.matmul` doing the same matrix products alone, and one large matmul as the
machine's practical peak. FLOPs count the matrix products only (2 * rows * inner * columns);
the element-wise work (tanh, softmax, additions) is part of the measured time but not counted.
Prints a figure, asserts nothing: the machine's load changes the numbers.

BLAS threads: these products are small, and on a machine busier than its cores a
multi-threaded BLAS spends its time waiting for its own threads (here 25 times slower than one
thread at a load of 13 on 2 cores). Compare `OPENBLAS_NUM_THREADS=1 python benchmarks/...` with
the default; the header line says which was used.
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

from autograder.grading import BEGIN_SOLUTION, END_SOLUTION, nbgrader_cells, read_notebook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "source" / "01_rnn_step_by_step" / "rnn_step_by_step.ipynb"
N_X, N_A, M, T_X = 66, 256, 64, 100
N_Y = N_X


def reference_functions():
    """Return a namespace holding the reference solutions of the source notebook."""
    namespace = {"np": np, "sigmoid": lambda z: 1 / (1 + np.exp(-z))}
    for cell in nbgrader_cells(read_notebook(NOTEBOOK)):
        if cell.metadata.nbgrader.get("solution") and cell.cell_type == "code":
            source = "\n".join(line for line in cell.source.splitlines()
                               if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION))
            exec(source, namespace)
    return namespace


def matmul_flops_per_step():
    """FLOPs of the matrix products of one time step: (forward, backward)."""
    forward = 2 * M * (N_A * N_X + N_A * N_A + N_Y * N_A)  # Wax x, Waa a, Wya a
    backward = 2 * M * (2 * N_A * N_X + 2 * N_A * N_A)  # dx, dWax, da_prev, dWaa
    return forward, backward


def best_time(fn, repeats):
    """Median wall time of ``fn()`` over ``repeats`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    ref = reference_functions()
    rng = np.random.default_rng(0)
    scale = 1 / np.sqrt(N_A + N_X)
    parameters = {"Wax": scale * rng.standard_normal((N_A, N_X)),
                  "Waa": scale * rng.standard_normal((N_A, N_A)),
                  "Wya": scale * rng.standard_normal((N_Y, N_A)),
                  "ba": np.zeros((N_A, 1)), "by": np.zeros((N_Y, 1))}
    x = rng.standard_normal((N_X, M, T_X))
    a0 = np.zeros((N_A, M))
    da = rng.standard_normal((N_A, M, T_X))

    def forward_backward():
        _, _, caches = ref["rnn_forward"](x, a0, parameters)
        ref["rnn_backward"](da, caches)

    def forward_only():
        ref["rnn_forward"](x, a0, parameters)

    # The same products, np.matmul alone: per step 3 forward and 4 backward products.
    Wax, Waa, Wya = parameters["Wax"], parameters["Waa"], parameters["Wya"]
    xt, at, dz = x[:, :, 0].copy(), rng.standard_normal((N_A, M)), rng.standard_normal((N_A, M))

    def matmuls_only():
        for _ in range(T_X):
            np.matmul(Wax, xt), np.matmul(Waa, at), np.matmul(Wya, at)
            np.matmul(Wax.T, dz), np.matmul(dz, xt.T), np.matmul(Waa.T, dz), np.matmul(dz, at.T)

    # Practical peak: the recurrent product of all steps at once, (n_a, n_a) @ (n_a, m * T_x).
    wide = rng.standard_normal((N_A, M * T_X))

    def one_large_matmul():
        np.matmul(Waa, wide)

    forward_flops, backward_flops = matmul_flops_per_step()
    total = (forward_flops + backward_flops) * T_X
    rows = [
        ("reference rnn_forward + rnn_backward", best_time(forward_backward, args.repeats), total),
        ("reference rnn_forward alone", best_time(forward_only, args.repeats), forward_flops * T_X),
        ("np.matmul, the same products alone", best_time(matmuls_only, args.repeats), total),
        (f"np.matmul ({N_A}, {N_A}) @ ({N_A}, {M * T_X}), one call",
         best_time(one_large_matmul, args.repeats), 2 * N_A * N_A * M * T_X),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    threads = os.environ.get("OPENBLAS_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "default"))
    print(f"n_x = n_y = {N_X}, n_a = {N_A}, m = {M}, T_x = {T_X}; float64; "
          f"median of {args.repeats} runs; BLAS threads: {threads}; "
          f"load average {load:.1f} on {os.cpu_count()} CPUs")
    print(f"matrix-product work of forward + backward: {total / 1e9:.2f} GFLOP per call\n")
    print(f"{'what':<48}{'ms/call':>10}{'GFLOP/s':>10}")
    for label, seconds, flops in rows:
        print(f"{label:<48}{seconds * 1e3:>10.1f}{flops / seconds / 1e9:>10.1f}")


if __name__ == "__main__":
    main()
