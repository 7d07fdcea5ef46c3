"""The course installs on every machine students bring.

- requirements.txt resolves to binary wheels for each supported platform and Python version.
  `uv pip compile --python-platform T --python-version V` evaluates the environment markers
  for the target T (`pip install --dry-run --platform` evaluates them for this machine). These
  tests read PyPI and skip, saying so, when it cannot be reached.
- The Makefile picks a supported interpreter, whatever subset of them is on PATH.
- The student-side code (check.py and utils/) imports no POSIX-only module, so it runs on
  Windows.
"""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INDEX = "https://pypi.org/simple"
PYTHON_VERSIONS = ["3.11", "3.12", "3.13"]
# Each platform students use: uv's target, and the TensorFlow distribution its markers pick.
PLATFORMS = {
    "Linux x86-64": ("x86_64-unknown-linux-gnu", "tensorflow-cpu"),
    "Linux aarch64": ("aarch64-unknown-linux-gnu", "tensorflow"),
    "macOS arm64": ("aarch64-apple-darwin", "tensorflow"),
    "Windows x86-64": ("x86_64-pc-windows-msvc", "tensorflow-cpu"),
}
# TensorFlow 2.21 ships no macOS x86-64 wheel; the READMEs say so.
UNSUPPORTED_PLATFORMS = {"macOS x86-64": "x86_64-apple-darwin"}
# Modules and signal names Windows does not have (https://docs.python.org/3/library/).
POSIX_ONLY_MODULES = {"resource", "fcntl", "termios", "tty", "pty", "pwd", "grp", "syslog",
                      "crypt", "posix", "_posixsubprocess", "readline", "curses"}
POSIX_ONLY_SIGNALS = {"SIGKILL", "SIGALRM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2",
                      "SIGCHLD", "SIGPIPE", "alarm", "setitimer", "getitimer", "pause"}
CHECK_PY = ROOT / "autograder" / "student_repo" / "check.py"
STUDENT_FILES = [CHECK_PY, ROOT / "autograder" / "student_repo" / "nbgrader_config.py",
                 *sorted((ROOT / "utils").glob("*.py"))]


@pytest.fixture(scope="module")
def package_index():
    """Skip unless PyPI answers; return uv's command line for resolving against it."""
    try:
        urllib.request.urlopen(urllib.request.Request(f"{INDEX}/uv/", method="HEAD"), timeout=15)
    except OSError as err:
        pytest.skip(f"the package index {INDEX} cannot be reached ({err}): "
                    "platform resolution not checked")
    from uv import find_uv_bin  # requirements-dev.txt (installed by the Makefile)

    return [find_uv_bin(), "pip", "compile", "--no-config", "--default-index", INDEX,
            "--python", sys.executable, "--only-binary", ":all:", "--no-header", "--no-annotate",
            "--quiet", str(ROOT / "requirements.txt")]


