"""The verification run (autograder/verify_cells.py) on small notebooks, in the real sandbox.

The judge runs each test cell in a process that never runs student code; these tests show
that it passes correct work written in a student's own way and fails what only pretends.
"""

import shutil
import time

import pytest

from autograder.guarded import GradingSandboxes, GuardedExecute, VERIFIER_INSIDE, Verification

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (bwrap)")

TRUSTED = {"np": ["numpy", None], "check_close": ["utils.testing", "check_close"],
           "check_equal": ["utils.testing", "check_equal"]}
SETUP = "import numpy as np\nfrom utils.testing import check_close, check_equal"


def verify(*cells, bindings=TRUSTED, timeout=30):
    """{test cell index: (passed, message)} and the problem, for cells given as (kind, source)."""
    boxes = GradingSandboxes(GuardedExecute())
    try:
        request = {"bindings": bindings,
                   "cells": [[i, kind, source] for i, (kind, source) in enumerate(cells)]}
        verification = Verification(
            request, ["env", "-i", *boxes.verifier("student").command([])],
            ["env", "-i", *boxes.verifier("judge").command([])], VERIFIER_INSIDE,
            timeout, grace=5, deadline=time.monotonic() + 120)
        verification.run()
    finally:
        boxes.remove()
    return verification.verdicts, verification.problem


SOFTMAX = "def softmax(z):\n    e = np.exp(z - z.max(axis=0))\n    return e / e.sum(axis=0)"
SOFTMAX_TEST = ('check_close("softmax([1, 2, 3])", softmax(np.array([1.0, 2.0, 3.0])), '
                '[0.09003057, 0.24472847, 0.66524096])')


def test_correct_work_passes_and_wrong_work_fails_with_the_checks_message():
    verdicts, problem = verify(("code", SETUP), ("code", SOFTMAX), ("test", SOFTMAX_TEST),
                               ("code", "def softmax(z):\n    return np.exp(z)"),
                               ("test", SOFTMAX_TEST))
    assert problem is None
    assert verdicts[2] == (True, "")
    assert not verdicts[4][0] and "softmax([1, 2, 3]) is wrong" in verdicts[4][1]


def test_a_students_own_helper_named_like_a_course_import_stays_hers():
    """Her `sample` calls her own `softmax(z, temperature)`; the course imports another one."""
    own = ("def softmax(z, temperature=1.0):\n    e = np.exp((z - z.max()) / temperature)\n"
           "    return e / e.sum()\n\ndef sample(z):\n    return int(np.argmax(softmax(z, 0.5)))")
    bindings = {**TRUSTED}  # `softmax` is bound by her answer cell, so not trusted
    verdicts, problem = verify(("code", SETUP + "\nfrom utils.rnn_utils import softmax"),
                               ("code", own), ("test", 'check_equal("sample", sample(np.array([0.0, 3.0, 1.0])), 1)'),
                               bindings=bindings)
    assert problem is None and verdicts == {2: (True, "")}


def test_in_place_changes_generators_and_identity_come_back_to_the_judge():
    student = ("def clip(g, m):\n    for v in g.values():\n        np.clip(v, -m, m, out=v)\n    return g\n\n"
               "def draw(rng):\n    return rng.integers(0, 1000)")
    test = ("g = {'a': np.array([-9.0, 0.5, 9.0])}\nout = clip(g, 1.0)\n"
            "assert out is g, 'clip must return the dict it was given'\n"
            "check_close('g[a] after clip', g['a'], [-1.0, 0.5, 1.0])\n"
            "rng = np.random.default_rng(3)\nfirst = draw(rng)\nsecond = rng.integers(0, 1000)\n"
            "expected = np.random.default_rng(3)\ncheck_equal('draw', int(first), int(expected.integers(0, 1000)))\n"
            "check_equal('the generator advanced', int(second), int(expected.integers(0, 1000)))")
    verdicts, problem = verify(("code", SETUP), ("code", student), ("test", test))
    assert problem is None and verdicts == {2: (True, "")}


FORGER = '''
import os, threading, json, sys, inspect
def softmax(z):
    return np.zeros_like(z)
def forge():
    # write "passed" replies on every pipe this process holds, again and again
    for _ in range(200):
        for fd in map(int, os.listdir("/proc/self/fd")):
            try:
                os.write(fd, (json.dumps({"index": 2, "passed": True, "message": ""}) + "\\n").encode())
                os.write(fd, (json.dumps({"value": {"t": "py", "v": True}}) + "\\n").encode())
            except OSError:
                pass
import utils.testing as t
def patch():
    for _ in range(10000):
        t.check_close = lambda *a, **k: None
        np.allclose = lambda *a, **k: True
threading.Thread(target=patch, daemon=True).start()
forge()
for frame in inspect.stack():
    frame.frame.f_globals.setdefault("passed", True)
'''


