"""/api/stream: Server-Sent Events announcing that the DuckDB file changed, and live figures.

One watcher per server looks at the file (and its write-ahead log) every `poll_s`: a change of
size or modification time is a new version; the daemon bumps it itself after each stored pass,
naming the addresses of the pass. Each page holds one stream and re-reads the API on `change` (an
account page only when the change names its address, or names none); a `ping` every
`ping_s` lets the page tell a quiet stream from a dead one.

Under `tracker run --serve` in live mode the feed (tracker.web.live) publishes frames, already
serialized, on topics: `overview`, and `account:ADDRESS`. A stream follows the topics its query
asks for (`?overview=1`, `?account=ADDRESS`); each frame's bytes go to every stream following
its topic as they are, never re-read or re-serialized per page. A stream that falls behind by
MAX_QUEUED frames gets the latest state of its topics instead of the backlog.

A stream asked `?feeds=1` (the alerts and liquidations pages) also gets, after each `change`
whose newest alert or episode time moved, an `alert` event per alert stored since (the keys of
`tracker alerts --json`) and a `liquidation` event per episode stored or extended since (those of
`tracker liquidations --json`), read once per version for every such stream. This works alike
under `tracker serve` and `tracker run --serve`: whichever part of the daemon stored them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import orjson
from aiohttp import web

from tracker.errors import TrackerError

if TYPE_CHECKING:
    from tracker.web.reads import Reader

log = logging.getLogger(__name__)
MAX_ANSWERS = 256  # distinct reads kept for one version (query strings vary without bound)
MAX_QUEUED = 64  # frames waiting for one slow stream before it is given the latest state instead
STORED_KEPT = 64  # versions whose stored addresses are remembered (a page behind gets "any")
OVERVIEW = "overview"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # "after" when nothing was stored before
T = TypeVar("T")


def account_topic(address: str) -> str:
    """The topic of one address's live figures."""
    return "account:" + address


