"""The class report: a page that opens offline with its plots inside, and tables that say
what the gradebook, the autograded notebooks, the deadlines and the grading log say."""

import base64
import dataclasses
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from autograder.grading import get_assignment
from autograder.term import deadlines, regrades, report

from .conftest import ASSIGNMENT, Work
from .test_similarity import ONE_HOT, SOFTMAX

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DUE = datetime(2026, 10, 5, 23, 59, tzinfo=timezone(timedelta(hours=2)))
WRONG_AXIS = "AssertionError: softmax(z)[:, {}] does not sum to 1 (sums to {})"


class Page(HTMLParser):
    """What a browser would fetch or run: every URL attribute and every tag, and the text."""

    def __init__(self, html):
        super().__init__()
        self.urls, self.tags, self.text = [], set(), []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.urls += [value for name, value in attrs if name in ("src", "href", "srcset", "data")]

    def handle_data(self, data):
        self.text.append(data)


def class_folder(grading_folder):
    """Six students of 00_setup: softmax wrong in two ways, one late, one copied, one
    missing, one untouched; graded once, then two regraded after a fix."""
    works = [
        Work("ann", answers={"softmax": SOFTMAX["usual"], "one_hot": ONE_HOT["indexing"]}),
        Work("ben", answers={"softmax": SOFTMAX["terse"], "one_hot": ONE_HOT["indexing-disguised"]},
             scores={"test_softmax": 0, "test_softmax_hidden": 0},
             messages={"test_softmax": WRONG_AXIS.format(0, 1.5),
                       "test_softmax_hidden": WRONG_AXIS.format(2, 0.25)}),
        Work("cat", answers={"softmax": SOFTMAX["attributes"], "one_hot": ONE_HOT["loop"]},
             scores={"test_softmax": 0}, messages={"test_softmax": WRONG_AXIS.format(1, 3)},
             seen="2026-10-07 09:00:00"),
        Work("dan", answers={"softmax": SOFTMAX["scipy"], "one_hot": ONE_HOT["eye"]},
             scores={"test_one_hot_hidden": 0},
             messages={"test_one_hot_hidden": "ValueError: shapes (4,3) and (3,) not aligned"}),
        Work("eve", scores={name: 0 for name in ("test_softmax", "test_softmax_hidden",
                                                 "test_one_hot", "test_one_hot_hidden")},
             messages={name: "NotImplementedError: " for name in ("test_softmax",
                       "test_softmax_hidden", "test_one_hot", "test_one_hot_hidden")}),
    ]
    folder = grading_folder(works, ["ann", "ben", "cat", "dan", "eve", "fay"])
    assignment = dataclasses.replace(get_assignment(ASSIGNMENT), due=DUE)
    deadlines.apply_deadlines(folder, [assignment])
    regrades.record_grading(folder, assignment, {w.student: 2.0 + i for i, w in enumerate(works)})
    return folder


@pytest.fixture
def written(grading_folder):
    folder = class_folder(grading_folder)
    page = report.write_report(folder)
    return folder, page, Page(page.read_text())


def test_the_page_opens_offline_with_its_plots_inside(written):
    folder, page, parsed = written
    assert not parsed.tags & {"script", "link", "iframe", "object", "embed"}, parsed.tags
    pictures = [url for url in parsed.urls if url.startswith("data:")]
    assert all(url.startswith("data:image/png;base64,") for url in pictures)
    assert all(base64.b64decode(url.split(",", 1)[1]).startswith(PNG_SIGNATURE) for url in pictures)
    assert [url for url in parsed.urls if not url.startswith(("data:", "#"))] == [], \
        "the page must load nothing from outside itself"
    files = sorted(p.name for p in (folder.root / "report").glob("*.png"))
    assert files == [f"failures-{ASSIGNMENT}.png", "grading-time.png", f"scores-{ASSIGNMENT}.png"]
    assert len(pictures) == len(files), "each plot is embedded and written as a file"


def test_the_tables_say_what_the_class_did(written):
    _, _, parsed = written
    text = " ".join(" ".join(parsed.text).split())
    assert "test_softmax 1 3 of 5 60%" in text, "ben, cat and eve lost test_softmax"
    assert "test_one_hot 1 1 of 5 20%" in text
    # the two wrong-axis messages of test_softmax differ only in numbers: one group
    assert "2 test_softmax AssertionError: softmax(z)[:, 0] does not sum to 1 (sums to 1.5) ben, cat" in text
    assert "1 test_one_hot_hidden ValueError: shapes (4,3) and (3,) not aligned dan" in text
    assert "Missing (on the roster, no submission): fay" in text
    assert f"{ASSIGNMENT}: cat seen 2026-10-07 09:00 UTC, due 2026-10-05 21:59 UTC" in text
    assert f"{ASSIGNMENT}: ann and ben: " in text, "the disguised copy of one_hot"
    assert "No stale result, no regrade." in text
    assert f"{ASSIGNMENT} eve 6.0" in text, "grading seconds per student"


def test_regrades_show_the_score_before_beside_the_score_now(grading_folder):
    folder = class_folder(grading_folder)
    with folder.gradebook() as gradebook:  # a corrected hidden test passes dan's work
        gradebook.find_grade("test_one_hot_hidden", "setup", ASSIGNMENT, "dan").auto_score = 1
        gradebook.db.commit()
    regrades.record_grading(folder, get_assignment(ASSIGNMENT), {"dan": 3.0})
    text = " ".join(" ".join(Page(report.write_report(folder).read_text()).text).split())
    assert f"{ASSIGNMENT} dan 4 5 / 5" in text


def test_command_line_writes_the_page(grading_folder, capsys):
    folder = class_folder(grading_folder)
    assert report.main([str(folder.root)]) == 0
    assert capsys.readouterr().out.strip() == str(folder.root / "report.html")
