"""Feedback that shows every test's result and message, never the hidden tests' code.

nbgrader's `generate_feedback` renders the autograded notebook, whose test cells hold the
hidden tests in full, and their tracebacks quote the hidden lines with the expected numbers
(nbgrader issue #917). `HideHiddenTests` runs inside `generate_feedback` (collect.py adds it
to the course's configuration): in every test cell with a hidden block it replaces the block
by one comment line and each error's traceback by ``ename: evalue``, the test's message.
`hidden_test_leaks` checks a written HTML file for any hidden line.
"""

import html
import re
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"
PLACEHOLDER = "# (hidden tests: {count} lines not shown; their result is below)"

FEEDBACK_PREPROCESSORS = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]


def hide_hidden_block(source):
    """Return ``source`` with each hidden-test block replaced by one placeholder comment."""
    kept, hidden = [], None
    for line in source.splitlines():
        if BEGIN_HIDDEN in line:
            hidden = 0
        elif END_HIDDEN in line and hidden is not None:
            kept.append(line[: len(line) - len(line.lstrip())] + PLACEHOLDER.format(count=hidden))
            hidden = None
        elif hidden is None:
            kept.append(line)
        else:
            hidden += 1
    if hidden is not None:  # an unterminated block: hide everything after its start
        kept.append(PLACEHOLDER.format(count=hidden))
    return "\n".join(kept)


def hidden_lines(source):
    """Return the non-blank, stripped lines inside the hidden-test blocks of ``source``."""
    lines, inside = [], False
    for line in source.splitlines():
        if BEGIN_HIDDEN in line:
            inside = True
        elif END_HIDDEN in line:
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


class HideHiddenTests(Preprocessor):
    """Remove hidden test code, and the tracebacks that quote it, from test cells."""

    enabled = Bool(True, help="nbgrader registers preprocessors disabled unless they say so")

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or BEGIN_HIDDEN not in cell.source:
            return cell, resources
        cell.source = hide_hidden_block(cell.source)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                message = f"{output.ename}: {output.evalue}" if output.evalue else output.ename
                output.traceback = [message, "(the hidden test's traceback is not shown)"]
        return cell, resources


def html_text(path):
    """Return the visible text of an HTML file: tags removed, entities decoded."""
    text = Path(path).read_text(encoding="utf-8")
    text = re.sub(r"<style.*?</style>|<script.*?</script>", " ", text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def hidden_test_leaks(feedback_html, source_nb):
    """Return the hidden-test lines of ``source_nb`` that show in a feedback HTML file.

    Lines are compared with whitespace removed, so syntax highlighting cannot hide a match;
    a hidden line that also shows in the notebook's public cells (an import, say) is no leak.
    """
    def squash(text):
        return re.sub(r"\s+", "", text)

    public = squash("\n".join(hide_hidden_block(cell.source) for cell in source_nb.cells))
    text = squash(html_text(feedback_html))
    return [
        line for cell in source_nb.cells if cell.cell_type == "code"
        for line in hidden_lines(cell.source)
        if squash(line) not in public and squash(line) in text
    ]
