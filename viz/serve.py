"""Serve the workshop page with nothing leaving the machine, and only to those it is meant for.

    python -m viz.serve [--host 127.0.0.1] [--port 8765] [--scenarios DIR] [--token T | --no-token]
    phc-synergy viz [--host H] [--port P] [--scenarios DIR] [--token T | --no-token]   (calls :func:`serve`)

Offline: Solara's server would otherwise fetch its front-end files from a public
CDN (server-side), check PyPI for a newer version and send telemetry (STACK.md).
Here the front-end files come from the ``solara-assets`` package, the CDN is
pointed at a dead loopback port (a missing file then fails on this machine,
visibly, instead of reaching out), telemetry is off and the version check is
skipped, so the page renders in a room with no internet.

Access: on a loopback address (127.0.0.0/8, ::1, localhost) only this computer
can reach the page, and no token is needed unless ``--token`` is given. On any
other address the page is reachable from the network: the server prints every
address it can be reached at, warns so, and requires a token (generated unless
``--token`` chooses one; ``--no-token`` opts out explicitly), which it prints in
the addresses, as Jupyter does. ``viz/solara_server.py`` enforces it.

Files: the page takes a visitor's file by upload only (capped, ``viz/files.py``);
``--scenarios DIR`` names the one folder whose ``*.toml`` files the page lists.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from viz.files import SCENARIOS_DIR_ENV, FileRefused, check_folder
from viz.solara_server import TOKEN_ENV, TOKEN_PARAMETER

APP = Path(__file__).with_name("app.py")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEAD_CDN = "http://127.0.0.1:9/"  # port 9 (discard): nothing listens; a missing asset fails at once, locally
TOKEN_BYTES = 24  # secrets.token_urlsafe(24): 32 characters, 192 bits
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._~-]+")  # what goes in a URL and a cookie as it is
READY_POLL_SECONDS = 0.25

# Environment of the server: no telemetry, no CDN, no version check, matplotlib without a display.
OFFLINE_ENV: dict[str, str] = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_ASSETS_CDN": DEAD_CDN,
    "SOLARA_CHECK_VERSION": "False",
    "MPLBACKEND": "Agg",
    "NO_PROXY": "127.0.0.1,localhost",
}


class ServeError(ValueError):
    """A bad option of the server (reported as one line, exit status 2)."""


def offline_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default: this process's environment) with the offline settings."""
    env = dict(os.environ if base is None else base)
    env.update(OFFLINE_ENV)
    env.pop(TOKEN_ENV, None)  # a token is given to a server only on purpose (server_env)
    env.pop(SCENARIOS_DIR_ENV, None)
    root = str(Path(__file__).resolve().parent.parent)  # the project, importable by the app
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def server_env(
    token: str | None = None, scenarios: Path | None = None, base: dict[str, str] | None = None
) -> dict[str, str]:
    """The offline environment plus the token (None: no gate) and the scenario folder (None: none)."""
    env = offline_env(base)
    if token:
        env[TOKEN_ENV] = token
    if scenarios is not None:
        env[SCENARIOS_DIR_ENV] = str(scenarios)
    return env


def command(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, python: str | None = None) -> list[str]:
    """The command line that serves the page: ``solara run`` through viz/solara_server.py (the token gate)."""
    return [
        python or sys.executable, "-m", "viz.solara_server", "run", str(APP),
        "--host", host, "--port", str(int(port)),
        "--production", "--no-check-version", "--no-open",
    ]  # fmt: skip


def check_assets() -> str | None:
    """None when the offline front-end files are installed; otherwise what is missing, in words."""
    try:
        import solara_assets  # noqa: F401
    except ImportError:
        return "the package 'solara-assets' is not installed (pip install -e '.[viz]'): the page cannot load offline"
    return None


# ---------------------------------------------------------------------------- who can reach it
def is_loopback(host: str) -> bool:
    """True for an address only this computer can reach: 127.0.0.0/8, ::1, localhost."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name: it may be reachable from the network, so it is treated as such


def choose_token(host: str, token: str | None = None, no_token: bool = False) -> str | None:
    """The token the server requires (None: none): ``--token``, else generated off loopback unless ``--no-token``."""
    if token is not None and no_token:
        raise ServeError("--token and --no-token cannot be given together: choose one")
    if token is not None:
        if not TOKEN_PATTERN.fullmatch(token):
            raise ServeError(
                "--token is not allowed: one or more letters, digits or the characters . _ ~ - (no spaces)"
            )
        return token
    if no_token or is_loopback(host):
        return None
    return secrets.token_urlsafe(TOKEN_BYTES)


def _url(host: str, port: int, token: str | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?{TOKEN_PARAMETER}={token}" if token else "")


def machine_addresses(ipv6: bool = False) -> list[str]:
    """This computer's name and the addresses of its network interfaces (IPv4; IPv6 too when asked), loopback
    last. psutil (installed with Dask) lists the interfaces; without it, what the name resolves to."""
    found: list[str] = []
    families = {socket.AF_INET} | ({socket.AF_INET6} if ipv6 else set())
    try:
        import psutil

        interfaces = list(psutil.net_if_addrs().values())
    except Exception:  # noqa: BLE001  psutil missing or refused by the system: the resolver below still answers
        interfaces = []
    for entries in interfaces:
        for entry in entries:
            if entry.family in families:
                found.append(entry.address.split("%")[0])  # an IPv6 zone (fe80::1%eth0) is not part of a URL
    hostname = socket.gethostname()
    try:
        for family, *_, sockaddr in socket.getaddrinfo(hostname, None):
            if family in families:
                found.append(sockaddr[0])
    except OSError:
        pass
    unique = list(dict.fromkeys(a for a in found if a))
    outside = [a for a in unique if not is_loopback(a) and not a.startswith("fe80:")]
    return [hostname, *outside, *[a for a in unique if is_loopback(a)]]


def addresses(host: str, port: int, token: str | None) -> list[str]:
    """Every address the page can be opened at, with the token when there is one."""
    if host in ("0.0.0.0", "::", ""):  # every interface: list what this computer can be reached at
        return [_url(a, port, token) for a in machine_addresses(ipv6=host == "::")]
    return [_url(host, port, token)]


def _ready_url(host: str, port: int, token: str | None) -> str:
    """Where this computer asks whether the server is up: loopback for 'every interface', else the host."""
    local = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return _url(local, port, None) + "readyz" + (f"?{TOKEN_PARAMETER}={token}" if token else "")


def wait_ready(url: str, process: subprocess.Popen, timeout: float | None = None) -> bool:
    """Poll ``url`` until it answers 200 (True), the server exits or ``timeout`` passes (False). No proxy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = None if timeout is None else time.monotonic() + timeout
    while process.poll() is None:
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        if deadline is not None and time.monotonic() > deadline:
            return False
        time.sleep(READY_POLL_SECONDS)
    return False


