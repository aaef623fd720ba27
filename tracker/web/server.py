"""The web app: routes, the read-only and access guards, error bodies, and serving it.

Read-only by construction: only GET and HEAD are routed, every other method gets 405 before any
handler runs. Off loopback a token is required (a bearer token, or the cookie set by the one-time
link printed at start), compared in constant time; on loopback the Host header must name
loopback, so a page elsewhere cannot reach the API through DNS rebinding.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tracker.errors import BadInput, StoreError, TrackerError
from tracker.web import api, pages, stream
from tracker.web.openapi import openapi
from tracker.web.reads import Reader

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "tracker_session"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
# lightweight-charts 5.3.0 adds one <style> for its TradingView logo: allowed by its hash
# (tests/test_web_api.py recomputes it from the shipped file), no other inline style or script.
CHART_STYLE_SHA256 = "3pRED1tOXas1FXFoPb9TGCjmYe9XQsmO9OV23khV2nY="
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; "
        f"style-src 'self' 'sha256-{CHART_STYLE_SHA256}'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """True for a loopback address or 'localhost'."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, option: str = "--host") -> str:
    """host when it is an IP address or 'localhost'; BadInput otherwise (one line)."""
    if not is_loopback(host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise BadInput(
                f"{option} must be an IP address or localhost, got {host[:60]!r}"
            ) from None
    return host


@dataclass(slots=True)
class Guard:
    """Who may read: everyone on loopback, else the token's holders."""

    token: bytes | None  # None: no token needed (loopback only)
    session: bytes = field(default_factory=lambda: secrets.token_hex(32).encode())
    once: bytes | None = field(default_factory=lambda: secrets.token_urlsafe(24).encode())

    def admits(self, request: web.Request) -> bool:
        if self.token is None:
            return (request.url.host or "") in LOOPBACK_NAMES
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), self.token):
            return True
        cookie = request.cookies.get(COOKIE, "")
        return hmac.compare_digest(cookie.encode(), self.session)

    def redeem(self, code: str) -> bool:
        """True once for the one-time code; it is spent then."""
        if self.once is None or not hmac.compare_digest(code.encode(), self.once):
            return False
        self.once = None
        return True


GUARD = web.AppKey("guard", Guard)


def _error(request: web.Request, status: int, message: str) -> web.Response:
    if request.path.startswith("/api/"):
        return api.json_response({"error": message}, status)
    return web.Response(text=message + "\n", status=status, headers={"Cache-Control": "no-store"})


@web.middleware
async def guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    """405 for every method but GET/HEAD, 401 without access, one-line errors, safe headers."""
    if request.method not in ("GET", "HEAD"):
        response: web.StreamResponse = _error(request, 405, "read-only: only GET and HEAD")
        response.headers["Allow"] = "GET, HEAD"
    elif request.path != "/login" and not request.app[GUARD].admits(request):
        response = _error(request, 401, "unauthorized: send the token (TRACKER_SERVE_TOKEN)")
    else:
        try:
            response = await handler(request)
        except BadInput as exc:
            response = _error(request, 400, str(exc).splitlines()[0])
        except StoreError as exc:
            response = _error(request, 503, str(exc).splitlines()[0])
        except web.HTTPException as exc:
            response = _error(request, exc.status, exc.reason)
        except TrackerError as exc:
            log.warning("%s %s failed: %s", request.method, request.path, exc)
            response = _error(request, 500, "internal error (see the server's log)")
    if not response.prepared:
        response.headers.update(HEADERS)
    return response


async def login(request: web.Request) -> web.Response:
    """GET /login?once=CODE: trade the one-time code for a session cookie."""
    guard = request.app[GUARD]
    if not guard.redeem(request.query.get("once", "")):
        return _error(request, 401, "this link was used already or is wrong: restart to get one")
    response = web.Response(status=303, headers={"Location": "/", "Cache-Control": "no-store"})
    response.set_cookie(COOKIE, guard.session.decode(), httponly=True, samesite="Strict")
    return response


