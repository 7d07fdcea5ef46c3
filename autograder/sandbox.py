"""The sandbox of every process that runs or renders student code: bubblewrap (``bwrap``).

``Sandbox(...).command(argv)`` returns the command line that runs ``argv`` confined:

- **namespaces**: new user, pid, network, ipc and uts namespaces, and its own mounts. Inside,
  the process is uid 1000 without capabilities, sees only its own processes (a daemon it
  forks dies with it: when the sandbox's first process ends, the kernel kills the rest), has
  no network but loopback, and dies with the grader (``--die-with-parent``);
- **files**: an empty root with read-only binds of the system (``/usr``), the interpreter,
  the virtual environment and whatever the caller lists in ``readonly`` (a snapshot of the
  course's shared files, say); ``writable`` binds (one scratch folder) and a private ``/tmp``
  of bounded size. Nothing else exists inside: not the repository, ``source/``, the grading
  folder, the gradebook, other submissions or the grader's home;
- **environment**: built from nothing (``--clearenv``), then only ``env``;
- **limits**: memory and process count of the sandbox as a whole, by a control group of its
  own (``ControlGroup``: cgroup v1 as root, a delegated cgroup v2, or a transient systemd
  scope), and per process, set inside the user namespace with ``prlimit``: process count,
  data memory, file size, open files, no core files. The working folder and ``/tmp`` are
  tmpfs mounts of bounded size, never the grader's disk.

When the grader runs as root (the course's containers, CI), bwrap first mounts as root, then
``setpriv`` drops to ``nobody`` before a second bwrap creates the user namespace: a process
that is root outside is exempt from the process limit, and files under ``/root`` (where
pyenv keeps the interpreter) could not be bound by an unprivileged bwrap. A grader that is an
ordinary user needs the single, unprivileged bwrap.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: "
                "`dnf install bubblewrap`, Arch: `pacman -S bubblewrap`)")
UID_INSIDE = 1000
UNPRIVILEGED_OUTSIDE = 65534  # nobody: the uid sandboxes run as when the grader is root
SYSTEM_FILES = ("/usr", "/etc/ld.so.cache", "/etc/localtime", "/etc/fonts")
MERGED_USR = {"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib", "/lib64": "usr/lib64"}
CGROUP_ROOT = Path("/sys/fs/cgroup")


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or cannot create namespaces here."""


def bwrap_path():
    """Path of bwrap, or raise SandboxUnavailable saying how to install it."""
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}")
    return path


def interpreter_paths():
    """The folders the sandboxed Python needs: the virtual environment and its base install."""
    return sorted({os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)})


