"""Train the char-RNN that assignment 6 (06_tf_char_rnn) ships as a pretrained checkpoint.

Instructor-side: this folder is not released to students. The model and batching below are
the reference solutions of the notebook's ``CharRNN`` and ``get_batches``, so the saved
weights load into a student's ``CharRNN`` built with the same configuration.

Data: ``data/tinyshakespeare.txt`` encoded with ``utils.text.Vocabulary``; the first 90% of
the characters train, the last 10% validate. Training walks the text in contiguous order and
carries the recurrent state from one batch to the next (truncated backpropagation through
time), resetting it at the start of each epoch. The checkpoint with the lowest validation
loss (nats per character) is kept.

Usage (from the repository root)::

    nice -n 5 python training/train_tf_char_rnn.py --minutes 88

Writes ``models/tf_char_rnn/lstm.weights.h5`` (best weights), ``config.json`` (model
configuration, vocabulary, split, losses) and ``history.csv``; the resumable training state
(weights + optimizer) lives in ``--workdir``. Rerunning with the same ``--workdir`` resumes.
"""

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from utils.tf_setup import keras, set_seed, tf
from utils.text import Vocabulary, load_text

REPO = Path(__file__).resolve().parent.parent
CELLS = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def get_batches(array, n_seqs, n_steps):
    """Yield (x, y) mini-batches that walk ``array`` in contiguous order.

    Inputs:
    - array: integer array of shape (N,), the encoded text.
    - n_seqs: number of sequences per batch (rows).
    - n_steps: number of time steps per sequence (columns).

    Yields:
    - x: array of shape (n_seqs, n_steps); row i of batch b+1 continues row i of batch b.
    - y: array of shape (n_seqs, n_steps), the character that follows each one of x.
    """
    chars_per_batch = n_seqs * n_steps
    n_batches = (len(array) - 1) // chars_per_batch
    inputs = array[: n_batches * chars_per_batch].reshape(n_seqs, -1)
    targets = array[1 : n_batches * chars_per_batch + 1].reshape(n_seqs, -1)
    for start in range(0, n_batches * n_steps, n_steps):
        yield inputs[:, start : start + n_steps], targets[:, start : start + n_steps]


