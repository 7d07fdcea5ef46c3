"""The class roster: which repository and which GitHub login is which student.

A roster is a CSV with a ``student_id`` column (or ``identifier``, as in GitHub Classroom's
roster) and a ``repo`` column (repository name) and/or a ``github_username`` (or ``login``)
column; a repository matches a login when it is named ``<login>`` or ``<anything>-<login>``.
Other columns are allowed (names and emails: autograder/term/people.py).
"""

import csv
import re
from dataclasses import dataclass, field

STUDENT_ID_COLUMNS = ("student_id", "identifier")
LOGIN_COLUMNS = ("github_username", "login", "github")


@dataclass
class Roster:
    """Who is who: repository names and GitHub logins (lower case) to student ids."""
    by_repo: dict = field(default_factory=dict)
    by_login: dict = field(default_factory=dict)
    students: list = field(default_factory=list)

    def student_of(self, repo_name):
        """Return the student id of a repository, or None when no roster row matches it."""
        name = repo_name.lower()
        if name in self.by_repo:
            return self.by_repo[name]
        # Classroom names repos <assignment>-<login>; the longest login wins (bob vs jim-bob).
        for login in sorted(self.by_login, key=len, reverse=True):
            if name == login or name.endswith("-" + login):
                return self.by_login[login]
        return None


def load_roster(path):
    """Read a roster CSV into a Roster; raise ValueError naming the file and bad row."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path}: the roster is empty")
    columns = {c.strip().lower(): c for c in rows[0]}
    id_column = next((columns[c] for c in STUDENT_ID_COLUMNS if c in columns), None)
    login_column = next((columns[c] for c in LOGIN_COLUMNS if c in columns), None)
    repo_column = columns.get("repo")
    if not id_column or not (login_column or repo_column):
        raise ValueError(f"{path}: needs a student_id (or identifier) column and a repo or "
                         f"github_username column; it has {list(rows[0])}")
    roster = Roster()
    for line, row in enumerate(rows, start=2):
        student = (row[id_column] or "").strip()
        if not re.fullmatch(r"[A-Za-z0-9._@+-]+", student):
            raise ValueError(f"{path}, line {line}: student id {student!r} must be letters, "
                             "digits and . _ @ + - (it names a folder)")
        repo = (row.get(repo_column) or "").strip().lower() if repo_column else ""
        login = (row.get(login_column) or "").strip().lower() if login_column else ""
        if not (repo or login):
            raise ValueError(f"{path}, line {line}: {student} has neither a repo nor a login")
        if repo:
            roster.by_repo[repo] = student
        if login:
            roster.by_login[login] = student
        roster.students.append(student)
    return roster
