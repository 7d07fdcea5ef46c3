"""Train the pretrained poet shipped with assignment 5 (instructor side).

    PYTHONPATH=. python training/train_shakespeare_poet.py --epochs 20 --seed 1

Reads data/shakespeare.txt (lowercased, 38 symbols) without the held-out sonnet 18, cuts it
into windows of 40 characters with stride 3, trains the two-LSTM poet of
``poet_model`` of ``training/poet_reference.py`` with Adam on the cross-entropy of the next character,
and saves it (with its optimizer state, so the notebook can train it further) to
models/shakespeare_poet/poet.keras. Prints the loss of each epoch, the training time and the
perplexity on the held-out sonnet, and writes them to models/shakespeare_poet/training_log.json.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from poet_reference import build_data, generate_output, poet_model, vectorization
from utils.shakespeare_utils import MODEL_PATH, load_corpus, perplexity, split_held_out, vocabulary
from utils.tf_setup import keras, set_seed, tf


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1].strip())
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(MODEL_PATH))
    args = parser.parse_args(argv)

    set_seed(args.seed)
    vocab = vocabulary()
    training_text, held_out = split_held_out(load_corpus())
    X, Y = build_data(training_text)
    x, y = vectorization(X, Y, vocab.char_to_ix)
    print(f"{len(training_text)} training characters, {len(X)} windows; "
          f"held out: {len(held_out)} characters")

    model = poet_model(n_a=args.units, dropout=args.dropout)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate),
                  loss="categorical_crossentropy")
    start = time.perf_counter()
    # Saved after every epoch too, so that an interrupted run still leaves its latest model.
    checkpoint = keras.callbacks.ModelCheckpoint(args.out)
    history = model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, shuffle=True,
                        verbose=2, callbacks=[checkpoint])
    seconds = time.perf_counter() - start
    model.save(args.out)

    held_out_perplexity = perplexity(model, held_out, vocab)
    poem = generate_output(model, "forsooth this maketh no sense ", 300, 1.0, np.random.default_rng(0))
    log = {
        "command": "PYTHONPATH=. python training/train_shakespeare_poet.py "
                   + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out"),
        "seed": args.seed, "epochs": args.epochs, "batch_size": args.batch_size,
        "learning_rate": args.learning_rate, "dropout": args.dropout, "units": args.units,
        "training_characters": len(training_text), "windows": len(X),
        "seconds": round(seconds, 1), "seconds_per_epoch": round(seconds / args.epochs, 1),
        "loss_per_epoch": [round(float(v), 4) for v in history.history["loss"]],
        "final_loss": round(float(history.history["loss"][-1]), 4),
        "held_out_perplexity": round(held_out_perplexity, 3),
        "parameters": model.count_params(),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, tensorflow {tf.__version__}, "
                   f"keras {keras.__version__}",
        "sample_seed_0_temperature_1": poem,
    }
    with open(Path(args.out).with_name("training_log.json"), "w") as f:
        json.dump(log, f, indent=2)
    print(f"trained {args.epochs} epochs in {seconds:.0f} s; final loss {log['final_loss']}; "
          f"held-out perplexity {held_out_perplexity:.2f}")
    print(poem)


if __name__ == "__main__":
    main()
