"""The two install files name the same pinned versions, and the data files are intact."""

import hashlib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from utils import setup_check
from utils.setup_check import data_checksums, pinned_requirements, pinned_versions

ROOT = Path(__file__).resolve().parent.parent


def requirements_txt():
    """The requirements of requirements.txt, markers included."""
    lines = [line.strip() for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()]
    return [Requirement(line) for line in lines if line and not line.startswith("#")]


def test_requirements_and_environment_pin_the_same_versions_and_markers():
    # str() writes name, version and marker in one canonical form, so only meaning is compared.
    in_requirements = sorted(map(str, requirements_txt()))
    in_environment = sorted(map(str, pinned_requirements(ROOT / "environment.yml")))
    assert in_requirements == in_environment, (
        "requirements.txt and environment.yml must name the same packages, versions and markers: "
        f"only in requirements.txt {sorted(set(in_requirements) - set(in_environment))}, "
        f"only in environment.yml {sorted(set(in_environment) - set(in_requirements))}")


def test_every_requirement_is_pinned():
    unpinned = [str(r) for r in requirements_txt() if [s.operator for s in r.specifier] != ["=="]]
    assert not unpinned, f"unpinned requirements: {unpinned}"


def test_tensorflow_is_one_version_under_both_names():
    pins = pinned_versions(ROOT / "environment.yml")
    assert pins["tensorflow"] == pins["tensorflow-cpu"], (
        "tensorflow and tensorflow-cpu must pin the same version: notebooks and models expect one")


@pytest.mark.parametrize("installed, ok, detail", [
    ({"tensorflow-cpu": "2.21.0"}, True, "tensorflow-cpu 2.21.0 (pinned 2.21.0)"),
    ({"tensorflow": "2.21.0"}, True, "tensorflow 2.21.0 (pinned 2.21.0)"),
    ({"tensorflow": "2.20.0"}, False, "tensorflow 2.20.0 (pinned 2.21.0)"),
    ({}, False, "not installed (want tensorflow-cpu or tensorflow 2.21.0)"),
])
def test_setup_check_accepts_either_tensorflow_and_names_it(monkeypatch, installed, ok, detail):
    monkeypatch.setattr(setup_check, "installed_version", installed.get)
    pins = {"tensorflow-cpu": "2.21.0", "tensorflow": "2.21.0"}
    assert setup_check.tensorflow_row(pins) == ("tensorflow", ok, detail)


def test_data_files_match_their_recorded_checksums():
    checksums = data_checksums(ROOT / "data" / "SOURCES.md")
    assert set(checksums) == {"dinos.txt", "shakespeare.txt", "tinyshakespeare.txt", "alice.txt"}
    for name, digest in checksums.items():
        assert hashlib.sha256((ROOT / "data" / name).read_bytes()).hexdigest() == digest, name
