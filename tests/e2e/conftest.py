"""A real workshop server (``solara run viz/app.py``, offline settings) and Debian's chromium driven by Playwright.

Each pytest-xdist worker that runs these tests starts its own server on a free
port. The browser is never Playwright's own download: Debian's ``chromium``
(installed by ``make browser`` when make runs as root, as in CI). Without it the
tests are skipped with a message saying how to install it.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from viz import serve

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# STACK.md: the launch arguments that work here; the resolver maps every host but loopback to nothing,
# so a page that tried to reach the internet would fail visibly.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    # many tabs at once (the load test): background tabs keep their timers and renderers at full speed
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
SERVER_START_SECONDS = 90


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "e2e: real-browser tests of the workshop page (Debian chromium + Playwright)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running workshop server: its URL, process and log."""

    url: str
    process: subprocess.Popen
    log: Path
    bad_responses: list[tuple[int, str]] = field(default_factory=list)
    room_scenario: str = "room_case.toml"  # the one file listed from its scenario folder (--scenarios)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def check_clean(self) -> None:
        """No HTTP error seen by the browser, no asset that the server failed to load."""
        assert not self.bad_responses, f"HTTP errors: {self.bad_responses[:5]}"
        text = self.log_text()
        assert "Could not load URL" not in text, text[-3000:]
        assert "Traceback" not in text, text[-3000:]

    def watch(self, page) -> None:
        """Record every response of ``page`` with a status >= 400 (requestfailed does not fire for 404s)."""
        page.on("response", lambda r: self.bad_responses.append((r.status, r.url)) if r.status >= 400 else None)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (sudo apt-get install chromium; `make test` does it as root)")
    pytest.importorskip("playwright")
    port = _free_port()
    log = tmp_path_factory.mktemp("viz-server") / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            serve.command("127.0.0.1", port),
            cwd=tmp_path_factory.mktemp("viz-cwd"),
            env=serve.server_env(scenarios=scenario_folder(tmp_path_factory.mktemp("viz-scenarios"))),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    wait_for_server(process, url + "/readyz", log)
    yield Server(url, process, log)
    stop(process)


def scenario_folder(folder: Path) -> Path:
    """A facilitator's scenario folder: one scenario (chrp's settings, named 'room case'), and a link out of it."""
    from model.scenarios import shipped_paths

    text = shipped_paths()["chrp"].read_text().replace('name = "chrp"', 'name = "room case"', 1)
    (folder / Server.room_scenario).write_text(text)
    (folder / "outside.toml").symlink_to(shipped_paths()["pccp"])  # not listed: it leads out of the folder
    return folder


def wait_for_server(process: subprocess.Popen, ready_url: str, log: Path) -> None:
    """Poll ``ready_url`` until it answers 200; fail with the server's log if it exits or takes too long."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"the workshop server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with opener.open(ready_url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the workshop server did not answer {ready_url} in {SERVER_START_SECONDS} s")
        time.sleep(0.3)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium under Playwright (skipped, with how to install it, when missing)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (sudo apt-get install chromium; `make test` does it as root)")
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def browser(server, chromium):
    return chromium


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def open_page(browser, server: Server):
    """``open_page(wait=True, context=None)`` -> (context, page): the workshop page in a new tab.

    Each tab is its own session on the server (its own kernel, its own model), whether it
    shares a browser context with others (as tabs of one browser do) or not.
    """
    contexts = []

    def _open(wait: bool = True, width: int = 1500, height: int = 1900, context=None):
        if context is None:
            context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
            contexts.append(context)
        page = context.new_page()
        server.watch(page)
        page.goto(server.url + "/", wait_until="commit")
        if wait:
            page.get_by_role("button", name="Step", exact=True).wait_for(timeout=60_000)
        return context, page

    yield _open
    for context in contexts:
        with contextlib.suppress(Exception):  # already closed by the test
            context.close()
