"""Feedback that shows every test's result and message, never the hidden tests' code.

nbgrader's `generate_feedback` renders the autograded notebook, whose test cells hold the
hidden tests in full, and their tracebacks quote the hidden lines with the expected numbers
(nbgrader issue #917). `HideHiddenTests` runs inside `generate_feedback` (collect.py adds it
to the course's configuration): in every test cell with a hidden block it replaces the block
by one comment line and each error's traceback by ``ename: evalue``, the test's message.
`hidden_test_leaks` checks a written HTML file for any hidden line. A line the student wrote
in their own cells (`student_code`) is never a secret on their page, nor a leak.

What a student's code printed or displayed is data, never markup that runs or dresses up as
the page's own: `RedactSecrets` replaces any output that shows a hidden-test or solution line
(as written, reversed, rot13 or base64), `SanitizeOutputs` keeps only inert output types and
metadata, and the pages are rendered with nbconvert's ``sanitize_html`` through `clean_html`
(nh3, a maintained sanitiser: no script, class, id or style) for Markdown and HTML outputs.
`active_content` checks a written page for anything that could still run.
"""

import base64
import codecs
import html
import re
import shutil
from html.parser import HTMLParser
from functools import cache
from pathlib import Path

import nh3
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool, Dict, List, Unicode

BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"
PLACEHOLDER = "# (hidden tests: {count} lines not shown; their result is below)"

FEEDBACK_PREPROCESSORS = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback.AwaitingHandGrading",
    "autograder.feedback.RedactSecrets",  # before HideHiddenTests: it reads the hidden lines
    "autograder.feedback.HideHiddenTests",
    "autograder.feedback.SanitizeOutputs",
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


def hidden_test_leaks(feedback_html, source_nb, own_code=""):
    """Return the hidden-test lines of ``source_nb`` that show in a feedback HTML file.

    Lines are compared with whitespace removed, so syntax highlighting cannot hide a match;
    a hidden line that also shows in the notebook's public cells (an import, say) or in
    ``own_code``, what the student wrote (`student_code` of their submission), is no leak.
    """
    public = squash("\n".join(hide_hidden_block(cell.source) for cell in source_nb.cells))
    text = squash(html_text(feedback_html))
    return [
        line for cell in source_nb.cells if cell.cell_type == "code"
        for line in hidden_lines(cell.source)
        if squash(line) not in public and squash(line) not in own_code and squash(line) in text
    ]


# ----------------------------------------------------------- secrets in a student's outputs

REDACTED = "(output not shown: it holds a line of the hidden tests or the solutions)"


def squash(text):
    """``text`` without whitespace, so that spacing or line breaks cannot hide a match."""
    return re.sub(r"\s+", "", text)


def student_code(nb):
    """What the student wrote in notebook ``nb`` (their submission, or it autograded), as one
    `squash`ed string: every cell but those holding hidden tests. A line they wrote is never
    a leak on their own page, even when a hidden test holds the same line."""
    return squash("\n".join(cell.source for cell in nb.cells if BEGIN_HIDDEN not in cell.source))


def feedback_secrets(source_nb):
    """The lines that no output on a feedback page may show: the solutions' and hidden tests'
    secret lines (autograder.grading.secret_lines) and every hidden line the page check
    (`hidden_test_leaks`) looks for."""
    from autograder.grading import secret_lines

    public = squash("\n".join(hide_hidden_block(cell.source) for cell in source_nb.cells))
    hidden = {line for cell in source_nb.cells if cell.cell_type == "code"
              for line in hidden_lines(cell.source) if squash(line) not in public}
    return sorted(secret_lines(source_nb) | hidden)


def encoded_forms(line):
    """The forms of a secret ``line`` looked for, whitespace removed: as written, reversed,
    rot13, and base64 at each of the three byte alignments (only the characters that depend
    on the line alone, so that it is found inside a longer encoded text)."""
    plain = squash(line)
    forms = {plain, plain[::-1], codecs.encode(plain, "rot13")}
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + line.encode()).decode()
        forms.add(encoded[4 if offset else 0:-4])
    return {form for form in forms if form}


def as_text(value):
    """An output field as one string (nbformat allows a list of lines)."""
    if isinstance(value, list):
        return "".join(map(str, value))
    return value if isinstance(value, str) else str(value)


def output_text(output, traceback=True):
    """Everything a reader of an output sees as text: streams, error messages (with their
    ``traceback`` or not), text data (images excluded), HTML entities decoded."""
    parts = [output.get("text", ""), output.get("ename", ""), output.get("evalue", ""),
             *(output.get("traceback", []) if traceback else [])]
    parts += [value for mime, value in output.get("data", {}).items()
              if mime not in ("image/png", "image/jpeg", "image/gif")]
    text = "".join(map(as_text, parts))
    return text + html.unescape(text)