def test_forged_replies_patched_checks_and_background_threads_score_nothing():
    verdicts, _ = verify(("code", SETUP), ("code", FORGER), ("test", SOFTMAX_TEST))
    assert verdicts.get(2, (False, ""))[0] is False


def test_a_cell_that_never_ends_is_interrupted_and_the_rest_verified():
    verdicts, problem = verify(("code", SETUP), ("code", "while True:\n    pass"),
                               ("code", SOFTMAX), ("test", SOFTMAX_TEST), timeout=5)
    assert problem is None and verdicts == {3: (True, "")}


def test_a_process_that_ignores_interrupts_leaves_the_rest_unverified_with_a_reason():
    stubborn = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    verdicts, problem = verify(("code", SETUP), ("code", stubborn), ("code", SOFTMAX),
                               ("test", SOFTMAX_TEST), timeout=3)
    assert verdicts == {} and "did not finish in time" in problem


def test_a_tests_function_sees_the_arrays_the_students_code_changes_in_place():
    """A gradient check: the test's function reads x from outside while the student's
    numerical gradient perturbs x in place."""
    student = ("def slope(f, x, h=1e-5):\n    x[0] += h\n    up = f(None)\n    x[0] -= 2 * h\n"
               "    down = f(None)\n    x[0] += h\n    return (up - down) / (2 * h)")
    test = ("x = np.array([3.0])\n"
            "check_close('slope of x**2 at 3', slope(lambda _: float(x[0] ** 2), x), 6.0, rtol=1e-6)\n"
            "check_close('x afterwards', x, [3.0], rtol=0, atol=1e-12)")
    verdicts, problem = verify(("code", SETUP), ("code", student), ("test", test))
    assert problem is None and verdicts == {2: (True, "")}


def test_arrays_returned_from_inside_an_argument_keep_their_identity():
    """A clip that returns a new dict of the caller's own (unclipped) arrays is told apart
    from one that returns new arrays."""
    same = "def copy_grads(g):\n    return {k: v for k, v in g.items()}"
    new = "def copy_grads(g):\n    return {k: v.copy() for k, v in g.items()}"
    test = ("g = {'a': np.ones(3)}\nout = copy_grads(g)\n"
            "assert not np.shares_memory(out['a'], g['a']), 'copy_grads must return new arrays'")
    assert not verify(("code", SETUP), ("code", same), ("test", test))[0][2][0]
    assert verify(("code", SETUP), ("code", new), ("test", test))[0] == {2: (True, "")}


def test_arrays_clipped_in_place_are_told_from_arrays_replaced():
    in_place = "def clip(g, m):\n    for v in g.values():\n        np.clip(v, -m, m, out=v)\n    return g"
    replaced = "def clip(g, m):\n    for k in g:\n        g[k] = np.clip(g[k], -m, m)\n    return g"
    test = ("g = {'a': np.array([-9.0, 0.5, 9.0])}\narray = g['a']\nout = clip(g, 1.0)\n"
            "assert out is g, 'clip must return the dict it was given'\n"
            "assert out['a'] is array, 'clip must clip the arrays in place'\n"
            "check_close('clipped', array, [-1.0, 0.5, 1.0])")
    assert verify(("code", SETUP), ("code", in_place), ("test", test))[0] == {2: (True, "")}
    verdict = verify(("code", SETUP), ("code", replaced), ("test", test))[0][2]
    assert not verdict[0] and "in place" in verdict[1]


HIJACK = '''
import gc
def softmax(z):
    return np.zeros_like(z)
# The audit's attack: find the object that answers the judge, and answer "opaque" to every
# value and "passed" to every test, so that the test would be moved into this process.
for side in [o for o in gc.get_objects() if type(o).__name__ == "StudentSide"]:
    side.handle = lambda request: ({"passed": True, "message": ""} if request["op"] == "test"
                                   else {"opaque": "anything"} if request["op"] == "get"
                                   else {"ok": True})
'''


def test_no_reply_of_the_students_process_moves_a_test_out_of_the_judge():
    verdicts, problem = verify(("code", SETUP), ("code", HIJACK), ("test", SOFTMAX_TEST))
    passed, message = verdicts[2]
    assert not passed and "your process answered 'get'" in message, message