class CharRNN(keras.Model):
    """Embedding -> num_layers recurrent layers (with dropout after each) -> logits."""

    # Under mixed precision the logits (and so the loss) stay in float32.
    logits_dtype = None

    def __init__(self, vocab_size, cell_type="lstm", embedding_dim=64, hidden_size=128,
                 num_layers=2, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.cell_type = cell_type
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout_rate = dropout
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.rnn_layers = [
            CELLS[cell_type](hidden_size, return_sequences=True, return_state=True,
                             name=f"{cell_type}_{i}")
            for i in range(num_layers)
        ]
        self.dropout = keras.layers.Dropout(dropout, name="dropout")
        self.logits = keras.layers.Dense(vocab_size, name="logits", dtype=self.logits_dtype)

    def call(self, inputs, states=None, training=False):
        x = self.embedding(inputs)
        new_states = []
        for i, layer in enumerate(self.rnn_layers):
            outputs = layer(x, initial_state=None if states is None else states[i],
                            training=training)
            x = self.dropout(outputs[0], training=training)
            new_states.append(list(outputs[1:]))
        return self.logits(x), new_states

    def get_config(self):
        return {"vocab_size": self.vocab_size, "cell_type": self.cell_type,
                "embedding_dim": self.embedding_dim, "hidden_size": self.hidden_size,
                "num_layers": self.num_layers, "dropout": self.dropout_rate}


def zero_states(model, batch_size):
    """Return the all-zero initial state of every layer of ``model`` for ``batch_size`` rows."""
    per_layer = 2 if model.cell_type == "lstm" else 1
    return [[tf.zeros((batch_size, model.hidden_size)) for _ in range(per_layer)]
            for _ in range(model.num_layers)]


def evaluate(model, array, n_seqs, n_steps, step_fn):
    """Mean cross-entropy (nats per character) of ``model`` on ``array``, state carried."""
    states = zero_states(model, n_seqs)
    total, count = 0.0, 0
    for x, y in get_batches(array, n_seqs, n_steps):
        loss, states = step_fn(tf.constant(x), tf.constant(y), states)
        total += float(loss) * y.size
        count += y.size
    return total / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cell", default="lstm", choices=sorted(CELLS))
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--embedding", type=int, default=64)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq", type=int, default=100)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--lr-final", type=float, default=2e-4)
    parser.add_argument("--steps", type=int, default=1500, help="steps over which lr decays")
    parser.add_argument("--clip", type=float, default=5.0)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=88.0, help="stop after this long")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="mixed_bfloat16", choices=["mixed_bfloat16", "float32"],
                        help="mixed_bfloat16 computes in bfloat16 (about 3x faster on CPUs with "
                             "AVX512-BF16) and keeps the weights in float32")
    parser.add_argument("--out", default=str(REPO / "models" / "tf_char_rnn"))
    parser.add_argument("--workdir", default="/tmp/tf_char_rnn_run")
    args = parser.parse_args()

    set_seed(args.seed)
    if args.precision == "mixed_bfloat16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        CharRNN.logits_dtype = "float32"
    text = load_text("tinyshakespeare.txt")
    vocab = Vocabulary(text)
    data = vocab.encode(text)
    split = int(0.9 * len(data))
    train, val = data[:split], data[split:]

    model = CharRNN(len(vocab), args.cell, args.embedding, args.hidden, args.layers, args.dropout)
    model(tf.zeros((1, 1), tf.int32))
    schedule = keras.optimizers.schedules.ExponentialDecay(
        args.lr, decay_steps=args.steps, decay_rate=args.lr_final / args.lr)
    optimizer = keras.optimizers.Adam(schedule)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def train_step(x, y, states):
        with tf.GradientTape() as tape:
            logits, new_states = model(x, states, training=True)
            loss = loss_fn(y, logits)
        grads = tape.gradient(loss, model.trainable_variables)
        grads, _ = tf.clip_by_global_norm(grads, args.clip)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss, new_states

    @tf.function
    def eval_step(x, y, states):
        logits, new_states = model(x, states, training=False)
        return loss_fn(y, logits), new_states

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    step_var = tf.Variable(0, dtype=tf.int64)
    best_var = tf.Variable(np.inf, dtype=tf.float64)
    elapsed_var = tf.Variable(0.0, dtype=tf.float64)
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step_var, best=best_var,
                               elapsed=elapsed_var)
    manager = tf.train.CheckpointManager(ckpt, workdir, max_to_keep=1)
    if manager.latest_checkpoint:
        ckpt.restore(manager.latest_checkpoint)
        print(f"resumed at step {int(step_var)} (best val {float(best_var):.4f})", flush=True)
    history_path = out / "history.csv"
    if int(step_var) == 0:
        history_path.write_text("step,minutes,lr,train_loss,val_loss\n")

    batches_per_epoch = (len(train) - 1) // (args.batch * args.seq)
    start = time.time() - float(elapsed_var)
    running, seen = 0.0, 0
    done = False
    while not done:
        # Resume mid-epoch by skipping the batches already seen (state restarts from zero).
        skip = int(step_var) % batches_per_epoch
        states = zero_states(model, args.batch)
        for b, (x, y) in enumerate(get_batches(train, args.batch, args.seq)):
            if b < skip:
                continue
            loss, states = train_step(tf.constant(x), tf.constant(y), states)
            running += float(loss)
            seen += 1
            step_var.assign_add(1)
            step = int(step_var)
            minutes = (time.time() - start) / 60
            out_of_time = minutes >= args.minutes
            if step % args.eval_every == 0 or out_of_time:
                val_loss = evaluate(model, val, 64, args.seq, eval_step)
                lr = float(schedule(step))
                train_loss = running / seen
                running, seen = 0.0, 0
                print(f"step {step} epoch {step / batches_per_epoch:.2f} {minutes:.1f} min "
                      f"lr {lr:.2e} train {train_loss:.4f} val {val_loss:.4f}", flush=True)
                with history_path.open("a", newline="") as f:
                    csv.writer(f).writerow([step, f"{minutes:.2f}", f"{lr:.3e}",
                                            f"{train_loss:.4f}", f"{val_loss:.4f}"])
                if val_loss < float(best_var):
                    best_var.assign(val_loss)
                    model.save_weights(out / f"{args.cell}.weights.h5")
                    config = {"model": model.get_config(), "chars": vocab.chars,
                              "split": "first 90% of data/tinyshakespeare.txt trains, last 10% validates",
                              "step": step, "epoch": step / batches_per_epoch,
                              "minutes": round(minutes, 1), "train_loss": round(train_loss, 4),
                              "val_loss": round(val_loss, 4), "args": vars(args)}
                    (out / "config.json").write_text(json.dumps(config, indent=1))
                elapsed_var.assign(time.time() - start)
                manager.save()
            if out_of_time:
                done = True
                break
    print(f"best validation loss {float(best_var):.4f}", flush=True)


if __name__ == "__main__":
    main()
