"""bin/rnn-course runs the course's commands from any folder: the term's data stays outside
the course repository, and relative paths are the caller's."""

import os
import subprocess
import sys

from autograder.grading import ROOT

from .conftest import Work

LAUNCHER = ROOT / "bin" / "rnn-course"


def run(args, cwd):
    env = {**os.environ, "RNN_COURSE_PYTHON": sys.executable}
    env.pop("PYTHONPATH", None)  # as in a fresh shell: nothing but the launcher finds the course
    return subprocess.run([str(LAUNCHER), *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_commands_run_from_a_folder_outside_the_course(tmp_path, grading_folder):
    help_text = run(["collect", "--help"], tmp_path)
    assert help_text.returncode == 0 and "--student LOGIN" in help_text.stdout, help_text.stderr
    grading_folder([Work("ann")], ["ann"])  # tmp_path/grading
    made = run(["term.report", "grading"], tmp_path)
    assert made.returncode == 0, made.stderr[-2000:]
    assert (tmp_path / "grading" / "report.html").is_file()
    assert run([], tmp_path).returncode == 2
