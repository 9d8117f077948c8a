"""Who can use the page: the token gate of a real server, started as a facilitator starts it.

The server is ``phc-synergy viz --token T --scenarios DIR`` on loopback: ``--token``
turns the gate on there too (off loopback it is on by default, with a generated
token), so the test needs no network address. Checked: what it prints, that it says
when it is ready, 403 without the token (page, files, websocket), 200 with it and
with the cookie it sets, and the page rendering in Debian's chromium from the
printed address.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from viz.solara_server import COOKIE_PREFIX

pytestmark = pytest.mark.e2e

TOKEN = "workshop-token-for-tests_42"
READY_SECONDS = 120


@dataclass
class GatedServer:
    base: str  # http://127.0.0.1:PORT
    port: int
    out: Path
    err: Path
    ready_after: float  # seconds from the command's start to its "ready" line

    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gated(tmp_path_factory) -> Iterator[GatedServer]:
    from model.scenarios import shipped_paths

    folder = tmp_path_factory.mktemp("gated-scenarios")
    (folder / "room.toml").write_bytes(shipped_paths()["chrp"].read_bytes())
    logs = tmp_path_factory.mktemp("gated-server")
    out, err = logs / "stdout.txt", logs / "stderr.txt"
    port = _free_port()
    started = time.monotonic()
    with open(out, "wb") as out_file, open(err, "wb") as err_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "model.cli", "viz", "--port", str(port), "--token", TOKEN, "--scenarios", str(folder)],
            cwd=tmp_path_factory.mktemp("gated-cwd"),
            stdout=out_file,
            stderr=err_file,
        )
    try:
        while "The workshop page is ready at" not in err.read_text(errors="replace"):
            if process.poll() is not None:
                pytest.fail(f"phc-synergy viz exited with {process.returncode}:\n{err.read_text()[-3000:]}")
            if time.monotonic() - started > READY_SECONDS:
                pytest.fail(f"phc-synergy viz did not say it was ready in {READY_SECONDS} s:\n{err.read_text()[-3000:]}")
            time.sleep(0.2)
        ready_after = time.monotonic() - started
        print(f"\nphc-synergy viz said it was ready after {ready_after:.1f} s")
        yield GatedServer(f"http://127.0.0.1:{port}", port, out, err, ready_after)
    finally:
        process.terminate()  # the command forwards SIGTERM to the server
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_it_prints_the_address_with_the_token_and_says_when_it_is_ready(gated: GatedServer) -> None:
    url = f"{gated.base}/?token={TOKEN}"
    assert f"    {url}\n" in gated.stdout()
    assert "Scenario files listed on the page" in gated.stdout()
    assert f"The workshop page is ready at {url}" in gated.stderr()
    assert "Warning" not in gated.stderr()  # loopback: nobody else can reach it


def test_without_the_token_every_request_is_refused(gated: GatedServer) -> None:
    for path in ("/", "/readyz", "/?token=wrong", "/static/main-vuetify.js", "/_solara/cdn/x", "/jupyter/api/kernels/x"):
        status, _, body = get(gated.base + path)
        assert status == 403, path
        assert "needs its token" in body
    assert get(gated.base + "/", cookie=f"{COOKIE_PREFIX}{gated.port}=wrong")[0] == 403
    assert get(gated.base + "/", cookie=f"{COOKIE_PREFIX}1={TOKEN}")[0] == 403  # another server's cookie
    assert websocket_status(gated.port, "/jupyter/api/kernels/k1/channels?session_id=s1") == 403


def test_the_token_opens_the_page_and_its_cookie_the_rest(gated: GatedServer) -> None:
    status, headers, body = get(f"{gated.base}/?token={TOKEN}")
    assert status == 200 and "<html" in body.lower()
    cookies = [c for c in headers.get("set-cookie", []) if c.startswith(COOKIE_PREFIX)]
    assert cookies == [f"{COOKIE_PREFIX}{gated.port}={TOKEN}; Path=/; HttpOnly; SameSite=Lax"]
    cookie = f"{COOKIE_PREFIX}{gated.port}={TOKEN}"
    assert get(gated.base + "/readyz", cookie=cookie)[0] == 200
    assert get(gated.base + "/", cookie=cookie)[0] == 200
    assert websocket_status(gated.port, "/jupyter/api/kernels/k1/channels?session_id=s1", cookie=cookie) != 403


def test_a_loopback_server_refuses_requests_for_another_host_name(gated: GatedServer) -> None:
    """DNS rebinding: a web page that points its own name at 127.0.0.1 sends that name as Host; refused, token or not."""
    cookie = f"{COOKIE_PREFIX}{gated.port}={TOKEN}"
    for host in ("evil.example", f"evil.example:{gated.port}", "127.0.0.1.evil.example"):
        status, _, body = get(f"{gated.base}/?token={TOKEN}", cookie=cookie, host=host)
        assert status == 403 and "answers only to localhost" in body, host
    for host in (f"localhost:{gated.port}", f"127.0.0.1:{gated.port}", f"127.0.0.2:{gated.port}"):
        assert get(f"{gated.base}/?token={TOKEN}", host=host)[0] == 200, host


def test_no_samesite_warning_at_start_or_page_load(gated: GatedServer) -> None:
    get(f"{gated.base}/?token={TOKEN}")  # what made Solara warn (plain http, not 'localhost')
    time.sleep(0.5)
    err = gated.stderr()
    assert "samesite" not in err.lower() and "UserWarning" not in err, err[-2000:]
    assert "Traceback" not in err


def test_the_page_renders_from_the_printed_address(gated: GatedServer, chromium, screenshots) -> None:
    printed = re.search(r"http://\S+\?token=\S+", gated.stdout()).group(0)
    context = chromium.new_context(viewport={"width": 1500, "height": 1900})
    page = context.new_page()
    bad: list[tuple[int, str]] = []
    page.on("response", lambda r: bad.append((r.status, r.url)) if r.status >= 400 else None)
    page.goto(printed, wait_until="commit")
    page.get_by_role("button", name="Step", exact=True).wait_for(timeout=60_000)
    page.get_by_role("button", name="Step", exact=True).click()  # the websocket works: the model answers
    page.get_by_text("Month 1 of 60").wait_for()
    page.locator(".v-select", has_text="This workshop's scenario files").locator(".v-input__slot").click()
    page.get_by_role("option", name="room.toml").click()
    page.get_by_text("Loaded 'chrp'").wait_for()
    page.screenshot(path=str(screenshots / "viz-09-token.png"), full_page=True)
    assert bad == [], bad[:5]  # every file and the websocket passed the gate with the cookie
    context.close()

    stranger = chromium.new_context()
    page = stranger.new_page()
    response = page.goto(gated.base + "/")
    assert response.status == 403 and "needs its token" in page.content()
    stranger.close()
def get(url: str, cookie: str | None = None, host: str | None = None) -> tuple[int, dict[str, list[str]], str]:
    """(status, headers, body) of a GET, without a proxy, 4xx included; ``host`` overrides the Host header."""
    headers = {**({"Cookie": cookie} if cookie else {}), **({"Host": host} if host else {})}
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as r:
            headers: dict[str, list[str]] = {}
            for key, value in r.headers.items():
                headers.setdefault(key.lower(), []).append(value)
            return r.status, headers, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, {}, exc.read().decode("utf-8", "replace")


def websocket_status(port: int, path: str, cookie: str | None = None) -> int:
    """The HTTP status a websocket handshake gets (101 = accepted)."""
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *([f"Cookie: {cookie}"] if cookie else []),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = s.recv(4096).decode("latin-1")
    return int(head.split()[1])
