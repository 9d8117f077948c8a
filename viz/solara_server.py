"""The workshop page's server process: Solara's own ``solara run``, with a token gate and one warning silenced.

    python -m viz.solara_server run viz/app.py --host H --port P --production ...   (started by viz/serve.py)

``solara run`` serves ``solara.server.starlette:app`` and offers no hook for
middleware. Starlette builds an application's middleware stack only when it
serves its first request, so middleware added before the server starts is used:
this module imports that app, adds :class:`TokenGate` to it when
``PHC_SYNERGY_VIZ_TOKEN`` is set, then hands the command line to Solara.

The token comes through the environment, not the command line: another user of
the machine can read a process's arguments (``ps``), not its environment.
"""

from __future__ import annotations

import os
import secrets
import sys
import warnings
from collections.abc import Sequence
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

TOKEN_ENV = "PHC_SYNERGY_VIZ_TOKEN"
TOKEN_PARAMETER = "token"
COOKIE_PREFIX = "phc-synergy-token-"  # then the port: two servers on one computer keep their own cookie
REFUSED_TEXT = (
    b"403 Forbidden: this workshop page needs its token. Open the address with ?token=... that the"
    b" server printed when it started (phc-synergy viz).\n"
)


class TokenGate:
    """ASGI middleware: every HTTP and websocket request needs the token, else 403.

    The token is accepted as the ``token`` query parameter (the address the server
    prints) and then remembered in an HttpOnly cookie, so the page's own requests
    (its files, its websocket) pass without it. Compared with ``secrets.compare_digest``.
    """

    def __init__(self, app, token: str):
        if not token:
            raise ValueError("the token must not be empty")
        self.app = app
        self.token = token.encode("utf-8")

    def _matches(self, given: str | None) -> bool:
        return given is not None and secrets.compare_digest(given.encode("utf-8", "replace"), self.token)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan: the server's own start and stop
            await self.app(scope, receive, send)
            return
        cookie_name = COOKIE_PREFIX + str((scope.get("server") or ("", ""))[1])
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if self._matches((query.get(TOKEN_PARAMETER) or [None])[-1]):
            if scope["type"] == "http":
                send = _with_cookie(send, cookie_name, self.token.decode("utf-8"))
            await self.app(scope, receive, send)
            return
        if self._matches(_cookie(scope, cookie_name)):
            await self.app(scope, receive, send)
            return
        await _refuse(scope, receive, send)


def _cookie(scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            try:
                jar = SimpleCookie(value.decode("latin-1"))
            except CookieError:
                continue
            if name in jar:
                return jar[name].value
    return None


def _with_cookie(send, name: str, token: str):
    async def sending(message) -> None:
        if message["type"] == "http.response.start":
            cookie = f"{name}={token}; Path=/; HttpOnly; SameSite=Lax"
            message = dict(message, headers=[*message.get("headers", []), (b"set-cookie", cookie.encode("latin-1"))])
        await send(message)

    return sending


async def _refuse(scope, receive, send, text: bytes = REFUSED_TEXT) -> None:
    if scope["type"] == "websocket":
        await receive()  # websocket.connect; closing before accepting makes the server answer 403
        await send({"type": "websocket.close", "code": 1008})
        return
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(text)).encode())]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": text})


class LoopbackHostGate:
    """ASGI middleware for a server bound to loopback: requests must name a loopback host, else 403.

    A page served on 127.0.0.1 with no token is safe from other computers, but a web
    page a facilitator visits could point a name it controls at 127.0.0.1 and make the
    browser send requests there (DNS rebinding). Such requests carry that name in their
    Host header; Jupyter refuses them the same way.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket") and not _loopback_host(_header(scope, b"host")):
            await _refuse(scope, receive, send, HOST_REFUSED_TEXT)
            return
        await self.app(scope, receive, send)


HOST_REFUSED_TEXT = b"403 Forbidden: this workshop page answers only to localhost and 127.0.0.1 addresses.\n"


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def _loopback_host(host: str) -> bool:
    """True for a Host header naming localhost, 127.x.y.z or [::1] (with or without a port)."""
    import ipaddress

    host = host.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def silence_cookie_warning() -> None:
    """Solara warns at every page load served over plain http on any name but 'localhost' that its session
    cookie falls back from SameSite=None to Lax. That fallback is what a page opened directly (not embedded
    in another site's frame) needs, so the warning only alarms facilitators: silence just that one."""
    warnings.filterwarnings("ignore", message=r"Cookies with samesite=none require https", category=UserWarning)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m viz.solara_server run APP ...``: Solara's command line, gated when a token is set."""
    args = list(sys.argv[1:] if argv is None else argv)
    silence_cookie_warning()
    token = os.environ.pop(TOKEN_ENV, "")  # out of the environment the page's code runs in
    host = args[args.index("--host") + 1] if "--host" in args and args.index("--host") + 1 < len(args) else ""
    loopback = _loopback_host(host)
    if token or loopback:
        if "run" in args and args.index("run") + 1 < len(args):
            os.environ["SOLARA_APP"] = args[args.index("run") + 1]  # solara.server.app reads it at import
        import solara.server.starlette as solara_starlette

        if token:
            solara_starlette.app.add_middleware(TokenGate, token=token)
        if loopback:  # added last, so it runs first
            solara_starlette.app.add_middleware(LoopbackHostGate)
    from solara.__main__ import cli

    cli(args, prog_name="solara")


if __name__ == "__main__":
    main()
