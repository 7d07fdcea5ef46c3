"""The class report in a real browser, offline: every plot shows, nothing is fetched from
outside the file, nothing fails in the console."""

from autograder.term import report
from term.conftest import make_grading_folder
from term.test_report import class_folder

from .labpage import SCREENSHOTS


def test_the_class_report_shows_its_plots_offline(page, tmp_path):
    folder = class_folder(lambda works, roster: make_grading_folder(tmp_path / "grading", works, roster))
    html = report.write_report(folder)
    fetched = []
    page.route("**/*", lambda route: (fetched.append(route.request.url), route.abort())
               if not route.request.url.startswith(("file:", "data:")) else route.continue_())
    page.goto(html.as_uri())
    images = page.locator("img")
    assert images.count() == 3
    for index in range(images.count()):
        image = images.nth(index)
        width = image.evaluate("img => img.complete ? img.naturalWidth : 0")
        assert width > 100, f"plot {image.get_attribute('alt')!r} did not draw"
    assert page.get_by_text("ann and ben:").is_visible()
    assert fetched == [] and page.console_errors == []
    page.set_viewport_size({"width": 1300, "height": 900})
    page.screenshot(path=SCREENSHOTS / "class-report.png", full_page=True)
