"""Bounds of one sandbox as a whole (autograder/sandbox.py): memory and processes by a control
group, the working folder and /tmp as tmpfs mounts of bounded size."""

import shutil
import subprocess
import sys

import pytest

from autograder import sandbox

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (bwrap)")

# Three processes that each hold 400 MiB: 1.2 GiB in all, under 1 GiB of data memory each.
THREE_PROCESSES = """
import os, time
children = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        block = bytearray(400 * 2**20)
        block[::4096] = b"x" * len(block[::4096])
        time.sleep(3)
        os._exit(0)
    children.append(pid)
statuses = [os.waitpid(pid, 0)[1] for pid in children]
print("killed" if any(os.WIFSIGNALED(s) for s in statuses) else "all lived")
"""


def run(box, code):
    command = ["env", "-i", *box.command([sys.executable, "-c", code])]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_memory_is_bounded_per_sandbox_not_per_process():
    group = sandbox.ControlGroup.create(memory=800 * 2**20, processes=64)
    if group is None:
        pytest.skip("this machine offers no cgroup for a sandbox (the per-process limits stand alone)")
    try:
        box = sandbox.Sandbox(memory=2**30, processes=64, group=group)
        assert run(box, THREE_PROCESSES).stdout.strip() == "killed", (
            "three processes of 400 MiB each lived in a sandbox bounded to 800 MiB")
    finally:
        group.remove()
    assert not any(folder.exists() for folder in group.folders), "the control group was left behind"


def test_processes_are_bounded_per_sandbox():
    group = sandbox.ControlGroup.create(memory=2**30, processes=20)
    if group is None:
        pytest.skip("this machine offers no cgroup for a sandbox")
    code = ("import os, time\nn = 0\nwhile True:\n    try:\n        if os.fork() == 0:\n"
            "            time.sleep(5); os._exit(0)\n        n += 1\n    except OSError:\n"
            "        print(n); break")
    try:
        started = int(run(sandbox.Sandbox(processes=256, group=group), code).stdout.strip())
    finally:
        group.remove()
    assert started < 20, f"{started} processes started in a sandbox bounded to 20"


def test_the_working_folder_and_tmp_are_bounded_tmpfs_mounts(tmp_path):
    box = sandbox.Sandbox(cwd="/sandbox/work", scratch=("/sandbox/work",), scratch_size=32 * 2**20,
                          tmp_size=32 * 2**20)
    code = ("import os\nfor folder in ('/sandbox/work', '/tmp'):\n    written = 0\n    try:\n"
            "        for i in range(100):\n            with open(f'{folder}/f{i}', 'wb') as f:\n"
            "                f.write(b'x' * 2**20)\n            written += 1\n"
            "    except OSError:\n        pass\n    print(written)")
    written = [int(n) for n in run(box, code).stdout.split()]
    assert len(written) == 2 and max(written) < 33, f"MiB written in the folder and /tmp: {written}"


def test_report_says_which_bound_is_in_force():
    line = sandbox.bounds_in_force(3 * 2**30, 256)
    assert line.startswith("sandbox bounds:") and ("per sandbox" in line or "per process" in line)


def test_nbgrader_refuses_to_grade_when_the_grading_steps_fail_to_load(tmp_path):
    """nbgrader logs an exception in a config file and goes on with its defaults, which would
    run students' code unsandboxed: nbgrader_config.py stops nbgrader instead."""
    from autograder.grading import ROOT

    script = ("import sys\nsys.modules['autograder.guarded'] = None  # its import fails\n"
              "c = type('Config', (), {'__getattr__': lambda self, name: self})()\n"
              "get_config = lambda: c\n"
              f"exec(compile(open({str(ROOT / 'nbgrader_config.py')!r}).read(), 'nbgrader_config.py', 'exec'))")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)
    assert run.returncode != 0 and "failed to load, so nothing is graded" in run.stderr, run.stderr
