"""Checks that a student's machine is ready for the course (used by assignment 0)."""

import hashlib
import re
import sys
from importlib import metadata
from pathlib import Path

import yaml
from packaging.requirements import Requirement

from utils.paths import REPO_ROOT, data_dir

PYTHON_VERSIONS = [(3, 11), (3, 12), (3, 13)]    # the ones TensorFlow 2.21 has wheels for
PACKAGES = ["numpy", "keras", "matplotlib", "tqdm", "nbgrader", "jupyterlab"]
# TensorFlow is installed as one of these, by platform (see the markers in requirements.txt);
# both provide `import tensorflow`, so the check accepts whichever is there.
TENSORFLOW = ["tensorflow-cpu", "tensorflow"]
LAB_EXTENSIONS = ["@jupyter/nbgrader", "@jupyter-widgets/jupyterlab-manager"]


def pinned_requirements(environment_file=REPO_ROOT / "environment.yml"):
    """Return the requirements of environment.yml's pip section, markers included.

    Returns:
    - list of packaging.requirements.Requirement in file order; pip options such as
      ``-e .`` are left out.
    """
    environment = yaml.safe_load(Path(environment_file).read_text(encoding="utf-8"))
    pip_lines = next(entry["pip"] for entry in environment["dependencies"] if isinstance(entry, dict))
    return [Requirement(line) for line in pip_lines if not line.startswith("-")]


def pinned_versions(environment_file=REPO_ROOT / "environment.yml"):
    """Return {package: version} for the ``name==version`` pins in environment.yml."""
    return {requirement.name.lower(): spec.version
            for requirement in pinned_requirements(environment_file)
            for spec in requirement.specifier if spec.operator == "=="}


def installed_version(package):
    """Return the installed version of distribution ``package``, or None when it is missing."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def tensorflow_row(pins):
    """Return the ``check_setup`` row for TensorFlow, naming the distribution installed.

    Inputs:
    - pins: {package: version}, as from ``pinned_versions``.
    """
    installed = {name: installed_version(name) for name in TENSORFLOW}
    installed = {name: version for name, version in installed.items() if version}
    if not installed:
        return ("tensorflow", False, f"not installed (want {' or '.join(TENSORFLOW)} {pins.get('tensorflow')})")
    ok = all(version == pins.get(name) for name, version in installed.items())
    found = " and ".join(f"{name} {version} (pinned {pins.get(name)})" for name, version in installed.items())
    return ("tensorflow", ok, found)


def data_checksums(sources_file=None):
    """Return {file: sha256} from the table in data/SOURCES.md."""
    text = Path(sources_file or data_dir() / "SOURCES.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| (\S+\.txt) \|.*`([0-9a-f]{64})` \|$", text, re.M))


def check_setup():
    """Return rows ``(what, ok, detail)`` describing Python, packages, data and extensions."""
    python_ok = sys.version_info[:2] in PYTHON_VERSIONS
    rows = [("python 3.11 to 3.13", python_ok, sys.version.split()[0])]
    pins = pinned_versions()
    for package in PACKAGES:
        installed, wanted = installed_version(package), pins.get(package)
        if installed is None:
            rows.append((package, False, f"not installed (want {wanted})"))
        else:
            rows.append((package, installed == wanted, f"{installed} (pinned {wanted})"))
    rows.append(tensorflow_row(pins))
    for name, digest in data_checksums().items():
        path = data_dir() / name
        if not path.is_file():
            rows.append((f"data/{name}", False, "missing"))
            continue
        ok = hashlib.sha256(path.read_bytes()).hexdigest() == digest
        rows.append((f"data/{name}", ok, "sha256 matches" if ok else "sha256 differs: file changed"))
    labextensions = Path(sys.prefix) / "share" / "jupyter" / "labextensions"
    for extension in LAB_EXTENSIONS:
        ok = (labextensions / extension).is_dir()
        rows.append((f"JupyterLab {extension}", ok, "installed" if ok else "missing"))
    return rows


def print_setup_report(rows):
    """Print the rows of ``check_setup`` as a table; return True when every check passed."""
    for what, ok, detail in rows:
        print(f"{'ok  ' if ok else 'FAIL'} {what:<40} {detail}")
    passed = all(ok for _, ok, _ in rows)
    print("\nAll checks passed." if passed else "\nFix the FAIL lines (see README.md, Setup).")
    return passed
