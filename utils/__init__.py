"""Shared code for the RNN course notebooks.

Install the course once with ``pip install -e .`` (the Makefile and environment.yml do
this) and every notebook, wherever it runs, imports these modules and finds ``data/``:

- ``utils.paths``: where the course's data files are (``data_path``);
- ``utils.course``: how much work a notebook does (``budget``: full for students, small
  when the autograder runs it);
- ``utils.testing``: the checks used by public tests, with messages for students;
- ``utils.tf_setup``: imports TensorFlow and Keras with their start-up logs silenced.
"""

from utils.paths import data_path

__all__ = ["data_path"]