class RedactSecrets(Preprocessor):
    """Replace every output, in any cell, that shows a line of the hidden tests or solutions
    (written out, reversed, rot13 or base64) by a notice. A student's function can read the
    hidden test that calls it (its frame, ``In``) and print it; feedback must not carry it
    home, and the rest of the page still does. A line the student wrote themselves
    (`student_code`) is no secret on their page: its outputs and tracebacks are shown."""

    enabled = Bool(True, help="nbgrader registers preprocessors disabled unless they say so")
    secrets = Dict(value_trait=List(Unicode()), default_value={},
                   help="{assignment: feedback_secrets of its source notebook}; collect "
                        "writes it. Without it, the hidden lines of the notebook's own test "
                        "cells are used.").tag(config=True)

    def preprocess(self, nb, resources):
        assignment = resources.get("nbgrader", {}).get("assignment")
        from autograder.grading import secret_lines_in

        lines = self.secrets.get(assignment) or secret_lines_in(
            cell.source for cell in nb.cells if BEGIN_HIDDEN in cell.source)
        own = student_code(nb)
        self.forms = {form for line in lines if squash(line) not in own
                      for form in encoded_forms(line)}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        for position, output in enumerate(cell.get("outputs", [])):
            text = squash(output_text(output, traceback=False))
            # A hidden test's traceback quotes it by design; HideHiddenTests keeps its message.
            trace = "" if BEGIN_HIDDEN in cell.source else squash(
                "".join(map(as_text, output.get("traceback", []))))
            if any(form in text or form in trace for form in self.forms):
                cell.outputs[position] = NotebookNode(
                    output_type="stream", name="stdout", text=REDACTED + "\n")
        return cell, resources


# ---------------------------------------------------------------- outputs that cannot run

# Output types a feedback page shows. The others (JavaScript, widgets, SVG, PDF...) are left
# out, their plain text shown instead.
SHOWN_TYPES = ("text/plain", "text/html", "text/markdown", "text/latex", "image/png",
               "image/jpeg")
BASE64_DATA = re.compile(r"[A-Za-z0-9+/=\s]*\Z")
IMAGE_SOURCE = re.compile(r"data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*\Z")
SAFE_ID = re.compile(r"[A-Za-z0-9_.-]+\Z")  # nbgrader's grade ids, nbformat's cell ids
# No class, id or style: with them a student's output could pass for the page's own parts
# (a Bootstrap alert, the score panel).
HTML_ATTRIBUTES = {**nh3.ALLOWED_ATTRIBUTES, "*": {"title", "lang"}}
# The notebook's own metadata is the student's: the page gets the course's.
TRUSTED_METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python", "pygments_lexer": "ipython3"},
}


def clean_html(element):
    """nbconvert's ``clean_html`` filter, done by nh3: formatting, tables and inline images
    are kept; scripts, styles, classes, ids, event handlers, frames, forms and every URL but
    http(s)/mailto links and PNG/JPEG/GIF data images are removed."""
    text = element.decode() if isinstance(element, bytes) else str(element)
    return nh3.clean(text, attributes=HTML_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto", "data"},
                     attribute_filter=_inert_attribute)


def markdown_html(source):
    """nbconvert's ``markdown2html`` filter, then `clean_html` (nbgrader's feedback template
    renders Markdown cells without nbconvert's ``sanitize_html``). Headings get no anchor
    links, which would point at the ids `clean_html` removes; images are never read from
    disk."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    renderer = IPythonRenderer(escape=False, exclude_anchor_links=True)
    return clean_html(MarkdownWithMath(renderer=renderer).render(source))


def _inert_attribute(tag, attribute, value):
    """nh3's attribute filter: no image source but inline image data, no data: link."""
    if attribute == "src":
        return value if IMAGE_SOURCE.match(value) else None
    if value.strip().lower().startswith("data:"):
        return None
    return value


