"""The fake venue's WebSocket `GET /ws`, speaking the venue's protocol (reference §2.2-2.4).

On connect it sends the text `Websocket connection established.`; `{"method":"ping"}` gets
`{"channel":"pong"}`; subscribe/unsubscribe get `subscriptionResponse` acks echoing the
subscription, refusals an `{"channel":"error","data":TEXT}` frame. Served feeds: `allMids`
(+dex; on subscribing, whenever `fake.set_mark` moves a mark, and every `mids_interval_s`),
`activeAssetCtx`, `trades` (the latest few on subscribing, then each `trade()`), `userFills`
(an `isSnapshot` replay of the `snapshot_fills` most recent stored fills first, newest
first, then fills added by `fake.put_fills` or `push_fills`) and `userEvents` (channel `user`:
those fills, and `push_liquidation` events).

Per-IP limits as the venue: 10 connections and 30 new ones a minute (HTTP 429), 1000
subscriptions, 10 distinct users in user subscriptions (`Cannot track more than 10 total
users.`), 2000 client frames a minute (error, then the connection is closed). A connection the
server has sent nothing to for `idle_close_s` (60 s) is closed, so clients must ping.

Scripting (all plain calls from a test; pushed frames are sent in order by a writer per
connection): `mark_path`, `trade`, `push_fills`, `push_liquidation`, `send_raw` (garbage),
`disconnect_all`, `drop_after`, `silence`, `refuse` (an outage: new connections get HTTP 503).
Observation: `received` (client frames, parsed) and `received_at`, `subscribers(kind, ...)`,
`pings`, `connects`, `connections`, `sent`.

Longer than our ~400 lines: one connection handler serves every channel the tracker reads, and
the scripted faults (drops, silences, refusals, garbage) act on that same handler's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from tracker.replay.model import dec, fmt
from tracker.replay.venue import Venue
from tracker.replay.wire import ADDRESS

WELCOME = "Websocket connection established."
PONG = '{"channel":"pong"}'
MAX_CONNECTIONS = 10
CONNECTS_PER_MINUTE = 30
MAX_SUBSCRIPTIONS = 1000
MAX_USERS = 10
MESSAGES_PER_MINUTE = 2000
RECENT_TRADES = 10  # trades replayed to a new `trades` subscriber
LIQUIDATOR = "0x2e3d94f0562703b25c83308a05046ddaf9a8dd14"  # HLP Liquidator (seed.HLP_LIQUIDATOR)
_COIN_FEEDS = frozenset({"activeAssetCtx", "trades"})
_USER_FEEDS = frozenset({"userFills", "userEvents"})

# ETH on the main dex, Jan 29 - Feb 1 2026 (~2,900 -> ~2,300): illustrative waypoints, not
# recorded prices. `compress(ETH_SLIDE_2026, 3.0)` replays it in three seconds.
ETH_SLIDE_2026: list[tuple[datetime, str]] = [
    (datetime(2026, 1, 29, 0, 0), "2900"),
    (datetime(2026, 1, 29, 18, 0), "2810"),
    (datetime(2026, 1, 30, 12, 0), "2700"),
    (datetime(2026, 1, 31, 6, 0), "2520"),
    (datetime(2026, 1, 31, 20, 0), "2380"),
    (datetime(2026, 2, 1, 0, 0), "2300"),
]


def compress(path: Sequence[tuple[datetime, Any]], seconds: float) -> list[tuple[float, Any]]:
    """A dated price path squeezed into `seconds` from start, for `mark_path`."""
    start, end = path[0][0], path[-1][0]
    span = (end - start).total_seconds() or 1.0
    return [((t - start).total_seconds() / span * seconds, px) for t, px in path]


def interpolate(points: Sequence[tuple[float, Any]], t: float) -> Decimal:
    """Piecewise-linear price at `t` seconds on a path of (seconds, px) points."""
    if t <= points[0][0]:
        return dec(points[0][1])
    for (t0, p0), (t1, p1) in itertools.pairwise(points):
        if t <= t1:
            share = Decimal(repr((t - t0) / (t1 - t0))) if t1 > t0 else Decimal(1)
            return dec(p0) + (dec(p1) - dec(p0)) * share
    return dec(points[-1][1])


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _key(sub: dict[str, Any]) -> str:
    user = sub.get("user")
    normal = {**sub, "user": user.lower()} if isinstance(user, str) else sub
    return orjson.dumps(normal, option=orjson.OPT_SORT_KEYS).decode()


class _Conn:
    """One client connection: its subscriptions and the frames waiting to be sent."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, ip: str) -> None:
        self.ws = ws
        self.request = request
        self.ip = ip
        self.subs: dict[str, dict[str, Any]] = {}
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.last_sent = time.monotonic()

    def send(self, text: str) -> None:
        self.queue.put_nowait(text)

    def error(self, text: str) -> None:
        self.send(_dumps({"channel": "error", "data": text}))

    def wants(self, kind: str, **fields: str) -> bool:
        return any(
            s["type"] == kind and all(s.get(k, "") == v for k, v in fields.items())
            for s in self.subs.values()
        )

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (the venue's unannounced drops)."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class FakeWebSocket:
    """The WebSocket side of one fake venue; `server.ws` on ReplayServer."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.idle_close_s = 60.0
        self.mids_interval_s: float | None = 1.0  # scheduled allMids; None = only on changes
        self.snapshot_fills = 2000  # a userFills snapshot holds this many of the newest fills
        self.received: list[Any] = []  # every client frame, parsed (raw text when not JSON)
        self.received_at: list[float] = []  # time.monotonic() of each, in the same order
        self.connects = 0
        self.sent = 0
        self._conns: set[_Conn] = set()
        self._trades: dict[str, deque[dict[str, Any]]] = defaultdict(lambda: deque(maxlen=50))
        self._tids = itertools.count(700_000_000_000_000)
        self._lids = itertools.count(1)
        self._drop_after: int | None = None
        self._refuse_until = 0.0
        self._silent_until = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._block: dict[str, list[dict[str, Any]]] | None = None  # trades of an open `block`
        self._unstamped: list[dict[str, Any]] | None = None  # its trades timed at its close
        self._connect_times: dict[str, deque[float]] = defaultdict(deque)
        self._frame_times: dict[str, deque[float]] = defaultdict(deque)

    @property
    def pings(self) -> int:
        """Ping frames received so far."""
        return sum(1 for m in self.received if isinstance(m, dict) and m.get("method") == "ping")

    def subscribers(self, kind: str, **fields: str) -> int:
        """Open connections subscribed to `kind` with these fields (user lower-case)."""
        return sum(c.wants(kind, **fields) for c in self._conns)

    @property
    def connections(self) -> int:
        """Open connections."""
        return len(self._conns)

    # --- scripting ---------------------------------------------------------------------------

    def mark_path(
        self, coin: str, points: Sequence[tuple[float, Any]], step_s: float, dex: str = ""
    ) -> asyncio.Task[None]:
        """Move `coin`'s mark along (seconds from now, px) points every step_s; await to finish."""
        path = sorted(points, key=lambda p: p[0])

        async def run() -> None:
            start, t = time.monotonic(), 0.0
            while True:
                self.venue.set_mark(coin, interpolate(path, t), dex)
                if t >= path[-1][0]:
                    return
                await asyncio.sleep(step_s)
                t = time.monotonic() - start

        return self._spawn(run())

    def trade(
        self,
        coin: str,
        px: Decimal | str | float,
        size: Decimal | str | float,
        buyer: str,
        seller: str,
        *,
        side: str = "B",
        time_ms: int | None = None,
        tid: int | None = None,
    ) -> dict[str, Any]:
        """Push one public trade naming [buyer, seller] to `trades` subscribers; returns it."""
        tid = tid if tid is not None else next(self._tids)
        item = {
            "coin": coin,
            "side": side,
            "px": fmt(dec(px), 10),
            "sz": fmt(dec(size), 10),
            "hash": "0x" + format(tid, "064x"),
            "time": time_ms if time_ms is not None else time.time_ns() // 1_000_000,
            "tid": tid,
            "users": [buyer.lower(), seller.lower()],
        }
        self._trades[coin].append(item)
        if self._block is not None:
            self._block.setdefault(coin, []).append(item)
            if time_ms is None and self._unstamped is not None:
                self._unstamped.append(item)
        else:
            self._broadcast(lambda c: c.wants("trades", coin=coin), _trades_frame([item]))
        return item

    @contextlib.contextmanager
    def block(self, *, timed_at_close: bool = False) -> Iterator[None]:
        """Trades made inside go out as the venue sends a block's: one frame per coin holding
        all of that coin's trades, when the block closes (outside one, a frame per trade).

        `timed_at_close`: the trades made without a time take the block's time, its close, as
        the venue's trades carry the time of the block that holds them (a load generator that
        takes a while to make a block would otherwise date them before they could be sent).
        """
        if self._block is not None:
            yield  # already inside a block: its trades go out with it
            return
        self._block = {}
        self._unstamped = [] if timed_at_close else None
        try:
            yield
        finally:
            made, self._block = self._block, None
            unstamped, self._unstamped = self._unstamped, None
            now = time.time_ns() // 1_000_000
            for item in unstamped or ():
                item["time"] = now
            for coin, items in made.items():
                self._broadcast(partial(_wants_trades, coin=coin), _trades_frame(items))

    def push_fills(self, user: str, fills: list[dict[str, Any]]) -> None:
        """Add fills to `user`'s history (REST sees them too) and stream them."""
        series = self.venue._fills.get(user.lower())
        Venue.put_fills(self.venue, user, [*(series.items if series else ()), *fills])
        self._stream_fills(user.lower(), fills)

    def push_liquidation(
        self,
        user: str,
        *,
        notional_usd: Decimal | str | float,
        account_value_usd: Decimal | str | float,
        liquidator: str = LIQUIDATOR,
        lid: int | None = None,
    ) -> dict[str, Any]:
        """Send a `userEvents` liquidation of `user` to its subscribers; returns the event."""
        event = {
            "lid": lid if lid is not None else next(self._lids),
            "liquidator": liquidator.lower(),
            "liquidated_user": user.lower(),
            "liquidated_ntl_pos": fmt(dec(notional_usd)),
            "liquidated_account_value": fmt(dec(account_value_usd)),
        }
        frame = _dumps({"channel": "user", "data": {"liquidation": event}})
        self._broadcast(lambda c: c.wants("userEvents", user=user.lower()), frame)
        return event

    def send_raw(self, text: str) -> None:
        """Send `text` as is to every connection (garbage, unknown channels)."""
        self._broadcast(lambda c: True, text)

    def disconnect_all(self) -> None:
        """Drop every connection now, without a close frame."""
        for conn in list(self._conns):
            conn.abort()

    def drop_after(self, n_messages: int) -> None:
        """Drop the connection that sends the n-th frame from now (one shot)."""
        self._drop_after = n_messages

    def refuse(self, seconds: float) -> None:
        """Answer new connections HTTP 503 for `seconds` (with disconnect_all: an outage)."""
        self._refuse_until = time.monotonic() + seconds

    def silence(self, seconds: float) -> None:
        """Send nothing (not even pongs; frames are lost) and close nothing for `seconds`."""
        self._silent_until = time.monotonic() + seconds

    # --- hooks from the venue ----------------------------------------------------------------

    def mark_changed(self, coin: str, dex: str = "") -> None:
        """A mark moved: push allMids of the dex and the coin's asset ctx to subscribers."""
        if not self._conns:
            return
        self._push_mids(dex)
        ctx = self._ctx_frame(coin)
        if ctx is not None:
            self._broadcast(lambda c: c.wants("activeAssetCtx", coin=coin), ctx)

    def fills_added(self, user: str, before: Iterable[dict[str, Any]]) -> None:
        """`user`'s fills were replaced: stream the ones not there before."""
        user = user.lower()
        if not any(c.wants(t, user=user) for c in self._conns for t in _USER_FEEDS):
            return
        seen = {_fill_id(f) for f in before}
        series = self.venue._fills.get(user)
        new = [f for f in (series.items if series else ()) if _fill_id(f) not in seen]
        if new:
            self._stream_fills(user, new)

    # --- server ------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """`GET /ws`: upgrade, greet, then serve subscriptions until the client goes."""
        ip = request.remote or "?"
        now = time.monotonic()
        if now < self._refuse_until:
            return web.Response(status=503, text="Service Unavailable")
        recent = self._connect_times[ip]
        while recent and recent[0] <= now - 60:
            recent.popleft()
        if sum(c.ip == ip for c in self._conns) >= MAX_CONNECTIONS or len(recent) >= (
            CONNECTS_PER_MINUTE
        ):
            return web.Response(status=429, text="Too many connections")
        recent.append(now)
        ws = web.WebSocketResponse(autoping=True, max_msg_size=2**20)
        await ws.prepare(request)
        conn = _Conn(ws, request, ip)
        self._conns.add(conn)
        self.connects += 1
        self._start_ticker()
        writer = asyncio.create_task(self._write(conn))
        watchdog = asyncio.create_task(self._watch_idle(conn))
        conn.send(WELCOME)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_frame(conn, msg.data)
        finally:
            self._conns.discard(conn)
            for task in (writer, watchdog):
                task.cancel()
        return ws

    async def close_all(self) -> None:
        """Stop scripted tasks and drop every connection (the server is stopping)."""
        for task in list(self._tasks):
            task.cancel()
        self.disconnect_all()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _on_frame(self, conn: _Conn, text: str) -> None:
        if not self._within_rate(conn.ip):
            conn.error(f"Too many messages: more than {MESSAGES_PER_MINUTE} per minute")
            self._spawn(conn.ws.close())
            return
        self.received_at.append(time.monotonic())
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            self.received.append(text)
            conn.error(f"Invalid message: {text[:100]}")
            return
        self.received.append(message)
        method = message.get("method") if isinstance(message, dict) else None
        sub = message.get("subscription") if isinstance(message, dict) else None
        if method == "ping":
            conn.send(PONG)
        elif method == "subscribe" and isinstance(sub, dict):
            self._subscribe(conn, sub)
        elif method == "unsubscribe" and isinstance(sub, dict):
            self._unsubscribe(conn, sub)
        else:
            conn.error(f"Invalid message: {text[:100]}")

    def _subscribe(self, conn: _Conn, sub: dict[str, Any]) -> None:
        text = _dumps(sub)
        initial = self._initial(sub)
        if initial is None:
            conn.error(f"Invalid subscription {text}")
            return
        key = _key(sub)
        if key in conn.subs:
            conn.error(f"Already subscribed: {text}")
            return
        peers = [c for c in self._conns if c.ip == conn.ip]
        if sum(len(c.subs) for c in peers) >= MAX_SUBSCRIPTIONS:
            conn.error(f"Cannot subscribe to more than {MAX_SUBSCRIPTIONS} channels.")
            return
        user = sub.get("user")
        if isinstance(user, str):
            users = {s["user"].lower() for c in peers for s in c.subs.values() if "user" in s}
            if user.lower() not in users and len(users) >= MAX_USERS:
                conn.error(f"Cannot track more than {MAX_USERS} total users.")
                return
        user_lower = {"user": user.lower()} if isinstance(user, str) else {}
        conn.subs[key] = {**sub, **user_lower}
        conn.send(
            _dumps(
                {
                    "channel": "subscriptionResponse",
                    "data": {"method": "subscribe", "subscription": sub},
                }
            )
        )
        for frame in initial:
            conn.send(frame)

    def _unsubscribe(self, conn: _Conn, sub: dict[str, Any]) -> None:
        if conn.subs.pop(_key(sub), None) is None:
            conn.error(f"Already unsubscribed: {_dumps(sub)}")
            return
        conn.send(
            _dumps(
                {
                    "channel": "subscriptionResponse",
                    "data": {"method": "unsubscribe", "subscription": sub},
                }
            )
        )

    def _initial(self, sub: dict[str, Any]) -> list[str] | None:
        """Frames a new subscriber gets first, or None when the subscription is invalid."""
        kind = sub.get("type")
        if kind == "allMids":
            dex = sub.get("dex") or ""
            return [self._mids_frame(dex)] if dex in self.venue.dexes else None
        coin, user = sub.get("coin"), sub.get("user")
        if kind in _COIN_FEEDS:
            ctx = self._ctx_frame(coin) if isinstance(coin, str) else None
            if ctx is None:
                return None
            if kind == "activeAssetCtx":
                return [ctx]
            recent = list(self._trades[str(coin)])[-RECENT_TRADES:]
            return [_trades_frame(recent)] if recent else []
        if kind in _USER_FEEDS and isinstance(user, str) and ADDRESS.fullmatch(user):
            if kind == "userEvents":
                return []
            series = self.venue._fills.get(user.lower())
            newest = series.items[-self.snapshot_fills :] if series and self.snapshot_fills else []
            fills = newest[::-1]
            data = {"isSnapshot": True, "user": user.lower(), "fills": fills}
            return [_dumps({"channel": "userFills", "data": data})]
        return None

    def _push_mids(self, dex: str) -> None:
        self._broadcast(lambda c: c.wants("allMids", dex=dex), self._mids_frame(dex))

    def _mids_frame(self, dex: str) -> str:
        return _dumps({"channel": "allMids", "data": {"mids": self.venue.dex(dex).mids()}})

    def _ctx_frame(self, coin: str) -> str | None:
        market = self.venue.dexes.get(coin.split(":", 1)[0] if ":" in coin else "")
        if market is None or coin not in market:
            return None
        ctx = market.ctxs[market.coins().index(coin)]
        return _dumps({"channel": "activeAssetCtx", "data": {"coin": coin, "ctx": ctx}})

    def _stream_fills(self, user: str, fills: list[dict[str, Any]]) -> None:
        data = {"user": user, "fills": fills}
        self._broadcast(
            lambda c: c.wants("userFills", user=user),
            _dumps({"channel": "userFills", "data": data}),
        )
        self._broadcast(
            lambda c: c.wants("userEvents", user=user),
            _dumps({"channel": "user", "data": {"fills": fills}}),
        )

    def _broadcast(self, match: Callable[[_Conn], bool], text: str) -> None:
        for conn in self._conns:
            if match(conn):
                conn.send(text)

    def _within_rate(self, ip: str) -> bool:
        now = time.monotonic()
        times = self._frame_times[ip]
        while times and times[0] <= now - 60:
            times.popleft()
        times.append(now)
        return len(times) <= MESSAGES_PER_MINUTE

    def _silenced(self) -> bool:
        return time.monotonic() < self._silent_until

    async def _write(self, conn: _Conn) -> None:
        while True:
            text = await conn.queue.get()
            if self._silenced() or conn.ws.closed:
                continue  # lost, as on a connection that has gone quiet
            try:
                await conn.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return
            conn.last_sent = time.monotonic()
            self.sent += 1
            if self._drop_after is not None:
                self._drop_after -= 1
                if self._drop_after <= 0:
                    self._drop_after = None
                    conn.abort()
                    return

    async def _watch_idle(self, conn: _Conn) -> None:
        while not conn.ws.closed:
            await asyncio.sleep(min(1.0, self.idle_close_s / 4))
            if not self._silenced() and time.monotonic() - conn.last_sent > self.idle_close_s:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await conn.ws.close(message=b"idle")
                return

    def _start_ticker(self) -> None:
        if self.mids_interval_s and not any(t.get_name() == "mids" for t in self._tasks):

            async def tick() -> None:
                while self._conns and self.mids_interval_s:
                    await asyncio.sleep(self.mids_interval_s)
                    for dex in list(self.venue.dexes):
                        self._push_mids(dex)

            self._spawn(tick()).set_name("mids")

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _wants_trades(conn: _Conn, *, coin: str) -> bool:
    return conn.wants("trades", coin=coin)


def _trades_frame(items: list[dict[str, Any]]) -> str:
    return _dumps({"channel": "trades", "data": items})


def _fill_id(fill: dict[str, Any]) -> tuple[Any, ...]:
    return (fill.get("time"), fill.get("tid"), fill.get("hash"), fill.get("oid"), fill.get("side"))
