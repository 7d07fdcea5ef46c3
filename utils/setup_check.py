"""Checks that a student's machine is ready for the course (used by assignment 0)."""

import hashlib
import re
import sys
from importlib import metadata
from pathlib import Path

from utils.paths import REPO_ROOT, data_dir

PACKAGES = ["numpy", "tensorflow-cpu", "keras", "matplotlib", "tqdm", "nbgrader", "jupyterlab"]
LAB_EXTENSIONS = ["@jupyter/nbgrader", "@jupyter-widgets/jupyterlab-manager"]


def pinned_versions(environment_file=REPO_ROOT / "environment.yml"):
    """Return {package: version} for the ``name==version`` pins in environment.yml."""
    pins = re.findall(r"^\s*-\s*([A-Za-z0-9_.-]+)==([^\s#]+)", Path(environment_file).read_text(), re.M)
    return {name.lower(): version for name, version in pins}


def data_checksums(sources_file=None):
    """Return {file: sha256} from the table in data/SOURCES.md."""
    text = Path(sources_file or data_dir() / "SOURCES.md").read_text()
    return dict(re.findall(r"^\| (\S+\.txt) \|.*`([0-9a-f]{64})` \|$", text, re.M))


def check_setup():
    """Return rows ``(what, ok, detail)`` describing Python, packages, data and extensions."""
    rows = [("python >= 3.11", sys.version_info >= (3, 11), sys.version.split()[0])]
    pins = pinned_versions()
    for package in PACKAGES:
        try:
            installed = metadata.version(package)
        except metadata.PackageNotFoundError:
            rows.append((package, False, f"not installed (want {pins.get(package)})"))
            continue
        wanted = pins.get(package)
        rows.append((package, installed == wanted, f"{installed} (pinned {wanted})"))
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
