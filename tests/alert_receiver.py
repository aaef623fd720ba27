"""A real local HTTP server that receives alerts: records every request, answers as scripted.

    receiver.script("/hook", Reply(status=429, headers={"Retry-After": "0.3"}), Reply(status=204))
    receiver.script("/slow", then=Reply(delay_s=5))   # every answer to /slow, forever
    receiver.received("/hook")                         # what arrived, in order

A path answers its scripted replies in turn, then `then` (by default 200 `{"ok": true}`, which
Telegram, Discord, Slack and generic webhooks all take as success). Import the `alert_receiver`
fixture into conftest.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import pytest_asyncio
from aiohttp import web


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """One scripted answer: status, JSON or text body, headers, and a delay before answering."""

    status: int = 200
    json: Any = None
    text: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


OK = Reply(json={"ok": True})


def discord_429(retry_after_s: float) -> Reply:
    """Discord's rate-limit answer: the wait is in the JSON body (seconds, fractional)."""
    return Reply(
        status=429,
        json={
            "message": "You are being rate limited.",
            "retry_after": retry_after_s,
            "global": False,
        },
    )


def telegram_error(description: str, *, status: int = 200) -> Reply:
    """A Bot API answer that is not ok."""
    return Reply(
        status=status, json={"ok": False, "error_code": status, "description": description}
    )


@dataclass(frozen=True, slots=True)
class Received:
    """One request as it arrived: path, headers, raw body, JSON body (None if not JSON), time."""

    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any
    at: float  # time.monotonic()


class AlertReceiver:
    """The server on 127.0.0.1 at a free port; `url` is its base URL while running."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[Received] = []
        self._scripts: dict[str, deque[Reply]] = {}
        self._then: dict[str, Reply] = {}
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()

    def script(self, path: str, *replies: Reply, then: Reply | None = None) -> None:
        """Answer requests to path with replies in turn, then with `then` (default OK)."""
        self._scripts[path] = deque(replies)
        if then is not None:
            self._then[path] = then

    def received(self, path: str | None = None) -> list[Received]:
        """Requests so far, optionally only those to path."""
        return [r for r in self.requests if path is None or r.path == path]

    async def start(self) -> str:
        """Listen on a free port and return the base URL."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._stopping = asyncio.Event()
        # No access log: it would print request paths, tokens included, into the logs under test.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        """Release delayed answers and stop listening."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> AlertReceiver:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.requests.append(
            Received(request.path, dict(request.headers), raw, body, time.monotonic())
        )
        queue = self._scripts.get(request.path)
        reply = queue.popleft() if queue else self._then.get(request.path, OK)
        if reply.delay_s:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), reply.delay_s)
        if reply.json is not None:
            return web.json_response(reply.json, status=reply.status, headers=reply.headers)
        return web.Response(status=reply.status, text=reply.text, headers=reply.headers)


@pytest_asyncio.fixture
async def alert_receiver() -> AsyncIterator[AlertReceiver]:
    """A running receiver; its base URL is `alert_receiver.url`."""
    async with AlertReceiver() as receiver:
        yield receiver
