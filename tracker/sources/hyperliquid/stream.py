"""Hyperliquid WebSocket: one connection, its subscriptions, typed records out.

    async with HyperliquidStream(session, settings.hl_ws_url) as stream:
        stream.subscribe_mids()
        stream.subscribe_user("0x...")
        async for event in stream:  # MidsUpdate, Trade, UserFills, ..., StreamStatus
            ...

The venue's per-IP limits (shared/reference/hyperliquid.md §2.2) are kept on this side: at most
10 distinct users in user subscriptions and 1000 subscriptions (past either, subscribe_* raises
StreamLimitError), fewer than 2000 messages sent and 30 new connections per minute (sends and
connects wait in sliding-window limiters). The venue drops connections without notice (§2.3):
this stream reconnects with exponential backoff and jitter, resubscribes everything and emits a
StreamStatus on every change, so the caller can backfill the gap over REST after a reconnect:
`connected` once a socket is open (its subscriptions queued), `disconnected` when an open socket
ends (reason: closed, lost, or no frame for idle_timeout_s), `reconnecting` before each wait,
failed attempts included. Keep one stream per process: the limits are the IP's.

Marks (`MidsUpdate`, `AssetCtxUpdate`) that arrive while records wait unread go ahead of them:
each carries absolute values, so applying one before earlier trades changes nothing but how
stale the book's marks are. A reader that takes records without pause hands the loop back every
YIELD_EVERY_S, so frames are read off the socket (and marks found) while a backlog is worked off.

Fill snapshots replayed on resubscribing arrive flagged `snapshot=True` (dedupe by fill key);
trades replayed are dropped here by (coin, tid, time) within a bounded window. A frame that does
not parse is logged, counted in `bad_messages` and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal

import aiohttp
import orjson

from tracker.addresses import normalise_address
from tracker.errors import BadInput, VenueResponseError
from tracker.net.limiter import WeightLimiter
from tracker.records import AssetCtxUpdate, MidsUpdate, StreamStatus, Trade
from tracker.sources.hyperliquid.ws_parse import WsRecord, parse_frame

log = logging.getLogger(__name__)

MAX_USERS = 10  # distinct users across user-specific subscriptions, per IP
USER_FEEDS = ("userFills", "userEvents")  # what subscribe_user follows unless told otherwise
MAX_SUBSCRIPTIONS = 1000  # per IP
SENDS_PER_MINUTE = 1800  # the venue allows 2000 per IP over all connections: keep a margin
CONNECTS_PER_MINUTE = 20  # the venue allows 30 new connections per minute per IP
TRADE_WINDOW = 20_000  # recent trade keys kept to drop trades replayed after a reconnect
STABLE_S = 30.0  # a connection that lived this long resets the backoff
CLOSE_TIMEOUT_S = 2.0
YIELD_EVERY_S = 0.01  # a reader taking a backlog without pause lets the socket be read this often
_PING = '{"method":"ping"}'

StreamEvent = WsRecord | StreamStatus
StreamState = Literal["connected", "disconnected", "reconnecting"]


class StreamLimitError(BadInput):
    """A subscription past the venue's per-IP WebSocket limits (10 users, 1000 subscriptions)."""