def inert_output(output):
    """A copy of one output that renders as data: streams and errors as text, display data
    in the `SHOWN_TYPES` only (HTML through `clean_html`, images only as base64), image
    sizes the only metadata."""
    kind = output.get("output_type")
    if kind == "stream":
        return NotebookNode(output_type="stream", text=as_text(output.get("text", "")),
                            name="stderr" if output.get("name") == "stderr" else "stdout")
    if kind == "error":
        return NotebookNode(output_type="error", ename=as_text(output.get("ename", "")),
                            evalue=as_text(output.get("evalue", "")),
                            traceback=[as_text(line) for line in output.get("traceback", [])])
    if kind not in ("display_data", "execute_result"):
        return NotebookNode(output_type="stream", name="stdout",
                            text=f"(an output of type {str(kind)[:40]!r} is not shown)\n")
    data, metadata = {}, {}
    for mime in SHOWN_TYPES:
        value = as_text(output.get("data", {}).get(mime, ""))
        if not value or (mime.startswith("image/") and not BASE64_DATA.match(value)):
            continue
        data[mime] = clean_html(value) if mime == "text/html" else value
        size = output.get("metadata", {}).get(mime, {})
        size = {k: v for k, v in size.items() if k in ("width", "height") and isinstance(v, int)}
        if mime.startswith("image/") and size:
            metadata[mime] = size
    left_out = sorted(set(output.get("data", {})) - set(data))
    if left_out and "text/plain" not in data:
        data["text/plain"] = f"(a {', '.join(m[:40] for m in left_out[:3])} output is not shown)"
    inert = NotebookNode(output_type=kind, data=data, metadata=metadata)
    if kind == "execute_result":
        count = output.get("execution_count")
        inert.execution_count = count if isinstance(count, int) else None
    return inert


class SanitizeOutputs(Preprocessor):
    """Make everything a student's notebook brings to the page inert before it is rendered:
    outputs (`inert_output`), cell metadata other than nbgrader's, attachments, ids and
    execution counts that are not plain, and the notebook's metadata. Markdown, HTML and code
    are then rendered through `clean_html` (``HTMLExporter.sanitize_html``, see
    `feedback_config`)."""

    enabled = Bool(True, help="nbgrader registers preprocessors disabled unless they say so")

    def preprocess(self, nb, resources):
        nb.metadata = NotebookNode(TRUSTED_METADATA)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        cell.pop("attachments", None)
        if "id" in cell and not SAFE_ID.match(str(cell.id)):
            cell.id = f"cell-{index}"
        grading = cell.get("metadata", {}).get("nbgrader")
        keep = isinstance(grading, dict) and SAFE_ID.match(str(grading.get("grade_id", "cell")))
        cell.metadata = NotebookNode({"nbgrader": grading} if keep else {})
        if cell.cell_type == "code":
            if not isinstance(cell.get("execution_count"), int):
                cell.execution_count = None
            cell.outputs = [inert_output(output) for output in cell.get("outputs", [])]
        return cell, resources


def feedback_config(secrets):
    """Lines of nbgrader configuration (Python) that make `generate_feedback` write pages
    without hidden test code, secrets or anything that runs, and copy no file of the
    autograded folder (files a kernel wrote) into feedback/. ``secrets``: {assignment:
    feedback_secrets(its source notebook)}."""
    return [
        "# Feedback: test results and messages; no hidden test code, no secret, no script.",
        f"c.GenerateFeedback.preprocessors = {FEEDBACK_PREPROCESSORS!r}",
        f"c.RedactSecrets.secrets = {dict(secrets)!r}",
        "c.HTMLExporter.sanitize_html = True",
        "c.GenerateFeedback.exporter_class = 'autograder.feedback.FeedbackExporter'",
        "c.HTMLExporter.filters = {'clean_html': 'autograder.feedback.clean_html',",
        "                          'markdown2html': 'autograder.feedback.markdown_html'}",
        "import sys as _sys",
        "if 'generate_feedback' in _sys.argv:  # only the notebooks; autograde needs its files",
        "    c.CourseDirectory.ignore = ['*', '.*']",
    ]


# nbgrader's summary links each test cell as "Test cell"; its grade id is safe (SAFE_ID).
TEST_CELL_LINK = re.compile(r'<a href="#([A-Za-z0-9_.-]+)">Test cell</a>')


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback page, whose summary names each test cell (nbgrader calls them all
    "Test cell", so a student cannot tell which of twenty lost points)."""

    def from_notebook_node(self, nb, resources=None, **kwargs):
        page, resources = super().from_notebook_node(nb, resources, **kwargs)
        return TEST_CELL_LINK.sub(r'<a href="#\1">Test cell <code>\1</code></a>', page), resources


# ------------------------------------------------------------------ the written page

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc",
                  "poster", "background", "srcset", "codebase", "cite", "longdesc", "ping"}
ACTIVE_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
               "form", "meta", "link", "portal"}


class _ActiveContent(HTMLParser):
    """Collects what could run in a page's body (the template's own <head>, MathJax's
    loader and configuration, is the course's)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.in_body = False
        self.found = []

    def handle_starttag(self, tag, attrs):
        if not self.in_body:
            self.in_body = tag == "body"
            return
        if tag in ACTIVE_TAGS:
            self.found.append(f"<{tag}> element")
        for name, value in attrs:
            url = re.sub(r"[\x00-\x20]+", "", value or "").lower()
            if name.startswith("on"):
                self.found.append(f"{name} attribute on <{tag}>")
            elif name in URL_ATTRIBUTES and url.startswith(("javascript:", "vbscript:", "data:")):
                if not (name == "src" and IMAGE_SOURCE.match(value.strip())):
                    self.found.append(f"{url.split(':')[0]}: URL in {name} of <{tag}>")
            elif name == "style" and ("expression(" in url or "javascript:" in url):
                self.found.append(f"script in the style of <{tag}>")

    handle_startendtag = handle_starttag