@dataclass
class Sandbox:
    """What one sandboxed process may see and use.

    - readonly, writable: {path inside: path outside} binds, read-only or writable
    - cwd: the working directory inside
    - env: the whole environment inside
    - memory: RLIMIT_DATA in bytes (RLIMIT_AS would break TensorFlow, which reserves far more
      address space than it uses)
    - processes: RLIMIT_NPROC, counted in this sandbox only
    - file_size: RLIMIT_FSIZE in bytes; tmp_size: bytes of the private /tmp
    - scratch: folders inside that are fresh tmpfs mounts of ``scratch_size`` bytes (the
      kernel's working folder), with ``scratch_files`` {path inside: file outside} bound
      read-only in them (the data files beside a notebook)
    - group: the ControlGroup that bounds the whole sandbox, or None (limits per process only)
    """
    readonly: dict = field(default_factory=dict)
    writable: dict = field(default_factory=dict)
    cwd: str = "/tmp"
    env: dict = field(default_factory=dict)
    memory: int = 3 * 2**30
    processes: int = 256
    file_size: int = 256 * 2**20
    open_files: int = 1024
    tmp_size: int = 512 * 2**20
    scratch: tuple = ()
    scratch_size: int = 512 * 2**20
    scratch_files: dict = field(default_factory=dict)
    group: "ControlGroup | None" = None

    def mounts(self):
        """bwrap arguments for the file system. bwrap applies them in order: the private /tmp
        comes first, so that binds below /tmp (a scratch folder, a clone in /tmp) stay visible."""
        readonly = {path: path for path in (*SYSTEM_FILES, *interpreter_paths())
                    if os.path.exists(path)}
        readonly.update(self.readonly)
        args = ["--proc", "/proc", "--dev", "/dev",
                "--size", str(self.tmp_size), "--perms", "1777", "--tmpfs", "/tmp"]
        targets = [*readonly, *self.writable, *self.scratch, self.cwd]
        parents = sorted({str(p) for t in targets for p in PurePosixPath(t).parents
                          if str(p) not in ("/", "/tmp", "/proc", "/dev")})
        for parent in parents:  # 0755: bwrap would copy the mode of /root (0700)
            args += ["--perms", "0755", "--dir", parent]
        for link, target in MERGED_USR.items():
            if os.path.islink(link):
                args += ["--symlink", target, link]
        for inside, outside in sorted(readonly.items()):
            args += ["--ro-bind", outside, inside]
        for inside, outside in sorted(self.writable.items()):
            args += ["--bind", outside, inside]
        for inside in self.scratch:
            args += ["--size", str(self.scratch_size), "--perms", "0777", "--tmpfs", inside]
        for inside, outside in sorted(self.scratch_files.items()):
            args += ["--ro-bind", outside, inside]
        return args

    def limits(self):
        """prlimit's command prefix, run inside the user namespace."""
        return ["prlimit", f"--nproc={self.processes}", f"--data={self.memory}",
                f"--fsize={self.file_size}", f"--nofile={self.open_files}", "--core=0", "--"]

    def command(self, argv):
        """The command line that runs ``argv`` in this sandbox (start it with an empty
        environment, e.g. ``subprocess.Popen(..., env={})``)."""
        bwrap = bwrap_path()
        enter = self.group.enter_command() if self.group else []
        common = ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
                  "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                  "--hostname", "sandbox", *self.mounts(), "--chdir", self.cwd, "--clearenv"]
        for name, value in sorted(self.env.items()):
            common += ["--setenv", name, str(value)]
        user_namespace = ["--unshare-user", "--uid", str(UID_INSIDE), "--gid", str(UID_INSIDE),
                          "--disable-userns"]
        if os.geteuid() != 0:
            return [*enter, bwrap, *common, *user_namespace, "--", *self.limits(), *argv]
        drop = ["setpriv", f"--reuid={UNPRIVILEGED_OUTSIDE}", f"--regid={UNPRIVILEGED_OUTSIDE}",
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
        inner = [bwrap, "--die-with-parent", *user_namespace, "--bind", "/", "/",
                 "--dev", "/dev", "--chdir", self.cwd]
        return [*enter, bwrap, *common, "--", *drop, "--", *inner, "--", *self.limits(), *argv]


def owner_for_writable():
    """(uid, gid) that must own a writable folder so that the sandbox can write to it."""
    if os.geteuid() == 0:
        return UNPRIVILEGED_OUTSIDE, UNPRIVILEGED_OUTSIDE
    return os.geteuid(), os.getegid()


def make_writable(path):
    """Hand folder ``path`` (created if needed) to the sandbox's user."""
    os.makedirs(path, exist_ok=True)
    uid, gid = owner_for_writable()
    os.chown(path, uid, gid)
    os.chmod(path, 0o700)



class ControlGroup:
    """Memory and process bounds of one sandbox as a whole: a control group that its first
    process joins before bwrap starts, so that everything it forks counts against the same
    bound (``RLIMIT_DATA`` counts per process: 256 processes of 3 GiB each are not 3 GiB).

    ``ControlGroup.create(memory, processes)`` makes one with the first mechanism this machine
    offers (``mechanism`` names it): cgroup v1 controllers the grader may write (as root), a
    cgroup v2 subtree delegated to the grader, or a transient systemd scope; None where
    there is none (the per-process limits then stand alone; ``bounds_in_force`` says so).
    ``remove()`` kills what is left in it and deletes it.
    """

    def __init__(self, mechanism, folders=(), scope=()):
        self.mechanism, self.folders, self.scope = mechanism, list(folders), list(scope)

    @classmethod
    def create(cls, memory, processes):
        name = f"rnn-course-{uuid.uuid4().hex[:12]}"
        v1 = {"memory": CGROUP_ROOT / "memory", "pids": CGROUP_ROOT / "pids"}
        if all(os.access(folder, os.W_OK) for folder in v1.values()):
            folders = [v1["memory"] / name, v1["pids"] / name]
            for folder in folders:
                folder.mkdir()
            (folders[0] / "memory.limit_in_bytes").write_text(str(memory))
            _write_if_present(folders[0] / "memory.memsw.limit_in_bytes", str(memory))
            (folders[1] / "pids.max").write_text(str(processes))
            return cls("cgroup v1", folders)
        delegated = _delegated_cgroup_v2()
        if delegated is not None:
            folder = delegated / name
            folder.mkdir()
            (folder / "memory.max").write_text(str(memory))
            _write_if_present(folder / "memory.swap.max", "0")
            (folder / "pids.max").write_text(str(processes))
            return cls("cgroup v2", [folder])
        if shutil.which("systemd-run") and _systemd_answers():
            user = [] if os.geteuid() == 0 else ["--user"]
            return cls("systemd scope", scope=[
                "systemd-run", *user, "--scope", "--quiet", "--collect",
                f"--unit={name}", "-p", f"MemoryMax={memory}", "-p", "MemorySwapMax=0",
                "-p", f"TasksMax={processes}", "--"])
        return None

    def enter_command(self):
        """The prefix of a command line that runs it inside this group."""
        if self.scope:
            return self.scope
        script = 'for g in "$@"; do shift; [ "$g" = -- ] && break; echo $$ > "$g/cgroup.procs"; done; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *map(str, self.folders), "--"]

    def remove(self):
        """Kill every process left in the group, then delete it."""
        for folder in self.folders:
            for _ in range(50):
                pids = _read_pids(folder)
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    folder.rmdir()
                    break
                except OSError:  # processes still exiting
                    time.sleep(0.05)


def _write_if_present(path, value):
    if path.exists():
        try:
            path.write_text(value)
        except OSError:  # a kernel without swap accounting
            pass


def _read_pids(folder):
    try:
        return [int(pid) for pid in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _delegated_cgroup_v2():
    """This process's cgroup v2 folder when the grader may make children in it with the memory
    and pids controllers (a delegated subtree, e.g. ``systemd-run --user -p Delegate=yes``)."""
    if not (CGROUP_ROOT / "cgroup.controllers").is_file():
        return None
    try:
        own = next(line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines()
                   if line.startswith("0::"))
    except (OSError, StopIteration):
        return None
    folder = CGROUP_ROOT / own.strip().lstrip("/")
    try:
        enabled = (folder / "cgroup.subtree_control").read_text().split()
    except OSError:
        return None
    if {"memory", "pids"} <= set(enabled) and os.access(folder, os.W_OK):
        return folder
    return None


def _systemd_answers():
    """Whether a systemd manager runs that can make transient scopes for this user."""
    user = [] if os.geteuid() == 0 else ["--user"]
    try:
        state = subprocess.run(["systemctl", *user, "is-system-running"], capture_output=True,
                               text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return False
    return state in ("running", "degraded")


def bounds_in_force(memory, processes):
    """One line for report.txt: how memory and processes of each sandbox are bounded here."""
    group = ControlGroup.create(memory, processes)
    if group is None:
        return (f"sandbox bounds: {memory / 2**30:g} GiB of data memory and {processes} "
                "processes per process (RLIMIT): this machine offers no cgroup to bound a "
                "sandbox as a whole (README.md, Grading)")
    group.remove()
    return (f"sandbox bounds: {memory / 2**30:g} GiB of memory and {processes} processes per "
            f"sandbox ({group.mechanism})")