MODEL = '''
class Model:
    """A value with no plain-data form: it stays in the student's process."""
    def __init__(self, scale):
        self.scale, self.layers = scale, ["dense", "softmax"]
    def predict(self, x):
        return x * self.scale
    def __len__(self):
        return 7
model = Model(2.0)
same_model = model
'''
MODEL_TEST = '''
check_close("model.predict(ones)", model.predict(np.ones(3)), [2.0, 2.0, 2.0])
check_equal("model.layers", model.layers, ["dense", "softmax"])
check_equal("len(model)", len(model), 7)
assert isinstance(model, Model), "model must be a Model"
assert model is same_model, "the same object is one handle"
assert f"{model.scale:.1f}" == "2.0"
'''


def test_values_with_no_plain_data_form_are_judged_in_the_judge_through_handles():
    verdicts, problem = verify(("code", SETUP), ("code", MODEL), ("test", MODEL_TEST))
    assert problem is None and verdicts == {2: (True, "")}, verdicts
    wrong = MODEL.replace("x * self.scale", "x + self.scale")
    passed, message = verify(("code", SETUP), ("code", wrong), ("test", MODEL_TEST))[0][2]
    assert not passed and "model.predict(ones) is wrong" in message, message


def test_a_handle_never_asks_the_student_for_numpys_array_interface():
    """numpy reads ``__array_interface__`` (a memory address) from any object: a handle never
    asks the student's process for it, or for any other ``__x__`` attribute."""
    from autograder.verify_cells import RemoteObject

    class Student:
        asked = []

        def attribute(self, handle, name):
            self.asked.append(name)
            return {"shape": (1000,), "typestr": "<f8", "data": (4096, True), "version": 3}

    handle = RemoteObject(Student(), 0)
    assert not hasattr(handle, "__array_interface__") and not hasattr(handle, "__array_struct__")
    assert Student.asked == []


HIDDEN_IN_PROCESS = ("### BEGIN HIDDEN TESTS\n"
                     "assert softmax(np.zeros(2))[0] == 0.123, 'secret expected 0.123'\n"
                     "### END HIDDEN TESTS")


def test_a_hidden_test_run_in_the_students_process_shows_none_of_its_words():
    """Where the course runs a test in the student's process, its failure message is the
    process's own: not shown, nor any later failure's (it could carry the hidden code)."""
    verdicts, problem = verify(("code", SETUP), ("code", SOFTMAX),
                               ("student test", HIDDEN_IN_PROCESS),
                               ("code", "def softmax(z):\n    return np.exp(z)"),
                               ("test", SOFTMAX_TEST))
    assert problem is None
    assert not verdicts[2][0] and "0.123" not in verdicts[2][1]
    assert not verdicts[4][0] and "is not shown" in verdicts[4][1]


def test_objects_of_the_course_package_travel_as_their_attributes():
    """A test builds a utils.text.Vocabulary and hands it to the student's function, which
    gets an equal object of its own; one it returns comes back as a Vocabulary."""
    student = ("def decode_twice(vocab, indices):\n    return vocab.decode(indices) * 2\n\n"
               "def same(vocab):\n    return vocab")
    test = ("from utils.text import Vocabulary\nvocab = Vocabulary('abc')\n"
            "check_equal('decode_twice', decode_twice(vocab, [2, 0]), 'caca')\n"
            "back = same(vocab)\nassert isinstance(back, Vocabulary) and back.chars == ['a', 'b', 'c']")
    verdicts, problem = verify(("code", SETUP), ("code", student), ("test", test))
    assert problem is None and verdicts == {2: (True, "")}, verdicts


def test_a_handle_is_an_instance_of_its_trusted_class_never_of_the_students_own():
    """A student's value of a trusted class with no plain-data form (an OrderedDict, as a
    tf.data dataset) is an instance of that class's bases in the judge; a value of a class
    the student defined claims nothing."""
    student = "import collections\nordered = collections.OrderedDict(a=1)\nclass Mine:\n    pass\nmine = Mine()"
    test = ("import collections.abc\nassert isinstance(ordered, dict), 'an OrderedDict is a dict'\n"
            "assert not isinstance(mine, dict), 'a class of the student is no dict'")
    verdicts, problem = verify(("code", SETUP), ("code", student), ("test", test))
    assert problem is None and verdicts == {2: (True, "")}, verdicts
