"""The students' check.py: a cell stopped at its time limit says so, instead of a bare
KeyboardInterrupt, and the cells after it still run."""

import importlib.util
import os
import sys
from pathlib import Path

import nbformat

from autograder.grading import ROOT


def load_check():
    spec = importlib.util.spec_from_file_location("check", ROOT / "autograder" / "student_repo" / "check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_cell_past_its_time_limit_is_named_and_the_rest_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    # check.py sets these for its kernel in its own process: put them back for the later tests
    for name in ("RNN_COURSE_GRADING", "TF_CPP_MIN_LOG_LEVEL", "PYTHONPATH"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # recorded, so restored afterwards
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        "x = 1", "while True:\n    pass", "print(x)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    load_check().execute(nb, tmp_path, timeout=3, name="demo")
    [error] = nb.cells[1].outputs
    assert (error.ename, error.evalue.split(" (")[0]) == (
        "CellTimeoutError", "this cell ran past its 3 s time limit and was interrupted")
    assert nb.cells[2].outputs[0].text == "1\n", "the cells after it still run"