def resolve(uv_compile, target, python_version):
    """Resolve requirements.txt for a uv target and Python version; return the process."""
    return subprocess.run(
        [*uv_compile, "--python-platform", target, "--python-version", python_version],
        capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("python_version", PYTHON_VERSIONS)
@pytest.mark.parametrize("platform", PLATFORMS)
def test_requirements_resolve_to_wheels(package_index, platform, python_version):
    target, tensorflow = PLATFORMS[platform]
    process = resolve(package_index, target, python_version)
    assert process.returncode == 0, (
        f"requirements.txt does not resolve to binary wheels on {platform} with Python "
        f"{python_version}:\n{process.stderr}")
    resolved = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", process.stdout, re.M))
    other = ({"tensorflow", "tensorflow-cpu"} - {tensorflow}).pop()
    assert resolved.get(tensorflow) == "2.21.0" and other not in resolved, (
        f"on {platform} the markers must install {tensorflow} 2.21.0 and not {other}; "
        f"resolved: {sorted(resolved)}")


@pytest.mark.parametrize("platform", UNSUPPORTED_PLATFORMS)
def test_unsupported_platform_lacks_tensorflow_wheels(package_index, platform):
    process = resolve(package_index, UNSUPPORTED_PLATFORMS[platform], "3.11")
    assert process.returncode != 0, (
        f"requirements.txt now resolves on {platform}: move it to PLATFORMS and say so in the "
        "README's quick start")
    assert "tensorflow" in process.stderr and "no wheels with a matching platform" in process.stderr, (
        f"{platform} should fail only for lack of TensorFlow wheels:\n{process.stderr}")


def fake_python(folder, name, version):
    """Write an executable ``name`` into ``folder`` that answers the Makefile's version query
    with ``version``, or fails like an unselected pyenv shim when version is None."""
    folder.mkdir(exist_ok=True)
    script = folder / name
    script.write_text("#!/bin/sh\n" + (f"echo {version}\n" if version else "exit 127\n"))
    script.chmod(0o755)
    return script


def make_print_python(path_dir, *arguments):
    """Run `make print-python` with nothing but ``path_dir`` on PATH; return the process."""
    make = shutil.which("make") or pytest.skip("make is not installed")
    return subprocess.run([make, "-s", "-f", str(ROOT / "Makefile"), "print-python", *arguments],
                          cwd=path_dir, env={"PATH": str(path_dir)}, capture_output=True, text=True)


@pytest.mark.parametrize("interpreters, chosen", [
    ({"python3.12": "3.12"}, "python3.12"),
    ({"python3.11": None, "python3.13": "3.13", "python3": "3.10"}, "python3.13"),
    ({"python3": "3.13"}, "python3"),
    ({"python3.11": "3.11", "python3.12": "3.12"}, "python3.11"),
])
def test_makefile_picks_the_first_supported_python(tmp_path, interpreters, chosen):
    for name, version in interpreters.items():
        fake_python(tmp_path, name, version)
    process = make_print_python(tmp_path)
    assert process.stdout.strip() == chosen, (
        f"with {interpreters} on PATH make should use {chosen}:\n{process.stdout}{process.stderr}")


def test_makefile_picks_a_real_python312_alone_on_path(tmp_path):
    # On PATH, or installed by pyenv without being selected (its shim then fails).
    candidates = [shutil.which("python3.12"), *sorted(Path(os.environ.get(
        "PYENV_ROOT", Path.home() / ".pyenv")).glob("versions/3.12*/bin/python3.12"))]
    version_query = ["-c", "import sys; print(sys.executable, sys.version_info[:2] == (3, 12))"]
    answers = [subprocess.run([c, *version_query], capture_output=True, text=True).stdout.split()
               for c in candidates if c]
    real = next((answer[0] for answer in answers if answer[1:] == ["True"]), None)
    if real is None:
        pytest.skip("no Python 3.12 on this machine")
    (tmp_path / "python3.12").symlink_to(real)
    assert make_print_python(tmp_path).stdout.strip() == "python3.12"


@pytest.mark.parametrize("interpreters, override", [
    ({"python3": "3.10", "python3.11": None}, None),
    ({"python3.11": "3.11"}, "python3.14"),
])
def test_makefile_stops_without_a_supported_python(tmp_path, interpreters, override):
    for name, version in {**interpreters, "python3.14": "3.14"}.items():
        fake_python(tmp_path, name, version)
    process = make_print_python(tmp_path, *([f"PYTHON={override}"] if override else []))
    assert process.returncode != 0 and not process.stdout, process.stdout
    assert "3.11, 3.12 or 3.13" in process.stderr and "make PYTHON=" in process.stderr, process.stderr


def test_makefile_python_override_wins(tmp_path):
    fake_python(tmp_path, "python3.11", "3.11")
    chosen = fake_python(tmp_path / "elsewhere", "python", "3.13")
    assert make_print_python(tmp_path, f"PYTHON={chosen}").stdout.strip() == str(chosen)


def test_student_code_imports_no_posix_only_module():
    """Every import and signal name in the student-side files, at top level or in a function."""
    posix_only_signals = {f"signal.{name}" for name in POSIX_ONLY_SIGNALS}
    found = []
    for path in STUDENT_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module == "signal":
                names = [f"signal.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Attribute) and getattr(node.value, "id", None) == "signal":
                names = [f"signal.{node.attr}"]
            else:
                continue
            found += [f"{path.relative_to(ROOT)}:{node.lineno} uses {name}" for name in names
                      if name.split(".")[0] in POSIX_ONLY_MODULES or name in posix_only_signals]
    assert not found, "not available on Windows:\n" + "\n".join(found)


# Run in a fresh interpreter: POSIX-only modules cannot be imported from the student-side
# files (the standard library and packages may still use them: they choose per platform),
# the POSIX-only signal names are gone, then every student-side module is imported and the
# set-up check of assignment 0 runs.
WINDOWS_LIKE_IMPORT = """
import importlib, importlib.abc, json, runpy, signal, sys
student_files, blocked, signals, utils_modules, check_py = json.loads(sys.argv[1])

class PosixOnlyBlocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        frame = sys._getframe(1)
        while frame and frame.f_code.co_filename.startswith("<frozen importlib"):
            frame = frame.f_back
        if name.split(".")[0] in blocked and frame and frame.f_code.co_filename in student_files:
            raise ImportError(f"No module named {name!r} on Windows (imported by "
                              f"{frame.f_code.co_filename}:{frame.f_lineno})")
        return None

for attribute in signals:
    if hasattr(signal, attribute):
        delattr(signal, attribute)
sys.meta_path.insert(0, PosixOnlyBlocker())
for module in utils_modules:
    importlib.import_module(module)
runpy.run_path(check_py, run_name="check")
from utils.setup_check import check_setup
check_setup()
print("imported", len(utils_modules), "utils modules and check.py")
"""


def test_student_code_imports_without_posix_only_modules():
    utils_modules = [f"utils.{path.stem}".removesuffix(".__init__")
                     for path in STUDENT_FILES if path.parent.name == "utils"]
    arguments = [[str(path) for path in STUDENT_FILES], sorted(POSIX_ONLY_MODULES),
                 sorted(POSIX_ONLY_SIGNALS), utils_modules, str(CHECK_PY)]
    process = subprocess.run(
        [sys.executable, "-c", WINDOWS_LIKE_IMPORT, json.dumps(arguments)], cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, (
        f"student-side code needs a POSIX-only module or signal:\n{process.stderr[-3000:]}")



@pytest.mark.parametrize("readme, section, needed", [
    ("README.md", "## Quick start",
     ["3.11", "3.12", "3.13", "Linux", "aarch64", "macOS", "Apple silicon", "Windows", "Intel"]),
    ("autograder/student_repo/README.md", "## Setup",
     ["3.11", "3.12", "3.13", "Linux", "ARM", "macOS", "Apple silicon", "Windows", "Intel",
      "py -3.11 -m venv .venv", ".venv\\Scripts\\activate", "python check.py"]),
])
def test_readme_names_the_supported_pythons_and_platforms(readme, section, needed):
    text = (ROOT / readme).read_text(encoding="utf-8").split(section)[1].split("\n## ")[0]
    text = " ".join(text.split())  # wrapped lines read as one
    missing = [name for name in needed if name not in text]
    assert not missing, f"{readme} should name {missing} under {section!r}"