def active_content(page):
    """Return what could run when a written feedback page is opened (empty: nothing):
    scripts, frames, forms, event handlers, javascript:/data: URLs outside the template's
    own <head>."""
    parser = _ActiveContent()
    parser.feed(Path(page).read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser.found if parser.in_body else ["no <body> (not a feedback page)"]


class AwaitingHandGrading(Preprocessor):
    """Written answers not yet graded by a person say so, instead of showing 0 points.

    nbgrader's page would show "0.0 / 2.0" for them and count their points in the total. Here
    each such answer loses its score line and gets a note, and the page's total counts the
    autograded points only, with a note saying how many points await hand grading.
    """

    enabled = Bool(True, help="nbgrader registers preprocessors disabled unless they say so")

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            submission = gradebook.find_submission_notebook(
                info["notebook"], info["assignment"], info["student"])
            waiting = {g.name: g.max_score for g in submission.grades if g.needs_manual_grade}
        if not waiting:
            return nb, resources
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade_id") in waiting and meta.get("grade"):
                meta["grade"] = False  # no "Score: 0.0 / N" line for it
                if cell.cell_type == "markdown":
                    cell.source += (f"\n\n*Awaiting hand grading "
                                    f"({waiting[meta['grade_id']]:g} points).*")
        pending = sum(waiting.values())
        resources["nbgrader"]["max_score"] = resources["nbgrader"]["max_score"] - pending
        note = NotebookNode(cell_type="markdown", metadata={}, source=(
            f"**{pending:g} points of written answers await hand grading.** The score above "
            "counts the autograded tests only; your instructor will add the rest."))
        nb.cells.insert(0, note)
        return nb, resources


def enable_feedback_without_hidden_tests(course):
    """Make the course's `generate_feedback` write pages that show no hidden test code, no
    secret line and nothing that runs, and copy no file a kernel wrote
    (autograder/feedback.py, `feedback_config`)."""
    config = course.root / "nbgrader_config.py"
    lines = feedback_config(course_secrets())
    config.write_text(config.read_text() + "\n" + "\n".join(lines) + "\n")


@cache
def course_secrets():
    """{assignment: the lines its feedback never shows} for every course assignment."""
    from autograder.grading import load_course, read_notebook

    return {a.name: feedback_secrets(read_notebook(a.source_notebook)) for a in load_course()
            if a.source_notebook.is_file()}


# ------------------------------------------------------------------ the pages written

def check_feedback(course, assignment, students, problems):
    """Keep in each student's feedback/<student>/<assignment>/ only the assignment's page,
    and only when it shows no hidden test code that the student did not write themselves and
    holds nothing that runs (there should be none: autograder/feedback.py); delete anything
    else and say why in ``problems``.

    Returns the students whose page is kept."""
    from autograder.grading import read_notebook

    source = read_notebook(assignment.source_notebook)
    page_name = Path(assignment.notebook).with_suffix(".html").name
    kept = []
    for student in students:
        folder = course.root / "feedback" / student / assignment.name
        if folder.is_symlink() or not folder.is_dir():
            continue
        own = submitted_code(course, assignment, student)
        for entry in sorted(folder.iterdir()):
            if entry.name != page_name or entry.is_symlink() or not entry.is_file():
                why = "not the assignment's page (a file the notebook wrote?)"
            elif leaks := hidden_test_leaks(entry, source, own):
                why = f"it shows hidden test code ({leaks[0][:60]!r})"
            elif active := active_content(entry):
                why = f"it holds something that would run in a browser ({active[0]})"
            else:
                kept.append(student)
                continue
            remove(entry)
            problems.append(f"{assignment.name}: {student}'s feedback "
                            f"{entry.relative_to(course.root)} deleted: {why}")
    return kept


def submitted_code(course, assignment, student):
    """What ``student`` wrote in the notebook collect submitted for them (`student_code`);
    empty when it is no readable notebook."""
    from autograder.grading import NotebookError, read_notebook

    path = course.root / "submitted" / student / assignment.name / assignment.notebook
    try:
        return student_code(read_notebook(path))
    except NotebookError:
        return ""


def remove(path):
    """Delete a file, link or folder without following any link."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
