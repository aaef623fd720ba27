"""/api/stream: Server-Sent Events announcing that the DuckDB file changed.

One watcher per server looks at the file (and its write-ahead log) every `poll_s`: a change of
size or modification time is a new version. Each page holds one stream and re-reads the API on
`change`; a `ping` every `ping_s` lets the page tell a quiet stream from a dead one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import orjson
from aiohttp import web

from tracker.errors import TrackerError

log = logging.getLogger(__name__)
MAX_ANSWERS = 256  # distinct reads kept for one version (query strings vary without bound)
T = TypeVar("T")


def _stamp(db: Path) -> tuple[tuple[int, int] | None, ...]:
    """(size, mtime_ns) of the file and of its WAL; None for one that does not exist."""
    stamps: list[tuple[int, int] | None] = []
    for path in (db, db.with_name(db.name + ".wal")):
        try:
            stat = path.stat()
        except FileNotFoundError:
            stamps.append(None)
        else:
            stamps.append((stat.st_size, stat.st_mtime_ns))
    return tuple(stamps)


class Changes:
    """The file's version: a counter raised each time its stamp changes or a writer bumps it."""

    def __init__(self, db: Path, poll_s: float) -> None:
        self.db = db
        self.poll_s = poll_s
        self.version = 0
        self._changed = asyncio.Event()  # replaced by a fresh one at each bump
        self._answers: dict[str, asyncio.Future[Any]] = {}  # reads of version _answered
        self._answered = 0

    def bump(self) -> None:
        """A new version now: the writer in this process (the daemon) stored something."""
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def watch(self) -> None:
        """Look at the file every poll_s until cancelled."""
        seen = await asyncio.to_thread(_stamp, self.db)
        while True:
            await asyncio.sleep(self.poll_s)
            now = await asyncio.to_thread(_stamp, self.db)
            if now != seen:
                seen = now
                self.bump()

    async def once(self, key: str, read: Callable[[], T]) -> T:
        """read() in a worker thread once per version and key, however many ask (every open
        page re-reads on each change: 50 pages, one read). A failed read is not kept."""
        if self._answered != self.version or len(self._answers) >= MAX_ANSWERS:
            self._answered, self._answers = self.version, {}
        answer = self._answers.get(key)
        if answer is None:
            answer = asyncio.ensure_future(asyncio.to_thread(read))
            self._answers[key] = answer
            answer.add_done_callback(functools.partial(self._forget_failed, key))
        return cast(T, await asyncio.shield(answer))  # one asker leaving cancels no other

    def _forget_failed(self, key: str, answer: asyncio.Future[Any]) -> None:
        if (answer.cancelled() or answer.exception()) and self._answers.get(key) is answer:
            del self._answers[key]

    async def after(self, version: int, timeout_s: float) -> int:
        """The version once it differs from version, or the same one after timeout_s."""
        if self.version == version:
            changed = self._changed
            with contextlib.suppress(TimeoutError):  # not wait_for: 3.11's can eat a cancel
                async with asyncio.timeout(timeout_s):
                    await changed.wait()
        return self.version


CHANGES = web.AppKey("changes", Changes)
PING_S = web.AppKey("ping_s", float)


def event(name: str, data: dict[str, Any]) -> bytes:
    """One SSE message."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def watching(app: web.Application) -> AsyncIterator[None]:
    """The app's cleanup context: the one watcher runs while the app does."""
    task = asyncio.create_task(app[CHANGES].watch(), name="web-file-watch")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def stream(request: web.Request) -> web.StreamResponse:
    """GET /api/stream: `change` (with the newest snapshot, alert and episode times) and `ping`."""
    from tracker.web.api import READER, params

    params(request, set())
    headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    if request.method == "HEAD":
        return web.Response(headers=headers)
    changes, reader = request.app[CHANGES], request.app[READER]
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    await response.write(b"retry: 2000\n\n")
    seen = -1
    with contextlib.suppress(ConnectionResetError):
        while True:
            version = await changes.after(seen, request.app[PING_S])
            if version == seen:
                await response.write(event("ping", {"version": version}))
                continue
            seen = version
            try:
                latest = await changes.once("stream", reader.latest)
            except TrackerError as exc:  # the file is missing or locked for too long
                await response.write(event("trouble", {"error": str(exc).splitlines()[0]}))
                continue
            await response.write(event("change", {"version": version, **latest}))
    return response
