"""JupyterLab in a real browser: Debian's Chromium driven by Playwright.

Each module starts its own JupyterLab on 127.0.0.1 with a token and fresh Jupyter user
folders (a new student's or instructor's machine). Tests save screenshots of what a person
would have seen in tests/browser/screenshots/ (printed at the end of the run), and one of
the page as it was when a test failed.
"""

import os
import shutil

import pytest

from .labpage import CHROMIUM, CHROMIUM_FLAGS, SCREENSHOTS, screenshot

browser_used = []  # the browser started in this run: its screenshots are worth a look


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # this run's pictures only
    SCREENSHOTS.mkdir()
    browser_used.append(True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.failed_call = report.failed
    return report


@pytest.fixture
def page(browser, request):
    """A new browser tab; ``page.console_errors`` collects the errors the page logs."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    if getattr(request.node, "failed_call", False):
        screenshot(page, f"{request.node.name}-failed")
    page.close()


def pytest_terminal_summary(terminalreporter):
    if browser_used:
        terminalreporter.write_line(f"browser screenshots: {SCREENSHOTS}")
