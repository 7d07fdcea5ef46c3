"""A gradebook left without its schema version (alembic not on PATH) is rebuilt, grades kept."""

import os
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import pytest
from nbgrader import dbutil
from nbgrader.api import Gradebook

from autograder.gradebook import is_damaged, main

VENV_BIN = str(Path(sys.executable).parent)


def damaged_gradebook(path, monkeypatch):
    """Make the gradebook the Formgrader left when `alembic` was not on PATH, with a student."""
    with monkeypatch.context() as m:
        m.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != VENV_BIN))
        with pytest.raises(FileNotFoundError, match="alembic"):
            Gradebook(f"sqlite:///{path}")
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("INSERT INTO student (id, first_name, last_name) VALUES ('ada', 'Ada', 'L')")
    return path


def tables_and_students(path):
    with closing(sqlite3.connect(path)) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return tables, connection.execute("SELECT id, first_name FROM student").fetchall()


def test_damaged_gradebook_is_rebuilt_with_its_rows_and_then_upgrades(tmp_path, monkeypatch, capsys):
    gradebook = damaged_gradebook(tmp_path / "gradebook.db", monkeypatch)
    assert is_damaged(gradebook)
    monkeypatch.setenv("PATH", os.environ["PATH"])  # main puts .venv/bin on it; restored after

    assert main([str(gradebook)]) == 0

    assert "no schema version" in capsys.readouterr().err
    tables, students = tables_and_students(gradebook)
    assert "alembic_version" in tables and students == [("ada", "Ada")]
    assert not is_damaged(gradebook)
    [kept] = tmp_path.glob("gradebook.db.damaged-*")
    assert tables_and_students(kept)[1] == [("ada", "Ada")]
    monkeypatch.setenv("PATH", os.pathsep.join([VENV_BIN, os.environ["PATH"]]))
    dbutil.upgrade(f"sqlite:///{gradebook}")  # failed with "duplicate column name" before


def test_healthy_or_missing_gradebooks_are_left_alone(tmp_path, monkeypatch, capsys):
    assert main([str(tmp_path / "gradebook.db")]) == 0
    assert not (tmp_path / "gradebook.db").exists()
    monkeypatch.setenv("PATH", os.pathsep.join([VENV_BIN, os.environ["PATH"]]))
    Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}").close()
    before = (tmp_path / "gradebook.db").read_bytes()
    assert main([str(tmp_path / "gradebook.db")]) == 0
    assert (tmp_path / "gradebook.db").read_bytes() == before and capsys.readouterr().err == ""
