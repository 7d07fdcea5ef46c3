"""Hostile and broken submissions, built from any assignment's release and reference.

Each case is a function ``case(kit) -> Submission`` registered with :func:`case`. ``kit``
holds the assignment's release notebook, the reference solution typed into it, the test
cells in order and the graded functions. A submission says which test cells must pass:

- ``"all"``: every test cell (the submission is correct; hostile bits must not cost it);
- ``"none"``: no test cell (it is wrong, however it tries to look right);
- ``"before"``: the test cells before ``kit.split`` (its kernel dies or hangs there; what
  ran before keeps its points, nothing after may score).

Attack code is written as a student would write it, against what a notebook can see.
``TF_CASES`` is the cheap subset run on a TensorFlow assignment.
"""

import ast
import copy
import json
from dataclasses import dataclass

import nbformat

from autograder.grading import nbgrader_cells

CASES = {}
ATTACK_MARK = "# rewritten by a submission"  # what rewrite-utils-and-data appends to utils/
TF_CASES = ["reference", "monkeypatch-checks", "os-exit"]


@dataclass
class Submission:
    notebook: object = None  # a NotebookNode, or raw text when `raw` is set
    expect: str = "all"
    raw: str = None
    filename: str = None  # None: the assignment's notebook name


@dataclass
class Kit:
    release: object
    reference: object
    tests: list  # grade ids of test cells, in notebook order
    functions: dict  # solution grade id -> names of the functions it defines

    @property
    def split(self):
        """The test cell before which a case that kills or hangs its kernel is inserted."""
        return self.tests[len(self.tests) // 2]

    def before_split(self):
        return set(self.tests[: len(self.tests) // 2])


def make_kit(release, reference):
    tests, functions = [], {}
    for cell in nbgrader_cells(reference):
        meta = cell.metadata.nbgrader
        if meta.get("solution") and cell.cell_type == "code":
            tree = ast.parse(cell.source)
            functions[meta.grade_id] = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
        elif meta.get("grade") and cell.cell_type == "code":
            tests.append(meta.grade_id)
    return Kit(release, reference, tests, functions)


def case(name):
    def register(build):
        CASES[name] = build
        return build
    return register


# ------------------------------------------------------------------------------ helpers

def code_cell(source):
    return nbformat.v4.new_code_cell(source)


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def insert_before(nb, target_id, source):
    """Copy of ``nb`` with a new code cell just before the cell ``target_id``."""
    nb = copy.deepcopy(nb)
    position = next(i for i, c in enumerate(nb.cells) if grade_id(c) == target_id)
    nb.cells.insert(position, code_cell(source))
    return nb


def prepend(nb, source):
    """Copy of ``nb`` with a new code cell before its first graded cell (imports done)."""
    first = next(grade_id(c) for c in nb.cells if grade_id(c))
    return insert_before(nb, first, source)


def append(nb, source):
    nb = copy.deepcopy(nb)
    nb.cells.append(code_cell(source))
    return nb


def replace_functions(kit, nb, body):
    """Copy of ``nb`` whose every graded function is redefined as ``lambda *a, **k: body``
    at the end of its solution cell."""
    nb = copy.deepcopy(nb)
    for cell in nbgrader_cells(nb):
        names = kit.functions.get(grade_id(cell), [])
        if names:
            cell.source += "\n" + "\n".join(f"{n} = lambda *a, **k: {body}" for n in names)
    return nb


# -------------------------------------------------------------------------- the corpus

@case("reference")
def reference(kit):
    """Identical to the reference solution: full marks."""
    return Submission(kit.reference, "all")


@case("untouched")
def untouched(kit):
    """No changes at all: zero, and no crash."""
    return Submission(kit.release, "none")


@case("infinite-loop")
def infinite_loop(kit):
    """A cell that never ends is interrupted at the time limit; the rest is still graded."""
    return Submission(insert_before(kit.reference, kit.split, "while True:\n    pass"), "all")


@case("loop-ignoring-interrupts")
def loop_ignoring_interrupts(kit):
    """A loop that swallows KeyboardInterrupt: the kernel is stopped after a short grace."""
    source = ("import time\nwhile True:\n    try:\n        time.sleep(1000)\n"
              "    except KeyboardInterrupt:\n        pass")
    return Submission(insert_before(kit.reference, kit.split, source), "before")


@case("os-exit")
def os_exit(kit):
    """The kernel exits mid-notebook: earlier tests keep their points, later ones none."""
    return Submission(insert_before(kit.reference, kit.split, "import os\nos._exit(0)"), "before")


@case("segfault")
def segfault(kit):
    """A segmentation fault through ctypes."""
    return Submission(insert_before(kit.reference, kit.split,
                                    "import ctypes\nctypes.string_at(0)"), "before")


@case("memory-bomb")
def memory_bomb(kit):
    """Memory allocated until it runs out: stopped by the memory limit, graded normally."""
    bomb = "hog = []\nwhile True:\n    hog.append(bytearray(2**28))"
    return Submission(append(prepend(kit.reference, "huge = bytearray(1 << 40)"), bomb), "all")


@case("output-flood")
def output_flood(kit):
    """Correct work that prints 64 MiB: the grader keeps the notebook's first 16 MiB of output,
    says it cut the rest, and grades normally."""
    flood = "for _ in range(64):\n    print('x' * (2**20 - 1))"
    return Submission(insert_before(kit.reference, kit.split, flood), "all")


@case("one-huge-output")
def one_huge_output(kit):
    """Correct work that prints 300 MB in one message: zmq drops the message before the
    grader reads it into memory, and the notebook is graded normally."""
    return Submission(insert_before(kit.reference, kit.split, "print('x' * 300_000_000)"), "all")


@case("fork-bomb")
def fork_bomb(kit):
    """Correct work, then processes that fork until the sandbox's process limit stops them."""
    bomb = ("import os\nfor _ in range(10000):\n    try:\n        if os.fork() == 0:\n"
            "            import time\n            time.sleep(600)\n            os._exit(0)\n"
            "    except OSError:\n        break")
    return Submission(insert_before(kit.reference, kit.split, bomb), "all")


@case("test-cells-deleted")
def test_cells_deleted(kit):
    """A correct solution without its test cells: they are put back and run."""
    nb = copy.deepcopy(kit.reference)
    nb.cells = [c for c in nb.cells if grade_id(c) not in kit.tests]
    return Submission(nb, "all")


@case("test-cells-deleted-untouched")
def test_cells_deleted_untouched(kit):
    nb = copy.deepcopy(kit.release)
    nb.cells = [c for c in nb.cells if grade_id(c) not in kit.tests]
    return Submission(nb, "none")


@case("test-cells-edited")
def test_cells_edited(kit):
    """Test cells rewritten to print success, with the unlocked/solution flags flipped."""
    nb = copy.deepcopy(kit.release)
    for cell in nb.cells:
        if grade_id(cell) in kit.tests:
            cell.source = 'print("All tests passed")'
            cell.metadata.nbgrader.update(locked=False, solution=True, points=100)
    return Submission(nb, "none")


@case("renamed-notebook")
def renamed_notebook(kit):
    """The reference saved under another name: graded as the assignment's notebook."""
    return Submission(kit.reference, "all", filename="my_submission (1).ipynb")


@case("renamed-notebook-untouched")
def renamed_notebook_untouched(kit):
    return Submission(kit.release, "none", filename="Untitled.ipynb")


@case("monkeypatch-checks")
def monkeypatch_checks(kit):
    """numpy comparisons, the course's checks and print replaced; wrong answers."""
    attack = """
import builtins
import numpy as np
import utils.testing
for _name in dir(utils.testing):
    if _name.startswith("check"):
        setattr(utils.testing, _name, lambda *a, **k: None)
np.allclose = np.isclose = np.array_equal = lambda *a, **k: True
np.all = lambda *a, **k: True
builtins.print = lambda *a, **k: None
"""
    return Submission(replace_functions(kit, prepend(kit.release, attack), "np.zeros(1)"), "none")


@case("custom-exception-handler")
def custom_exception_handler(kit):
    """Every exception swallowed by an IPython custom exception handler."""
    attack = "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"
    return Submission(prepend(kit.release, attack), "none")


@case("rewrite-transform-cell")
def rewrite_transform_cell(kit):
    """Every cell, test cells included, wrapped in try/except by IPython's input transformer."""
    attack = """
import textwrap
_manager = get_ipython().input_transformer_manager
_transform = _manager.transform_cell
def _swallow(cell):
    body = textwrap.indent(_transform(cell), "    ")
    return "try:\\n" + body + "\\n    pass\\nexcept BaseException:\\n    pass\\n"
_manager.transform_cell = _swallow
"""
    return Submission(prepend(kit.release, attack), "none")


@case("always-equal")
def always_equal(kit):
    """Functions return an object equal to everything."""
    attack = """
class AlwaysEqual:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __getattr__(self, name): return self
    def __call__(self, *a, **k): return self
    def __getitem__(self, key): return self
    def __array__(self, *a, **k): raise TypeError
"""
    return Submission(replace_functions(kit, prepend(kit.release, attack), "AlwaysEqual()"), "none")


@case("lying-array")
def lying_array(kit):
    """Functions return an ndarray subclass whose comparisons always succeed."""
    attack = """
import numpy as np
class Liar(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), bool)
    def __ne__(self, other): return np.zeros(np.shape(other), bool)
    def __array_ufunc__(self, *a, **k): return np.ones(1, bool)
"""
    return Submission(replace_functions(kit, prepend(kit.release, attack),
                                        "np.zeros((3, 2)).view(Liar)"), "none")


@case("system-exit")
def system_exit(kit):
    """Functions raise SystemExit inside the tests."""
    return Submission(replace_functions(kit, prepend(kit.release, "import sys"),
                                        "sys.exit(0)"), "none")


@case("fake-success-output")
def fake_success_output(kit):
    """Wrong answers that print 'All tests passed' and make the checks return points."""
    attack = """
import utils.testing
for _name in dir(utils.testing):
    if _name.startswith("check"):
        setattr(utils.testing, _name, lambda *a, **k: print("All tests passed") or 1.0)
"""
    return Submission(replace_functions(kit, prepend(kit.release, attack),
                                        "print('All tests passed!')"), "none")


@case("stderr-on-purpose")
def stderr_on_purpose(kit):
    """A correct solution that writes to stderr, inside the tests too: keeps full marks."""
    wrap = """
import sys
import functools
def _noisy(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        print("debug: called", function.__name__, file=sys.stderr)
        return function(*args, **kwargs)
    return wrapper
"""
    nb = prepend(kit.reference, wrap)
    for cell in nbgrader_cells(nb):
        names = kit.functions.get(grade_id(cell), [])
        cell.source += "".join(f"\n{n} = _noisy({n})" for n in names)
    return Submission(nb, "all")


@case("rewrite-utils-and-data")
def rewrite_utils_and_data(kit):
    """Wrong answers; the course's checks rewritten on disk to pass, data files deleted.

    Graded before the reference in the same nbgrader call, which must still earn full marks,
    and the repository's utils/ and data/ must be unchanged.
    """
    attack = r"""
import importlib, os, stat
import utils, utils.paths, utils.testing
folder = os.path.dirname(utils.testing.__file__)
for name in os.listdir(folder):
    path = os.path.join(folder, name)
    if name.endswith(".py") and name != "__init__.py":
        os.chmod(folder, 0o755); os.chmod(path, 0o644)
        with open(path, "a") as f:
            f.write("\n# rewritten by a submission\nfor _n in list(globals()):\n"
                    "    if _n.startswith('check'):\n        globals()[_n] = lambda *a, **k: None\n")
data = utils.paths.data_dir()
os.chmod(data, 0o755)
for name in os.listdir(data):
    os.remove(os.path.join(data, name))
importlib.reload(utils.testing)
"""
    return Submission(replace_functions(kit, prepend(kit.release, attack), "None"), "none")


@case("read-hidden-tests")
def read_hidden_tests(kit):
    """A correct solution that looks for the source notebook and gradebook on disk and prints
    what it finds: graded normally, and nothing secret reaches its outputs."""
    attack = r"""
import os, glob, sqlite3
here = os.getcwd()
for _ in range(6):
    for path in glob.glob(os.path.join(here, "**", "*.ipynb"), recursive=True):
        text = open(path, errors="replace").read()
        if "BEGIN HIDDEN TESTS" in text or "BEGIN SOLUTION" in text:
            print(path); print(text)
    for path in glob.glob(os.path.join(here, "*.db")):
        for row in sqlite3.connect(path).execute("select source from source_cell"):
            print(row[0])
    here = os.path.dirname(here)
"""
    return Submission(prepend(kit.reference, attack), "all")


@case("invalid-json")
def invalid_json(kit):
    return Submission(raw='{"cells": [ this is not json', expect="none")


@case("empty-file")
def empty_file(kit):
    return Submission(raw="", expect="none")


@case("old-nbformat")
def old_nbformat(kit):
    """The reference saved in nbformat 3: upgraded and graded."""
    old = nbformat.convert(copy.deepcopy(kit.reference), 3)
    return Submission(raw=json.dumps(old), expect="all")
