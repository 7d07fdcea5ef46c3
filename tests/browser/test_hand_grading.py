"""Hand grading in the Formgrader of a collected class: a grader gives points and a comment
to a written answer of 06_tf_char_rnn, stops the command with Ctrl-C, and finds the points
in grades.csv and on the student's feedback page."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

import pytest

from autograder.feedback import html_text
from term.conftest import Work, make_grading_folder
from term.test_handgrading import ANSWER, HAND, QUESTION

from .labpage import TOKEN, free_port, screenshot, user_env

pytestmark = pytest.mark.slow  # generates 06 and starts JupyterLab (about half a minute)

COMMENT = "Good; now say why fewer weights can help on a small corpus."


@contextmanager
def handgrading(folder, roster, home):
    """Run the hand-grading command as an instructor would; yield (URL, the process)."""
    env = user_env(home)
    (home / "config").mkdir(parents=True)
    (home / "config" / "jupyter_server_config.json").write_text(json.dumps({  # this test's server
        "ServerApp": {"ip": "127.0.0.1", "allow_root": True}, "IdentityProvider": {"token": TOKEN}}))
    if not shutil.which("bwrap"):
        pytest.skip("feedback pages are made in the bubblewrap sandbox")
    port, log = free_port(), open(home / "handgrading.log", "w")
    command = [sys.executable, "-m", "autograder.term.handgrading", str(folder.root),
               "--roster", str(roster), "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=5)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the Formgrader did not start:\n" + (home / "handgrading.log").read_text()[-3000:])
                time.sleep(0.5)
        yield url, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def offline_mathjax(error):
    """nbgrader's grading page loads MathJax from a CDN, which this offline test cannot reach."""
    return "ERR_NAME_NOT_RESOLVED" in error or "MathJax is not defined" in error


def manual_grading(folder, student):
    """(points, comment) the gradebook holds for the student's answer."""
    with folder.gradebook() as gradebook:
        return (gradebook.find_grade(QUESTION, "tf_char_rnn", HAND, student).manual_score,
                gradebook.find_comment(QUESTION, "tf_char_rnn", HAND, student).manual_comment)


def test_points_given_in_the_formgrader_reach_grades_csv_and_feedback(page, tmp_path):
    folder = make_grading_folder(tmp_path / "grading", [Work("ann", answers={QUESTION: ANSWER})],
                                 ["ann"], HAND, generated=True)
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,github_username\nann,ann\n")
    with folder.gradebook() as gradebook:
        notebook_id = gradebook.find_submission_notebook("tf_char_rnn", HAND, "ann").id
    with handgrading(folder, roster, tmp_path / "home") as (url, process):
        page.goto(f"{url}/login?next=/formgrader/submissions/{notebook_id}/")
        page.locator("#password_input").fill(TOKEN)  # the token the server printed
        page.locator("#password_input").press("Enter")
        # the page's scripts mark an answer that awaits grading once its grade has loaded
        page.locator(f"input.score.needs_manual_grade#{QUESTION}").wait_for(timeout=60_000)
        score = page.locator(f"input.score#{QUESTION}")
        score.fill("1.5")
        page.locator(f"textarea#{QUESTION}-comment").fill(COMMENT)
        page.keyboard.press("Tab")  # leaving the field saves it
        score.scroll_into_view_if_needed()
        deadline = time.monotonic() + 30
        while manual_grading(folder, "ann") != (1.5, COMMENT):
            assert time.monotonic() < deadline, "the Formgrader did not save the score and comment"
            time.sleep(0.5)
        screenshot(page, "formgrader-hand-grading")
        assert [e for e in page.console_errors if not offline_mathjax(e)] == []
        page.goto(f"{url}/formgrader")
        page.locator("td.name", has_text=HAND).wait_for(timeout=30_000)
        assert page.locator("#warning-exchange").count() == 0, "no exchange warning: unused"
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the instructor's terminal
        assert process.wait(timeout=300) == 0, (tmp_path / "home" / "handgrading.log").read_text()[-3000:]
    log = (tmp_path / "home" / "handgrading.log").read_text()
    with open(folder.grades_csv, newline="") as f:
        ann = next(row for row in csv.DictReader(f) if row["student_id"] == "ann")
    autograded = sum(g.auto_score or 0 for g in _grades(folder, "ann"))
    assert float(ann["raw_score"]) == pytest.approx(autograded + 1.5), log[-3000:]
    page_text = html_text(folder.root / "feedback" / "ann" / HAND / "tf_char_rnn.html")
    assert COMMENT in page_text and "Written response (Score: 1.5 / 2.0)" in page_text
    assert "2 points of written answers await hand grading" in page_text, "the other question"
    assert f"class report: {folder.root / 'report.html'}" in log
    assert "exchange" not in log.lower(), log


def _grades(folder, student):
    with folder.gradebook() as gradebook:
        return [g for g in gradebook.find_submission_notebook("tf_char_rnn", HAND, student).grades
                if g.cell.cell_type == "code"]