# ---------------------------------------------------------------------------- serving
def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    scenarios: str | Path | None = None,
    token: str | None = None,
    no_token: bool = False,
    check: bool = True,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the workshop page's server in the foreground until Ctrl-C; returns its exit status.

    Prints the addresses (with the token) on ``out``; warnings and "ready" on ``err``.
    A bad option prints one line, ``phc-synergy: error: ...``, and returns 2.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        if check and (problem := check_assets()):
            raise ServeError(problem)
        if not 0 < int(port) < 65536:
            raise ServeError(f"--port {port} is not allowed: an integer in [1, 65535]")
        folder = check_folder(scenarios) if scenarios is not None else None
        chosen = choose_token(host, token, no_token)
    except (ServeError, FileRefused) as exc:
        print(f"phc-synergy: error: {exc}", file=err)
        return 2

    urls = addresses(host, port, chosen)
    print("The workshop page (offline; Ctrl-C stops it), at:", file=out)
    for url in urls:
        print(f"    {url}", file=out)
    if folder is not None:
        print(f"Scenario files listed on the page: the *.toml files in {folder}", file=out)
    out.flush()
    if not is_loopback(host):
        if chosen:
            print("Warning: the page is reachable from the network at these addresses: anyone who can reach them "
                  "and has the token can use the page. Share the address only with the room.", file=err)  # fmt: skip
        else:
            print("Warning: the page is reachable from the network at these addresses and has no token "
                  "(--no-token): anyone who can reach them can use the page.", file=err)  # fmt: skip
        err.flush()

    started = time.monotonic()
    process = subprocess.Popen(command(host, port), env=server_env(chosen, folder))

    def announce() -> None:
        if wait_ready(_ready_url(host, port, chosen), process):
            print(f"The workshop page is ready at {urls[0]} (the server took {time.monotonic() - started:.1f} s "
                  "to start)", file=err, flush=True)  # fmt: skip

    threading.Thread(target=announce, name="viz-ready", daemon=True).start()
    forwarded = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):  # stopping this process stops the server too
            forwarded[signum] = signal.signal(signum, lambda sig, _frame: process.send_signal(sig))
    try:
        return process.wait()
    except KeyboardInterrupt:  # Ctrl-C reaches the server too (same process group); let it finish
        try:
            return process.wait(timeout=15) and 0
        except subprocess.TimeoutExpired:
            process.kill()
            return 0
    finally:
        for signum, handler in forwarded.items():
            signal.signal(signum, handler)
        if process.poll() is None:
            process.terminate()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The server's options, shared by ``phc-synergy viz`` and ``python -m viz.serve``."""
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}, this computer only; 0.0.0.0 for a "
                             "room: then a token is required)")  # fmt: skip
    parser.add_argument("--port", default=str(DEFAULT_PORT), metavar="P", help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--scenarios", metavar="DIR",
                        help="a folder of scenario files (.toml) that the page lists by name; it opens nothing else")  # fmt: skip
    parser.add_argument("--token", metavar="TOKEN",
                        help="the token visitors need (default: one is generated when the host is not loopback)")  # fmt: skip
    parser.add_argument("--no-token", action="store_true",
                        help="no token even on a network address: anyone who can reach the page can use it")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m viz.serve [--host H] [--port P] [--scenarios DIR] [--token T | --no-token]``."""
    parser = argparse.ArgumentParser(prog="python -m viz.serve", description="Serve the workshop page (offline).")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        port = int(args.port)
    except ValueError:
        print(f"phc-synergy: error: --port {args.port!r} is not allowed: an integer in [1, 65535]", file=sys.stderr)
        return 2
    return serve(args.host, port, scenarios=args.scenarios, token=args.token, no_token=args.no_token)


if __name__ == "__main__":
    raise SystemExit(main())
