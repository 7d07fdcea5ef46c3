"""Starting JupyterLab for a browser test, and what a person does in it."""

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless without a GPU, and nothing that reaches the network.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
TOKEN = "browser-test-token"
SERVER_START_S = 120


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_options(port):
    """JupyterLab's options for a test: 127.0.0.1 only, a token, no browser of its own."""
    return ["--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            f"--IdentityProvider.token={TOKEN}"]


def user_env(home, path=None):
    """os.environ for a new user: empty Jupyter folders under ``home``, with JupyterLab's
    one question on a first start (fetch the Jupyter news?) answered no, so that its pop-up
    covers nothing in the screenshots."""
    settings = home / "settings"
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    if path is not None:
        env["PATH"] = path
    env.pop("JUPYTER_CONFIG_PATH", None)
    return env


@contextmanager
def running_lab(command, cwd, env, port, log):
    """Run ``command`` (a JupyterLab on ``port``) in ``cwd``; yield its URL once it answers.

    Its output goes to the file ``log``; it is stopped (with its children) on exit.
    """
    url = f"http://127.0.0.1:{port}"
    with open(log, "w") as out:
        server = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start ({' '.join(map(str, command))}):\n"
                                + Path(log).read_text()[-3000:])
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def screenshot(page, name):
    """Save what the tab shows as screenshots/<name>.png."""
    page.screenshot(path=SCREENSHOTS / f"{name.replace('/', '_')}.png")


def lab_url(url, view=""):
    """JupyterLab's address in a workspace of its own: JupyterLab keeps a workspace's open tabs
    on the server, and a tab the last test left open would hide the one opened now."""
    return f"{url}/lab/workspaces/{uuid.uuid4().hex}/{view}?reset&token={TOKEN}"


def open_notebook(page, url, path):
    """Open the notebook ``path`` (relative to the server's root) and wait until its kernel
    has started on the server and the page shows it idle (a Run All sent sooner is lost)."""
    page.goto(lab_url(url, f"tree/{path}"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    deadline = time.monotonic() + 60
    while not any(session["path"] == path and session["kernel"]["execution_state"] == "idle"
                  for session in page.request.get(f"{url}/api/sessions?token={TOKEN}").json()):
        if time.monotonic() > deadline:
            pytest.fail(f"the kernel of {path} did not start within a minute")
        time.sleep(0.5)
    page.locator(".jp-StatusBar-TextItem", has_text="| Idle").wait_for(timeout=60_000)


def menu(page, *labels):
    """Click through the menu bar: menu(page, "Run", "Run All Cells")."""
    page.locator(".lm-MenuBar-itemLabel", has_text=labels[0]).click()
    for label in labels[1:]:
        page.locator(".lm-Menu-itemLabel").get_by_text(label, exact=True).click()


def validate(page, timeout_s=180):
    """Press the notebook's Validate button; return the results dialog once it shows."""
    page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    dialog.wait_for(timeout=timeout_s * 1000)
    return dialog


def scroll_to(locator):
    """Scroll the notebook to the element (cells off screen are hidden, and Playwright's own
    scrolling waits for them to be visible first)."""
    locator.evaluate("element => element.scrollIntoView({block: 'center'})")
    locator.wait_for(state="visible")
