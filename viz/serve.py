"""Serve the workshop page with nothing leaving the machine.

    python -m viz.serve [--host 127.0.0.1] [--port 8765]
    phc-synergy viz [--host H] [--port P]        (calls :func:`serve`)

Solara's server would otherwise fetch its front-end files from a public CDN
(server-side), check PyPI for a newer version and send telemetry (STACK.md). Here
the front-end files come from the ``solara-assets`` package, the CDN is pointed at
a dead loopback port (a missing file then fails on this machine, visibly, instead
of reaching out), telemetry is off and the version check is skipped, so the page
renders in a room with no internet.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

APP = Path(__file__).with_name("app.py")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEAD_CDN = "http://127.0.0.1:9/"  # port 9 (discard): nothing listens; a missing asset fails at once, locally

# Environment of the server: no telemetry, no CDN, no version check, matplotlib without a display.
OFFLINE_ENV: dict[str, str] = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_ASSETS_CDN": DEAD_CDN,
    "SOLARA_CHECK_VERSION": "False",
    "MPLBACKEND": "Agg",
    "NO_PROXY": "127.0.0.1,localhost",
}


def offline_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default: this process's environment) with the offline settings."""
    env = dict(os.environ if base is None else base)
    env.update(OFFLINE_ENV)
    root = str(Path(__file__).resolve().parent.parent)  # the project, importable by the app
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def command(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, python: str | None = None) -> list[str]:
    """The ``solara run`` command line that serves the page."""
    return [
        python or sys.executable, "-m", "solara", "run", str(APP),
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


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, check: bool = True) -> int:
    """Run the workshop page's server in the foreground until Ctrl-C; returns its exit status."""
    if check and (problem := check_assets()):
        print(f"phc-synergy: error: {problem}", file=sys.stderr)
        return 2
    if not 0 < int(port) < 65536:
        print(f"phc-synergy: error: --port {port} is not allowed: an integer in [1, 65535]", file=sys.stderr)
        return 2
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    print(f"The workshop page: http://{shown}:{port}  (offline; Ctrl-C stops it)", flush=True)
    process = subprocess.Popen(command(host, port), env=offline_env())
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


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m viz.serve [--host H] [--port P]``."""
    parser = argparse.ArgumentParser(prog="python -m viz.serve", description="Serve the workshop page (offline).")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    args = parser.parse_args(argv)
    return serve(args.host, args.port)


if __name__ == "__main__":
    raise SystemExit(main())
