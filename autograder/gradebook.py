"""The gradebook: opening it for the course (sqlite or PostgreSQL), writing to it while other
graders do, and rebuilding one that nbgrader made without its schema version.

    python -m autograder.gradebook [GRADEBOOK]     (default: gradebook.db; `make lab` runs it)

nbgrader makes gradebook.db the first time the Formgrader opens: it creates the tables, then
asks the `alembic` command for the schema's version. When `alembic` was not on PATH (as with
`make lab` before it put .venv/bin there), the tables were made but the version never was:
the Formgrader stays at "Loading, please wait...", and `nbgrader db upgrade` fails with
"duplicate column name". Such a gradebook is rebuilt: the damaged file is kept beside it as
gradebook.db.damaged-<time>, nbgrader makes a new one, and every row that can be read from
the damaged file (students, submissions, grades) is copied into it.
"""

import argparse
import os
import sqlite3
import sys
import time
from contextlib import closing
from pathlib import Path

from autograder.grading import ROOT, nbgrader_config


def put_alembic_on_path():
    """nbgrader stamps a new database with the schema version it asks the `alembic` command
    on PATH for: put this interpreter's (the venv's) first."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])


def open_gradebook(db_url, attempts=5):
    """nbgrader's Gradebook for ``db_url`` with the course's course_id. Retries while another
    grader creates the same database's tables or course row at the same moment."""
    from nbgrader.api import Gradebook, InvalidEntry
    from sqlalchemy.exc import DBAPIError

    put_alembic_on_path()
    course_id = nbgrader_config().CourseDirectory.course_id
    for attempt in range(attempts):
        try:
            return Gradebook(db_url, course_id=course_id)
        except (DBAPIError, InvalidEntry):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def retrying(action, attempts=5):
    """Run ``action()``; again after a conflict with another grader writing the same rows
    (nbgrader's InvalidEntry, e.g. both adding one student)."""
    from nbgrader.api import InvalidEntry

    for attempt in range(attempts):
        try:
            return action()
        except InvalidEntry:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def table_names(connection, schema="main"):
    return {name for (name,) in connection.execute(
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")}


def column_names(connection, schema, table):
    return [row[1] for row in connection.execute(f'PRAGMA {schema}.table_info("{table}")')]


def is_damaged(gradebook):
    """True when the sqlite file ``gradebook`` has tables but no ``alembic_version`` table."""
    if not gradebook.is_file():
        return False
    with closing(sqlite3.connect(f"file:{gradebook}?mode=ro", uri=True)) as connection:
        tables = table_names(connection)
    return bool(tables) and "alembic_version" not in tables


def new_gradebook(gradebook):
    """Let nbgrader make an empty gradebook at ``gradebook``, schema version included."""
    from nbgrader.api import Gradebook

    put_alembic_on_path()
    Gradebook(f"sqlite:///{gradebook}").close()


def copy_rows(source, dest):
    """Copy the rows of every table of ``dest`` that ``source`` also has, in the columns both
    have, in one transaction (all or none); return the number of rows copied.

    ``dest`` is a gradebook nbgrader has just made: its only row, the default course, is
    dropped (the Formgrader adds the course of nbgrader_config.py when it opens).
    """
    from nbgrader.api import Base

    with closing(sqlite3.connect(dest)) as connection:
        connection.execute("ATTACH DATABASE ? AS old", (str(source),))
        copied = 0
        with connection:
            connection.execute('DELETE FROM main."course"')
            old_tables = table_names(connection, "old")
            for table in [t.name for t in Base.metadata.sorted_tables if t.name in old_tables]:
                old_columns = column_names(connection, "old", table)
                columns = ", ".join(f'"{c}"' for c in column_names(connection, "main", table)
                                    if c in old_columns)
                copied += connection.execute(f'INSERT INTO main."{table}" ({columns}) '
                                             f'SELECT {columns} FROM old."{table}"').rowcount
        return copied


def rebuild(gradebook):
    """Rebuild the damaged ``gradebook``; return (path of the damaged file kept, rows copied
    or None when its rows could not be read)."""
    damaged = gradebook.with_name(f"{gradebook.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    gradebook.rename(damaged)
    new_gradebook(gradebook)
    try:
        return damaged, copy_rows(damaged, gradebook)
    except sqlite3.DatabaseError:
        return damaged, None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gradebook", nargs="?", type=Path, default=ROOT / "gradebook.db")
    gradebook = parser.parse_args(argv).gradebook
    if not is_damaged(gradebook):
        return 0
    damaged, copied = rebuild(gradebook)
    kept = (f"kept its {copied} rows (students, submissions, grades)" if copied is not None
            else "could not read its rows: it starts empty")
    print(f"{gradebook} had nbgrader's tables but no schema version (an earlier `make lab` could "
          f"not run alembic), so the Formgrader could not open it. Rebuilt it and {kept}; the "
          f"damaged file is {damaged}.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
