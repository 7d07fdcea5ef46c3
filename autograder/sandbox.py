"""Run one command (a Jupyter kernel, the verifier) as a sandboxed student process.

    python sandbox.py --home DIR --memory BYTES --wall SECONDS [--env NAME=VALUE]... \
        -- COMMAND ARG...

Started by the grader (autograder/guarded.py) for every kernel and every verification run.
It is a script with no imports outside the standard library, so it can run before anything
of the course is importable. The command gets:

- limits: RLIMIT_DATA (heap and anonymous memory; RLIMIT_AS would break TensorFlow, which
  reserves far more address space than it uses), no core files, a file size cap, and a
  wall-clock limit after which this supervisor kills it;
- a clean environment: only the variables named here and a few harmless ones, with HOME and
  the caches of matplotlib, IPython and Keras in ``--home``;
- no new privileges, but none taken away either: it runs as the grader's user (see
  autograder/README.md for what that leaves open).

The supervisor stays the parent: a kernel manager that signals or kills the process group
reaches the command, and the command dies with its supervisor (PR_SET_PDEATHSIG).
"""

import argparse
import ctypes
import os
import resource
import signal
import sys
import time

KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "OMP_NUM_THREADS")
KEPT_PREFIXES = ("RNN_COURSE_", "TF_", "NBGRADER_", "JPY_")
FILE_SIZE_LIMIT = 2 * 2**30
PR_SET_PDEATHSIG = 1


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, help="the command's HOME (created)")
    parser.add_argument("--memory", type=int, required=True, help="RLIMIT_DATA in bytes")
    parser.add_argument("--wall", type=float, required=True, help="seconds before it is killed")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE to set")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("no command given")
    return args


def clean_environment(home, extra):
    """Return the command's environment: kept variables, HOME and caches, then ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if k in KEPT_VARIABLES or k.startswith(KEPT_PREFIXES)}
    env.update(HOME=home, MPLCONFIGDIR=os.path.join(home, ".matplotlib"),
               IPYTHONDIR=os.path.join(home, ".ipython"), KERAS_HOME=os.path.join(home, ".keras"),
               PYTHONDONTWRITEBYTECODE="1", PYTHONNOUSERSITE="1")
    for item in extra:
        name, _, value = item.partition("=")
        env[name] = value
    return env


def limit_resources(memory):
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def die_with_parent(parent_pid):
    """Ask the kernel to SIGKILL this process when its supervisor dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the supervisor died before prctl took effect
        os._exit(1)


def run_child(args, env):
    limit_resources(args.memory)
    die_with_parent(os.getppid())
    os.execvpe(args.command[0], args.command, env)


def supervise(child, wall):
    """Wait for ``child``; kill it after ``wall`` seconds. Return its exit status."""
    def forward(signum, _frame):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the process group's SIGINT reaches the child
    deadline = time.monotonic() + wall
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            return -signal.SIGKILL
        time.sleep(0.05)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.makedirs(args.home, mode=0o700, exist_ok=True)
    env = clean_environment(args.home, args.env)
    child = os.fork()
    if child == 0:
        try:
            run_child(args, env)
        except BaseException as err:  # noqa: BLE001  (report why the command could not start)
            print(f"sandbox: cannot start {args.command[0]}: {err}", file=sys.stderr)
        os._exit(127)
    code = supervise(child, args.wall)
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