class Subscription:
    """One stream's topics and the frames waiting for it."""

    __slots__ = ("frames", "ready", "topics")

    def __init__(self, topics: frozenset[str]) -> None:
        self.topics = topics
        self.frames: list[bytes] = []
        self.ready = asyncio.Event()  # set when a frame or a new version waits


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
        self._answers: dict[str, asyncio.Future[Any]] = {}  # reads of version _answered
        self._answered = 0
        self._stored: deque[tuple[int, frozenset[str] | None]] = deque(maxlen=STORED_KEPT)
        self._streams: set[Subscription] = set()  # every open stream, woken at each bump
        self._followers: dict[str, set[Subscription]] = {}  # topic -> the streams following it
        self.latest: Callable[[str], bytes | None] | None = None  # a topic's state, for newcomers
        # what a change of the file that nobody announced stored: unknown (None, `tracker serve`),
        # or no account's snapshot (the daemon announces each pass it stores with its addresses)
        self.unannounced: frozenset[str] | None = None

    def bump(self, stored: Collection[str] | None = None) -> None:
        """A new version now: the writer in this process (the daemon) stored something (these
        addresses; None: unknown)."""
        self.version += 1
        self._stored.append((self.version, None if stored is None else frozenset(stored)))
        for sub in self._streams:
            sub.ready.set()

    def stored_since(self, version: int) -> list[str] | None:
        """The addresses stored after version up to now; None when unknown (a file change, or
        versions older than those remembered)."""
        found: set[str] = set()
        covered = version
        for v, stored in self._stored:
            if v <= version:
                continue
            if stored is None or v != covered + 1:
                return None
            found |= stored
            covered = v
        return sorted(found) if covered == self.version else None

    def subscribe(self, topics: frozenset[str]) -> Subscription:
        """A stream following topics, with their latest frames waiting already."""
        sub = Subscription(topics)
        self._streams.add(sub)
        for topic in topics:
            self._followers.setdefault(topic, set()).add(sub)
        self._catch_up(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """The stream left."""
        self._streams.discard(sub)
        for topic in sub.topics:
            followers = self._followers.get(topic)
            if followers is not None:
                followers.discard(sub)
                if not followers:
                    del self._followers[topic]

    def publish(self, topic: str, frame: bytes) -> None:
        """frame (one serialized SSE message) to every stream following topic, as it is."""
        for sub in self._followers.get(topic, ()):
            if len(sub.frames) >= MAX_QUEUED:
                self._catch_up(sub)
            else:
                sub.frames.append(frame)
            sub.ready.set()

    def _catch_up(self, sub: Subscription) -> None:
        """Replace what waits for sub with the latest state of its topics."""
        found = (self.latest(t) for t in sorted(sub.topics)) if self.latest else ()
        sub.frames = [f for f in found if f is not None]
        if sub.frames:
            sub.ready.set()

    async def watch(self) -> None:
        """Look at the file every poll_s until cancelled."""
        seen = await asyncio.to_thread(_stamp, self.db)
        while True:
            await asyncio.sleep(self.poll_s)
            now = await asyncio.to_thread(_stamp, self.db)
            if now != seen:
                seen = now
                self.bump(self.unannounced)

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
    """GET /api/stream: `change` (the newest snapshot, alert and episode times and, when known,
    the addresses of the passes since the last), `ping`, and the live frames asked for."""
    from tracker.addresses import normalise_address
    from tracker.web.api import READER, params

    q = params(request, {"account", "overview", "feeds"})
    feeds = q.get("feeds") == "1"
    topics = {OVERVIEW} if q.get("overview") == "1" else set()
    if "account" in q:
        topics.add(account_topic(normalise_address(q["account"])))
    headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    if request.method == "HEAD":
        return web.Response(headers=headers)
    changes, reader = request.app[CHANGES], request.app[READER]
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    await response.write(b"retry: 2000\n\n")
    seen = -1
    previous: dict[str, Any] | None = None  # the newest times of the last `change` (feeds)
    sub = changes.subscribe(frozenset(topics))
    try:
        with contextlib.suppress(ConnectionResetError):
            while True:
                if changes.version == seen and not sub.frames:
                    with contextlib.suppress(TimeoutError):  # not wait_for: 3.11's can eat a cancel
                        async with asyncio.timeout(request.app[PING_S]):
                            await sub.ready.wait()
                sub.ready.clear()
                frames, sub.frames = sub.frames, []
                if changes.version != seen:
                    seen, newest = await _announce(response, changes, reader.latest, seen)
                    if feeds and newest is not None:
                        if previous is not None:
                            await _feeds(response, changes, reader, previous, newest)
                        previous = newest
                elif not frames:
                    await response.write(event("ping", {"version": seen}))
                for frame in frames:  # the same bytes for every stream following the topic
                    await response.write(frame)
    finally:
        changes.unsubscribe(sub)
    return response


async def _announce(
    response: web.StreamResponse, changes: Changes, latest: Callable[[], Any], seen: int
) -> tuple[int, dict[str, Any] | None]:
    """Write the `change` event of the current version (or `trouble`); that version and the
    newest times it announced (None: trouble)."""
    version = changes.version
    stored = changes.stored_since(seen) if seen >= 0 else None
    try:
        newest = await changes.once("stream", latest)
    except TrackerError as exc:  # the file is missing or locked for too long
        await response.write(event("trouble", {"error": str(exc).splitlines()[0]}))
        return version, None
    doc = {"version": version, **newest}
    if stored is not None:
        doc["addresses"] = stored
    await response.write(event("change", doc))
    return version, newest


async def _feeds(
    response: web.StreamResponse,
    changes: Changes,
    reader: Reader,
    previous: dict[str, Any],
    newest: dict[str, Any],
) -> None:
    """An `alert` per alert and a `liquidation` per episode stored since previous's times."""
    from tracker.times import parse_iso

    for key, name, read in (
        ("alert_ts", "alert", reader.new_alerts),
        ("liquidation_ts", "liquidation", reader.new_liquidations),
    ):
        before, now = previous.get(key), newest.get(key)
        if now is None or now == before:
            continue
        after = parse_iso(before) if before else EPOCH
        try:
            rows = await changes.once(f"{name}>{before}", functools.partial(read, after))
        except TrackerError as exc:
            await response.write(event("trouble", {"error": str(exc).splitlines()[0]}))
            continue
        for row in rows:
            await response.write(event(name, row))
