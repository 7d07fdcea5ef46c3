"""Training throughput of the shipped char-RNN configuration, float32 against mixed bfloat16.

    python benchmarks/tf_char_rnn_bench.py [--steps 5] [--hidden 512] [--batch 64]

Times clipped Adam steps of the model of training/train_tf_char_rnn.py (2 LSTM layers,
batches of 64 x 100 characters) in each precision, in a fresh process each (the Keras
precision policy is global), and prints characters per second. Record `uptime` with the
figures: on a shared machine contention changes them.
"""

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import sys, time
import numpy as np
sys.path.insert(0, {training!r})
from utils.tf_setup import keras, set_seed, tf
from train_tf_char_rnn import CharRNN
precision, hidden, batch, steps = {precision!r}, {hidden}, {batch}, {steps}
set_seed(0)
if precision == "mixed_bfloat16":
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    CharRNN.logits_dtype = "float32"
model = CharRNN(65, "lstm", 64, hidden, 2, 0.25)
optimizer = keras.optimizers.Adam(2e-3)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

@tf.function
def step(x, y):
    with tf.GradientTape() as tape:
        logits, _ = model(x, training=True)
        loss = loss_fn(y, logits)
    grads, _ = tf.clip_by_global_norm(tape.gradient(loss, model.trainable_variables), 5.0)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss

rng = np.random.default_rng(0)
x = tf.constant(rng.integers(0, 65, (batch, 100)), tf.int32)
y = tf.constant(rng.integers(0, 65, (batch, 100)), tf.int32)
float(step(x, y))  # trace and warm up
start = time.perf_counter()
for _ in range(steps):
    loss = step(x, y)
float(loss)
seconds = (time.perf_counter() - start) / steps
print(f"{{precision:>15}}: {{seconds:.2f}} s per step, {{batch * 100 / seconds:,.0f}} characters/s")
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    print(f"2 x LSTM({args.hidden}), batches of {args.batch} x 100, {args.steps} timed steps")
    for precision in ("float32", "mixed_bfloat16"):
        code = CHILD.format(training=str(REPO / "training"), precision=precision,
                            hidden=args.hidden, batch=args.batch, steps=args.steps)
        subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


if __name__ == "__main__":
    main()
