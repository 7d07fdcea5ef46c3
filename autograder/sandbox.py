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
- **limits**: set inside the user namespace with ``prlimit``, so that they count this
  sandbox's processes only: process count, data memory, file size, open files, no core files.

When the grader runs as root (the course's containers, CI), bwrap first mounts as root, then
``setpriv`` drops to ``nobody`` before a second bwrap creates the user namespace: a process
that is root outside is exempt from the process limit, and files under ``/root`` (where
pyenv keeps the interpreter) could not be bound by an unprivileged bwrap. A grader that is an
ordinary user needs the single, unprivileged bwrap.
"""

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import PurePosixPath

INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: "
                "`dnf install bubblewrap`, Arch: `pacman -S bubblewrap`)")
UID_INSIDE = 1000
UNPRIVILEGED_OUTSIDE = 65534  # nobody: the uid sandboxes run as when the grader is root
SYSTEM_FILES = ("/usr", "/etc/ld.so.cache", "/etc/localtime", "/etc/fonts")
MERGED_USR = {"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib", "/lib64": "usr/lib64"}


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

    def mounts(self):
        """bwrap arguments for the file system. bwrap applies them in order: the private /tmp
        comes first, so that binds below /tmp (a scratch folder, a clone in /tmp) stay visible."""
        readonly = {path: path for path in (*SYSTEM_FILES, *interpreter_paths())
                    if os.path.exists(path)}
        readonly.update(self.readonly)
        args = ["--proc", "/proc", "--dev", "/dev",
                "--size", str(self.tmp_size), "--perms", "1777", "--tmpfs", "/tmp"]
        targets = [*readonly, *self.writable, self.cwd]
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
        return args

    def limits(self):
        """prlimit's command prefix, run inside the user namespace."""
        return ["prlimit", f"--nproc={self.processes}", f"--data={self.memory}",
                f"--fsize={self.file_size}", f"--nofile={self.open_files}", "--core=0", "--"]

    def command(self, argv):
        """The command line that runs ``argv`` in this sandbox (start it with an empty
        environment, e.g. ``subprocess.Popen(..., env={})``)."""
        bwrap = bwrap_path()
        common = ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
                  "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                  "--hostname", "sandbox", *self.mounts(), "--chdir", self.cwd, "--clearenv"]
        for name, value in sorted(self.env.items()):
            common += ["--setenv", name, str(value)]
        user_namespace = ["--unshare-user", "--uid", str(UID_INSIDE), "--gid", str(UID_INSIDE),
                          "--disable-userns"]
        if os.geteuid() != 0:
            return [bwrap, *common, *user_namespace, "--", *self.limits(), *argv]
        drop = ["setpriv", f"--reuid={UNPRIVILEGED_OUTSIDE}", f"--regid={UNPRIVILEGED_OUTSIDE}",
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
        inner = [bwrap, "--die-with-parent", *user_namespace, "--bind", "/", "/",
                 "--dev", "/dev", "--chdir", self.cwd]
        return [bwrap, *common, "--", *drop, "--", *inner, "--", *self.limits(), *argv]


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