def make_app(
    reader: Reader, *, token: str | None, poll_s: float = 1.0, banner: str | None = None
) -> web.Application:
    """The dashboard over reader; token None serves loopback only (see Guard); banner: a line
    on top of every page (`tracker demo` says it is a replay)."""
    app = web.Application(middlewares=[guarded])
    app[api.READER] = reader
    app[pages.BANNER] = banner or ""
    app[GUARD] = Guard(token.encode() if token else None)
    app[stream.CHANGES] = stream.Changes(reader.db, poll_s)
    app[stream.PING_S] = 5.0
    app.cleanup_ctx.append(stream.watching)
    app.add_routes(
        [
            web.get("/", pages.overview),
            web.get("/accounts/{address}", pages.account),
            web.get("/liquidations", pages.liquidations),
            web.get("/alerts", pages.alerts),
            web.get("/market/{coin}", pages.market),
            web.get("/entity/{name}", pages.entity),
            web.get("/login", login),
            web.get("/api/openapi.json", openapi),
            web.get("/api/accounts", api.accounts),
            web.get("/api/accounts/{address}", api.account),
            web.get("/api/accounts/{address}/history", api.history),
            web.get("/api/accounts/{address}/fills", api.fills),
            web.get("/api/accounts/{address}/funding", api.funding),
            web.get("/api/accounts/{address}/ledger", api.ledger),
            web.get("/api/watchlists", api.watchlists),
            web.get("/api/cohorts", api.cohorts),
            web.get("/api/entities", api.entities),
            web.get("/api/entities/{name}", api.entity),
            web.get("/api/liquidations", api.liquidations),
            web.get("/api/liquidations/daily", api.liquidations_daily),
            web.get("/api/alerts", api.alerts),
            web.get("/api/market/{coin}", api.market),
            web.get("/api/market/{coin}/liqmap", api.liqmap),
            web.get("/api/query", api.query),
            web.get("/api/stream", stream.stream),
            web.static("/static", STATIC, follow_symlinks=False),
        ]
    )
    return app


@dataclass(frozen=True, slots=True)
class Serving:
    """Where the app listens, and the one-time link when a token guards it."""

    url: str
    login_url: str | None


def parse_listen(value: str) -> tuple[str, int]:
    """'[HOST:]PORT' (IPv6 as [::1]:PORT) as (host, port); host 127.0.0.1 when only PORT."""
    host, sep, port_text = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep:
        host = "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535 or (sep and not host):
        raise BadInput(f"--serve takes [HOST:]PORT with PORT 0-65535, got {value[:60]!r}")
    return check_host(host, "--serve host"), int(port_text)


def check_token(host: str, token: str | None) -> None:
    """BadInput unless host is loopback or a token guards it."""
    if not is_loopback(host) and token is None:
        raise BadInput(f"serving on {host} needs TRACKER_SERVE_TOKEN (loopback needs none)")


@contextlib.asynccontextmanager
async def listening(
    reader: Reader,
    host: str,
    port: int,
    *,
    token: str | None,
    poll_s: float = 1.0,
    banner: str | None = None,
) -> AsyncIterator[tuple[Serving, stream.Changes]]:
    """The app listening until the block ends; where, and its change counter to bump.

    BadInput for a host or port refused.
    """
    check_token(host, token)
    app = make_app(reader, token=token, poll_s=poll_s, banner=banner)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise BadInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        bound = runner.addresses[0][1] if runner.addresses else port
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{bound}/"
        once = app[GUARD].once
        login_url = f"{url}login?once={once.decode()}" if token and once else None
        yield Serving(url, login_url), app[stream.CHANGES]
    finally:
        await runner.cleanup()


async def serve(
    reader: Reader,
    host: str,
    port: int,
    *,
    token: str | None,
    started: Callable[[Serving], None],
    poll_s: float = 1.0,
) -> None:
    """Serve until cancelled; started(...) once listening. BadInput for a host or port refused."""
    async with listening(reader, host, port, token=token, poll_s=poll_s) as (serving, _):
        started(serving)
        await asyncio.Event().wait()