def backoff_delay(
    failures: int, min_s: float, max_s: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds before reconnect attempt `failures` + 1: doubling from min_s, capped, half jitter."""
    cap = min(max_s, min_s * 2.0 ** min(failures, 30))
    return cap / 2 + rand() * cap / 2


class HyperliquidStream:
    """The venue's WebSocket feeds as one async stream of records (see the module docstring)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        *,
        ping_interval_s: float = 50.0,
        reconnect_max_s: float = 30.0,
        idle_timeout_s: float = 60.0,
        reconnect_min_s: float = 0.5,
        connect_timeout_s: float = 10.0,
        send_limiter: WeightLimiter | None = None,
        connect_limiter: WeightLimiter | None = None,
        queue_size: int = 50_000,
    ) -> None:
        self.session = session
        self.url = url
        self.ping_interval_s = ping_interval_s
        self.reconnect_max_s = reconnect_max_s
        self.reconnect_min_s = reconnect_min_s
        self.idle_timeout_s = idle_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.send_limiter = send_limiter or WeightLimiter(SENDS_PER_MINUTE)
        self.connect_limiter = connect_limiter or WeightLimiter(CONNECTS_PER_MINUTE)
        self._subs: dict[str, dict[str, str]] = {}  # key -> subscription, in subscribe order
        self._users: dict[str, tuple[str, ...]] = {}  # address -> its feeds subscribed
        self._queue: asyncio.Queue[StreamEvent] = asyncio.Queue(queue_size)
        self._held: deque[StreamEvent] = deque()  # taken off the queue by a cancelled reader
        self._marks: deque[StreamEvent] = deque()  # marks that went ahead of a backlog
        self._outbox: asyncio.Queue[str] | None = None  # set while a connection is open
        self._task: asyncio.Task[None] | None = None
        self._trade_keys: OrderedDict[tuple[str, int, int], None] = OrderedDict()
        self.reconnects = 0  # successful connections after the first
        self.received = 0  # frames read
        self.sent = 0  # frames written, pings included
        self.bad_messages = 0
        self.duplicate_trades = 0
        self.venue_errors: deque[str] = deque(maxlen=100)  # texts of `error` frames, newest last

    # --- subscriptions -----------------------------------------------------------------------

    def subscribe_mids(self, dex: str = "") -> bool:
        """Mid of every coin of one dex (`allMids`); False when already subscribed."""
        return self._add({"type": "allMids", "dex": dex} if dex else {"type": "allMids"})

    def subscribe_asset_ctx(self, coin: str) -> bool:
        """Exact mark, oracle, funding and open interest of one coin (`activeAssetCtx`)."""
        return self._add({"type": "activeAssetCtx", "coin": coin})

    def subscribe_trades(self, coin: str) -> bool:
        """Public trades of one coin, naming buyer and seller (`trades`)."""
        return self._add({"type": "trades", "coin": coin})

    def subscribe_user(self, user: str, feeds: tuple[str, ...] = USER_FEEDS) -> bool:
        """Fills and liquidations of one account (`userFills` + `userEvents`, or only `feeds`).

        Raises StreamLimitError for an 11th distinct user, BadAddress for a malformed one.
        """
        address = normalise_address(user)
        if address in self._users:
            return False
        if len(self._users) >= MAX_USERS:
            raise StreamLimitError(
                f"cannot stream more than {MAX_USERS} users over the Hyperliquid WebSocket "
                f"(a per-IP limit); unsubscribe one or poll {address} over REST"
            )
        self._check_room(len(feeds))
        self._users[address] = feeds
        for kind in feeds:
            self._add({"type": kind, "user": address})
        return True

    def unsubscribe_user(self, user: str) -> bool:
        """Stop every feed of one account; False when it was not subscribed."""
        address = normalise_address(user)
        feeds = self._users.pop(address, None)
        if feeds is None:
            return False
        for kind in feeds:
            sub = {"type": kind, "user": address}
            self._subs.pop(_key(sub), None)
            self._send_nowait({"method": "unsubscribe", "subscription": sub})
        return True

    @property
    def subscriptions(self) -> list[dict[str, str]]:
        """Current subscriptions, in the order they were made (resent in that order)."""
        return list(self._subs.values())

    @property
    def users(self) -> frozenset[str]:
        """Accounts with user subscriptions (lower-case)."""
        return frozenset(self._users)

    def _check_room(self, more: int) -> None:
        if len(self._subs) + more > MAX_SUBSCRIPTIONS:
            raise StreamLimitError(
                f"cannot hold more than {MAX_SUBSCRIPTIONS} Hyperliquid WebSocket subscriptions"
            )

    def _add(self, sub: dict[str, str]) -> bool:
        key = _key(sub)
        if key in self._subs:
            return False
        self._check_room(1)
        self._subs[key] = sub
        self._send_nowait({"method": "subscribe", "subscription": sub})
        return True

    def _send_nowait(self, message: dict[str, object]) -> None:
        if self._outbox is not None:  # otherwise the next connection sends every subscription
            self._outbox.put_nowait(orjson.dumps(message).decode())

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting in the background (idempotent); records queue up for events()."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="hyperliquid-ws")

    async def close(self) -> None:
        """Close the connection and stop reconnecting; events() then ends."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def __aenter__(self) -> HyperliquidStream:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def backlog(self) -> int:
        """Messages received and not yet read by the consumer."""
        return self._queue.qsize() + len(self._marks)

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self.events()

    async def events(self) -> AsyncIterator[StreamEvent]:
        """Records and status changes in arrival order (marks that came while records waited go
        first: module docstring), until close()."""
        self.start()
        task = self._task
        assert task is not None
        loop = asyncio.get_running_loop()
        paused_at = loop.time()
        while True:
            if self._held:
                yield self._held.popleft()
                continue
            if self._marks:
                yield self._marks.popleft()
                continue
            if not self._queue.empty():
                if loop.time() - paused_at >= YIELD_EVERY_S:
                    await asyncio.sleep(0)  # the socket is read meanwhile
                    paused_at = loop.time()
                    continue
                yield self._queue.get_nowait()
                continue
            paused_at = loop.time()
            getter = asyncio.ensure_future(self._queue.get())
            try:
                await asyncio.wait((getter, task), return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                if getter.done():  # taken just before the cancel: keep it for the next reader
                    self._held.append(getter.result())
                getter.cancel()
                raise
            if getter.done():
                yield getter.result()
                continue
            getter.cancel()  # an item it had not taken yet stays in the queue
            if not task.cancelled():
                task.result()  # re-raise what stopped the stream
            return

    # --- connection --------------------------------------------------------------------------

    async def _run(self) -> None:
        failures, connected_once = 0, False
        loop = asyncio.get_running_loop()
        while True:
            await self.connect_limiter.acquire(1)
            started = loop.time()
            try:
                async with asyncio.timeout(self.connect_timeout_s):
                    ws = await self.session.ws_connect(
                        self.url, autoping=True, heartbeat=None, max_msg_size=64 * 2**20
                    )
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                reason = f"connect failed: {exc or type(exc).__name__}"
            else:
                if connected_once:
                    self.reconnects += 1
                connected_once = True
                reason = await self._serve(ws)
                if loop.time() - started >= STABLE_S:
                    failures = 0
                log.warning("Hyperliquid WebSocket disconnected: %s", reason)
                await self._status("disconnected", reason)
            delay = backoff_delay(failures, self.reconnect_min_s, self.reconnect_max_s)
            failures += 1
            await self._status("reconnecting", f"{reason}; next attempt in {delay:.2f} s")
            await asyncio.sleep(delay)

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        outbox: asyncio.Queue[str] = asyncio.Queue()
        for sub in self._subs.values():
            outbox.put_nowait(orjson.dumps({"method": "subscribe", "subscription": sub}).decode())
        self._outbox = outbox
        writer = asyncio.create_task(self._write(ws, outbox), name="hyperliquid-ws-writer")
        try:
            await self._status("connected", None)
            return await self._read(ws)
        except (aiohttp.ClientError, OSError) as exc:
            return f"connection error: {exc or type(exc).__name__}"
        finally:
            self._outbox = None
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            # A half-dead peer never answers the close frame: give up on it quickly.
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await ws.close()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        while True:
            try:
                msg = await ws.receive(timeout=self.idle_timeout_s)
            except TimeoutError:
                return f"no message for {self.idle_timeout_s:g} s"
            if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                self.received += 1
                await self._handle(msg.data)
            elif msg.type == aiohttp.WSMsgType.ERROR:
                return f"connection error: {ws.exception()}"
            elif ws.close_code in (None, 1006):  # no close frame: the transport went away
                return "connection lost"
            else:  # CLOSE, CLOSING, CLOSED
                return f"closed by the venue (code {ws.close_code})"

    async def _write(self, ws: aiohttp.ClientWebSocketResponse, outbox: asyncio.Queue[str]) -> None:
        """Send queued frames; a ping when nothing was sent for ping_interval_s (venue: 60 s)."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        try:
            while True:
                if outbox.empty():
                    wait = self.ping_interval_s - (loop.time() - last)
                    try:  # not wait_for: on 3.11 it can eat a cancellation
                        async with asyncio.timeout(max(wait, 0.001)):
                            text = await outbox.get()
                    except TimeoutError:
                        text = _PING
                else:
                    text = outbox.get_nowait()
                await self.send_limiter.acquire(1)
                await ws.send_str(text)
                self.sent += 1
                last = loop.time()
        except (aiohttp.ClientError, OSError) as exc:
            # The reader sees the closed transport next (or its idle timeout does).
            log.info("Hyperliquid WebSocket send failed: %s", exc)

    async def _handle(self, raw: str | bytes) -> None:
        try:
            frame = parse_frame(raw, datetime.now(UTC))
        except (VenueResponseError, ValueError) as exc:
            self.bad_messages += 1
            log.warning("skipped a Hyperliquid WebSocket frame: %s", exc)
            return
        if frame.error is not None:
            self.venue_errors.append(frame.error)
            log.warning("Hyperliquid WebSocket error: %s", frame.error)
        for record in frame.records:
            if isinstance(record, Trade) and self._seen(record):
                continue
            if isinstance(record, MidsUpdate | AssetCtxUpdate) and not self._queue.empty():
                self._marks.append(record)  # ahead of the backlog (module docstring)
                continue
            await self._queue.put(record)

    def _seen(self, trade: Trade) -> bool:
        key = (trade.coin, trade.tid, trade.time_ms)
        if key in self._trade_keys:
            self.duplicate_trades += 1
            return True
        self._trade_keys[key] = None
        if len(self._trade_keys) > TRADE_WINDOW:
            self._trade_keys.popitem(last=False)
        return False

    async def _status(self, state: StreamState, reason: str | None) -> None:
        status = StreamStatus(
            ts=datetime.now(UTC), state=state, reason=reason, reconnects=self.reconnects
        )
        await self._queue.put(status)


def _key(sub: dict[str, str]) -> str:
    return orjson.dumps(sub, option=orjson.OPT_SORT_KEYS).decode()
