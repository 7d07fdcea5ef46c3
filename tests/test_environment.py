"""The two install files name the same pinned versions, and the data files are intact."""

import hashlib
import re
from pathlib import Path

from utils.setup_check import data_checksums, pinned_versions

ROOT = Path(__file__).resolve().parent.parent


def requirement_pins():
    text = (ROOT / "requirements.txt").read_text()
    return {name.lower(): version for name, version in
            re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)}


def test_requirements_and_environment_pin_the_same_versions():
    assert requirement_pins() == pinned_versions(ROOT / "environment.yml"), (
        "requirements.txt and environment.yml must pin the same packages at the same versions")


def test_every_requirement_is_pinned():
    lines = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    unpinned = [line for line in lines if line and not line.startswith("#") and "==" not in line]
    assert not unpinned, f"unpinned requirements: {unpinned}"


def test_data_files_match_their_recorded_checksums():
    checksums = data_checksums(ROOT / "data" / "SOURCES.md")
    assert set(checksums) == {"dinos.txt", "shakespeare.txt", "tinyshakespeare.txt", "alice.txt"}
    for name, digest in checksums.items():
        assert hashlib.sha256((ROOT / "data" / name).read_bytes()).hexdigest() == digest, name
