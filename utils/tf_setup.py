"""Import TensorFlow and Keras quietly and reproducibly.

TensorFlow writes start-up logs to stderr, and nbgrader gives zero points to any test cell
that writes to stderr, so the logs are silenced *before* TensorFlow is imported. Use it as
the first TensorFlow import of a notebook::

    from utils.tf_setup import tf, keras, set_seed
"""

import logging
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tensorflow as tf  # noqa: E402  (must follow the environment set-up above)
import keras  # noqa: E402

tf.get_logger().setLevel(logging.ERROR)
warnings.filterwarnings("ignore", module="keras")
warnings.filterwarnings("ignore", module="tensorflow")


def set_seed(seed):
    """Seed Python, numpy and TensorFlow so that weights and dropout are reproducible."""
    keras.utils.set_random_seed(seed)


__all__ = ["tf", "keras", "set_seed"]
