"""Time one generated character of the pretrained poet of assignment 5, three ways.

    python benchmarks/shakespeare_poet_bench.py [--calls 20]

``generate_output`` asks the model for the next character's probabilities once per character,
each time for a single (1, 40, 38) window. The three ways to ask differ a lot on a CPU:

- ``model(x, training=False)``: eager, the two LSTMs run operation by operation;
- ``model.predict(x)``: builds a data pipeline and callbacks on every call;
- ``model.predict_on_batch(x)``: the compiled predict graph (what the course uses).

Prints the mean wall-clock and CPU time per call of each, and the load average (the machine
may be shared: wall time grows with the load, CPU time much less).
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from utils.shakespeare_utils import load_pretrained_model, one_hot_window, vocabulary  # noqa: E402


def time_calls(call, calls):
    """Return (wall, cpu) seconds per call, after one warm-up call (tracing)."""
    call()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        call()
    return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args(argv)

    model = load_pretrained_model()
    x = one_hot_window("shall i compare thee to a summer's day?\n", vocabulary().char_to_ix)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for name, call in [("model(x, training=False)", lambda: model(x, training=False)),
                       ("model.predict(x)", lambda: model.predict(x, verbose=0)),
                       ("model.predict_on_batch(x)", lambda: model.predict_on_batch(x))]:
        wall, cpu = time_calls(call, args.calls)
        print(f"{name:<28} {wall * 1000:8.1f} ms wall {cpu * 1000:8.1f} ms cpu per character")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
