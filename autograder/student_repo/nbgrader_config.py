"""nbgrader settings for the Validate button in JupyterLab (Nbgrader > Validate).

Validate runs a notebook as `python check.py` and the grader run it, so all three give the
same answer to "am I done?":

- each cell may run for the assignment's time limit in course.toml, then it is stopped and
  its tests fail;
- training cells do the grader's short run (RNN_COURSE_GRADING=1, see utils/course.py),
  in Validate's kernel only: the notebooks you run yourself still train in full;
- TensorFlow's start-up logs stay off stderr (a test cell that writes to stderr fails).

Written by the course; changing it here changes nothing in how your work is graded.
"""

import tomllib
from pathlib import Path

COURSE_FILE = Path(__file__).resolve().parent / "course.toml"
# Set in Validate's kernel before the notebook's first cell, as the grader's kernel has them.
GRADER_ENV = "import os; os.environ.update(RNN_COURSE_GRADING='1', TF_CPP_MIN_LOG_LEVEL='3')"

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)


def cell_timeouts():
    """Return {assignment name: seconds one cell may run} from course.toml."""
    with open(COURSE_FILE, "rb") as f:
        return {a["name"]: a["timeout"] for a in tomllib.load(f)["assignment"]}


def cell_timeout(cell):
    """The time limit of ``cell``'s assignment: Validate runs in the notebook's folder."""
    return cell_timeouts().get(Path.cwd().name, c.Execute.timeout)


c.Execute.timeout = max(cell_timeouts().values())
c.Execute.timeout_func = cell_timeout
c.Execute.interrupt_on_timeout = True
c.Execute.extra_arguments = [f"--IPKernelApp.exec_lines={GRADER_ENV}"]
