"""Where the course's data files live.

``data/`` sits next to this package in the course repository, so an editable install
(``pip install -e .``) finds it from any working directory: ``source/``,
``assignments/``, nbgrader's ``autograded/<student>/<assignment>/`` or a student's clone.
Set ``RNN_COURSE_DATA`` to read the corpora from somewhere else.
"""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir():
    """Return the folder holding the corpora (``$RNN_COURSE_DATA`` or the repo's ``data/``)."""
    return Path(os.environ.get("RNN_COURSE_DATA", REPO_ROOT / "data"))


def data_path(name):
    """Return the path of data file ``name``, failing with a clear message if it is missing.

    Inputs:
    - name: file name inside the data folder, e.g. ``"dinos.txt"``.

    Returns:
    - pathlib.Path of an existing file.
    """
    path = data_dir() / name
    if not path.is_file():
        raise FileNotFoundError(
            f"Data file {name!r} not found in {path.parent}. The course expects it in the "
            "repository's data/ folder: run from a clone of the course with "
            "`pip install -e .` done, or set RNN_COURSE_DATA to the folder that holds it."
        )
    return path
