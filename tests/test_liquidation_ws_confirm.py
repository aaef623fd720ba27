"""Confirmations over the WebSocket (a `userFills` snapshot, then unsubscribe) against the fake
venue's real `/ws` and REST: no REST weight when the snapshot answers, REST when no user slot is
free, the snapshot does not reach back or never comes; never more than 10 users at once (the fake
refuses an 11th as the venue does) and no slot left subscribed after a read.

A small reader stands in for the live engine's stream consumer: it hands snapshots and stream
states to the watch, as `tracker.app.live.engine` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import orjson

from tests.fakes.liquidations import Liquidated, Tape
from tests.test_liquidation_watch import (
    PX,
    Clock,
    context,
    fills_asked,
    new_watch,
    rows,
    until,
)
from tracker.app import fill_snapshots as fs
from tracker.app import liquidation_watch as lw
from tracker.app.liquidation_watch import LiquidationWatch
from tracker.app.runner import hyperliquid_poller
from tracker.config import Settings
from tracker.records import StreamStatus, UserFills
from tracker.sources.hyperliquid import client as hl
from tracker.sources.hyperliquid.stream import MAX_USERS, HyperliquidStream
from tracker.sources.hyperliquid.ws_parse import parse_trades
from tracker.store import open_store

X = "0x" + "a1" * 20
Z = "0x" + "c3" * 20
W = "0x" + "d4" * 20
TOO_MANY = f"Cannot track more than {MAX_USERS} total users."


def user(i: int) -> str:
    return f"0x{0xFEED0000 + i:040x}"


async def route(stream: HyperliquidStream, watch: LiquidationWatch, seen: list[int]) -> None:
    """What the engine's consumer does for the watch; records the users subscribed meanwhile."""
    async for event in stream:
        seen.append(len(stream.users))
        if isinstance(event, UserFills) and event.snapshot:
            watch.snapshots.on_snapshot(event)
        elif isinstance(event, StreamStatus):
            watch.snapshots.on_stream(event.state)


@contextlib.asynccontextmanager
async def confirming(
    hl_fake: Any, db: Any, *, ws_users: int, clock: Clock, weight: int = 300
) -> AsyncIterator[tuple[LiquidationWatch, HyperliquidStream, list[int]]]:
    with open_store(db):
        pass  # created and migrated
    settings = Settings(db_path=db, hl_api_url=hl_fake.url, http_retries=1)
    async with hyperliquid_poller(settings) as poller:
        watch = new_watch(poller.client, db, weight=weight, clock=clock, ws_users=ws_users)
        async with HyperliquidStream(poller.client.session, hl_fake.ws_url) as stream:
            watch.attach_stream(stream)
            seen: list[int] = []
            reader = asyncio.create_task(route(stream, watch, seen))
            stop = asyncio.Event()
            task = asyncio.create_task(watch.run(stop))
            try:
                await until(lambda: watch.snapshots.connected)
                yield watch, stream, seen
            finally:
                stop.set()
                for t in (task, reader):
                    t.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await t


def liquidation_rows(db: Any) -> list[tuple[Any, ...]]:
    return sorted(rows(db, "select address, coin, side, notional_usd, sources from liquidations"))


def fill_rows(db: Any) -> list[tuple[Any, ...]]:
    return sorted(rows(db, "select address, coin, time_ms, size from fills"))


def ordinary_fills(template: dict[str, Any], start_ms: int, n: int) -> list[dict[str, Any]]:
    """n fills of no liquidation, one ms apart from start_ms (other hashes, other trades)."""
    out = []
    for i in range(n):
        fill = {**template, "time": start_ms + i, "tid": 10**12 + start_ms + i, "oid": 10**9 + i}
        fill["hash"] = "0x" + format(0x5EED0000 + start_ms + i, "064x")
        fill.pop("liquidation", None)
        out.append(fill)
    return out


async def test_a_candidate_confirmed_from_the_snapshot_spends_no_rest_weight(hl_fake, tmp_path):
    tape, clock, db = Tape(hl_fake), Clock(), tmp_path / "w.duckdb"
    x = Liquidated(user=X, coin="BTC")
    tape.slice(x, long=True, px=PX, size="30", mark_px=PX)  # $2.52M
    async with confirming(hl_fake, db, ws_users=3, clock=clock) as (watch, stream, _):
        watch.on_trades(parse_trades(x.trades))
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.stats.confirmed == 1 and watch.stats.episodes == 1)
        await until(lambda: hl_fake.ws.subscribers("userFills", user=X) == 0)
        assert stream.users == frozenset()
        status = watch.status()
    assert fills_asked(hl_fake) == []
    assert watch.limiter.total_weight == hl.request_weight("vaultDetails")  # HLP's children only
    assert (status["confirmed_ws"], status["confirmed_rest"], status["ws_reads"]) == (1, 0, 1)
    assert status["ws_messages_last_min"] == 2  # one subscribe, one unsubscribe
    sent = [m for m in hl_fake.ws.received if isinstance(m, dict) and m.get("method") != "ping"]
    assert [(m["method"], m["subscription"]) for m in sent] == [
        ("subscribe", {"type": "userFills", "user": X}),
        ("unsubscribe", {"type": "userFills", "user": X}),
    ]
    assert liquidation_rows(db) == [(X, "BTC", "long", x.notional_usd, "fills,tape")]


async def test_the_snapshot_and_rest_store_the_same_fills_and_episodes(hl_fake, tmp_path):
    """The snapshot holds fills outside the read's window (an old liquidation, later ordinary
    fills): only the window's count, as userFillsByTime would return them."""
    tape = Tape(hl_fake)
    x = Liquidated(user=X, coin="BTC")
    tape.slice(x, long=True, px=PX, size="30", mark_px=PX)
    tape.slice(x, long=True, px=PX - 50, size="5", mark_px=PX - 50)
    own = list(hl_fake._fills[X].items)
    first = min(f["time"] for f in own)
    old = {**own[0], "time": first - lw.LOOKBACK_MS - 60_000, "tid": 1, "hash": "0x" + "77" * 32}
    later = ordinary_fills(own[0], first + lw.MARGIN_MS + 10_000, 3)
    tape.add_fills(X, [old, *later])
    results = []
    for ws_users in (0, 3):
        clock, db = Clock(), tmp_path / f"w{ws_users}.duckdb"
        async with confirming(hl_fake, db, ws_users=ws_users, clock=clock) as (watch, _, _):
            watch.on_trades(parse_trades(x.trades))
            clock.now += lw.CONFIRM_DELAY_S
            await until(lambda: watch.stats.confirmed == 2 and watch.stats.episodes == 1)
        via = (watch.stats.confirmed_ws, watch.stats.confirmed_rest)
        results.append((via, liquidation_rows(db), fill_rows(db)))
    (rest_via, rest_eps, rest_fills), (ws_via, ws_eps, ws_fills) = results
    assert (rest_via, ws_via) == ((0, 2), (2, 0))
    assert ws_eps == rest_eps and len(ws_eps) == 1
    assert ws_fills == rest_fills and len(ws_fills) == 6  # the two slices' fills, each once


async def test_every_user_slot_taken_means_rest_after_a_short_wait(hl_fake, tmp_path):
    tape, clock, db = Tape(hl_fake), Clock(), tmp_path / "w.duckdb"
    x = Liquidated(user=X, coin="BTC")
    tape.slice(x, long=True, px=PX, size="30", mark_px=PX)
    async with confirming(hl_fake, db, ws_users=3, clock=clock) as (watch, stream, _):
        for i in range(MAX_USERS):  # the stream's ten users all taken (here by the test)
            stream.subscribe_user(user(i))
        watch.on_trades(parse_trades(x.trades))
        clock.now += lw.CONFIRM_DELAY_S
        await asyncio.sleep(0.3)
        assert watch.stats.confirmed == 0 and fills_asked(hl_fake) == []  # waiting for a slot
        clock.now += lw.SLOT_WAIT_S
        await until(lambda: watch.stats.confirmed == 1)
    assert fills_asked(hl_fake) == [X]
    assert (watch.stats.confirmed_ws, watch.stats.confirmed_rest) == (0, 1)


async def test_an_account_the_engine_follows_is_read_over_rest(hl_fake, tmp_path):
    tape, clock, db = Tape(hl_fake), Clock(), tmp_path / "w.duckdb"
    x = Liquidated(user=X, coin="BTC")
    tape.slice(x, long=True, px=PX, size="30", mark_px=PX)
    async with confirming(hl_fake, db, ws_users=3, clock=clock) as (watch, stream, _):
        stream.subscribe_user(X)  # both feeds, as the engine follows it
        watch.on_trades(parse_trades(x.trades))
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.stats.confirmed == 1)
        assert stream.users == frozenset({X})  # the engine's subscription is left alone
    assert fills_asked(hl_fake) == [X]


async def test_the_venue_refusing_an_11th_user_falls_back_to_rest(hl_fake, tmp_path):
    """Another client of this IP holds the venue's ten users: our subscribes are refused with the
    venue's error, no snapshot comes, the reads go over REST and later ones skip the WebSocket
    for a while."""
    tape, clock, db = Tape(hl_fake), Clock(), tmp_path / "w.duckdb"
    x = Liquidated(user=X, coin="BTC")
    tape.slice(x, long=True, px=PX, size="30", mark_px=PX)
    z = Liquidated(user=Z, coin="ETH")
    tape.slice(z, long=False, px="2500", size="100", mark_px="2500")
    w = Liquidated(user=W, coin="BTC")
    others = [user(i) for i in range(MAX_USERS)]
    async with aiohttp.ClientSession() as session, session.ws_connect(hl_fake.ws_url) as other:
        for u in others:
            sub = {"type": "userFills", "user": u}
            await other.send_str(
                orjson.dumps({"method": "subscribe", "subscription": sub}).decode()
            )
        await until(lambda: all(hl_fake.ws.subscribers("userFills", user=u) for u in others))
        async with confirming(hl_fake, db, ws_users=3, clock=clock) as (watch, stream, _):
            watch.on_trades(parse_trades([*x.trades, *z.trades]))
            clock.now += lw.CONFIRM_DELAY_S
            await until(lambda: watch.stats.confirmed == 2, timeout=fs.SNAPSHOT_WAIT_S + 10)
            assert TOO_MANY in stream.venue_errors
            assert stream.users == frozenset()
            assert sorted(fills_asked(hl_fake)) == sorted([X, Z])  # both tried at once
            tape.slice(w, long=True, px=PX, size="30", mark_px=PX)
            watch.on_trades(parse_trades(w.trades))
            clock.now += lw.CONFIRM_DELAY_S
            await until(lambda: watch.stats.confirmed == 3, timeout=fs.SNAPSHOT_WAIT_S - 1)
    assert fills_asked(hl_fake)[-1] == W  # straight to REST: WebSocket reads paused
    assert (watch.stats.ws_fallbacks, watch.snapshots.timeouts) == (2, 2)
    assert (watch.stats.confirmed_ws, watch.stats.confirmed_rest) == (0, 3)


async def test_a_snapshot_that_does_not_reach_the_trade_falls_back_to_rest(hl_fake, tmp_path):
    tape, clock, db = Tape(hl_fake), Clock(), tmp_path / "w.duckdb"
    hl_fake.ws.snapshot_fills = fs.WHOLE_BELOW  # the venue sends only the newest fills
    x = Liquidated(user=X, coin="BTC")
    tape.slice(x, long=True, px=PX, size="30", mark_px=PX)
    template = hl_fake._fills[X].items[0]
    tape.add_fills(X, ordinary_fills(template, template["time"] + 1, fs.WHOLE_BELOW + 100))
    async with confirming(hl_fake, db, ws_users=3, clock=clock) as (watch, stream, _):
        watch.on_trades(parse_trades(x.trades))
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.stats.confirmed == 1 and watch.stats.episodes == 1)
        assert stream.users == frozenset()
    assert fills_asked(hl_fake) == [X]
    assert watch.snapshots.short == 1 and watch.stats.ws_fallbacks == 1
    assert liquidation_rows(db) == [(X, "BTC", "long", x.notional_usd, "fills,tape")]


async def test_many_confirmations_never_hold_more_than_ten_users_nor_leak_one(hl_fake, tmp_path):
    tape, clock, db = Tape(hl_fake), Clock(), tmp_path / "w.duckdb"
    engine_users = [user(i) for i in range(MAX_USERS - 3)]  # what the engine keeps
    victims = [Liquidated(user=user(100 + i), coin="BTC") for i in range(30)]
    for v in victims:
        tape.slice(v, long=True, px=PX, size="3", mark_px=PX)  # $252k each
    async with confirming(hl_fake, db, ws_users=3, clock=clock) as (watch, stream, seen):
        for u in engine_users:
            stream.subscribe_user(u)
        watch.on_trades(parse_trades([t for v in victims for t in v.trades]))
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.stats.episodes == len(victims), timeout=30)
        await until(lambda: stream.users == frozenset(engine_users))
        assert not any(TOO_MANY in e for e in stream.venue_errors)
    assert max(seen) <= MAX_USERS
    assert fills_asked(hl_fake) == []
    assert watch.stats.confirmed_ws == len(victims)
    assert watch.snapshots.messages.used_in_window() == 2 * len(victims)
    assert all(hl_fake.ws.subscribers("userFills", user=v.user) == 0 for v in victims)
    assert len(liquidation_rows(db)) == len(victims)


async def test_the_engine_follows_ten_users_less_the_watchs_share(hl_fake, tmp_path):
    """Twelve tracked accounts: the engine follows the 7 taken per user, 3 slots stay free
    for the watch's reads, and one the watch reads right now is left to it until it is done."""
    from tracker.app.live.engine import LiveEngine
    from tracker.app.live.scheduler import SchedulerConfig
    from tracker.app.poller import HyperliquidPoller
    from tracker.app.snapshot_pass import snapshot_pass

    accounts = [user(200 + i) for i in range(12)]
    for i, a in enumerate(accounts):
        position = {"coin": "ETH", "size": str(1 + i), "entry_px": "2900", "leverage": 5}
        hl_fake.put_model_account(a, "100000", positions=[{**position, "margin_mode": "cross"}])
    db = tmp_path / "e.duckdb"
    with open_store(db):
        pass
    settings = Settings(db_path=db, hl_api_url=hl_fake.url, http_retries=1)
    alerting = dataclasses.replace(context(), near_levels_pct=(Decimal(5), Decimal(2)))
    async with hyperliquid_poller(settings) as poller:
        client = poller.client
        watch = new_watch(client, db, weight=300, clock=time.monotonic, ws_users=3)
        live_poller = HyperliquidPoller(client)

        async def run_pass(batch: Any) -> Any:
            return await snapshot_pass(live_poller, db, batch, command="run", alerting=alerting)

        async with HyperliquidStream(client.session, hl_fake.ws_url) as stream:
            engine = LiveEngine(
                poller=live_poller,
                stream=stream,
                run_pass=run_pass,
                addresses=accounts,
                db=db,
                alerting=alerting,
                sinks=[],
                config=SchedulerConfig(max_staleness_s=600.0),
                liquidations=watch,
            )
            stop = asyncio.Event()
            task = asyncio.create_task(engine.run(stop))
            try:
                await until(lambda: len(stream.users) == MAX_USERS - 3, timeout=30)
                followed = set(stream.users)
                assert followed <= set(accounts)
                await until(
                    lambda: all(hl_fake.ws.subscribers("userEvents", user=a) for a in followed)
                )
                # one the engine dropped is being read by the watch: the engine waits for it
                (taken, *_) = sorted(followed)
                stream.unsubscribe_user(taken)
                engine._users.discard(taken)
                stream.subscribe_user(taken, fs.FEEDS)  # as a read does
                engine._follow_users()
                assert taken not in engine._users and len(stream.users) <= MAX_USERS
                stream.unsubscribe_user(taken)  # the read is done
                engine._follow_users()
                assert taken in engine._users and stream.users == followed
                assert not any(TOO_MANY in e for e in stream.venue_errors)
            finally:
                stop.set()
                async with asyncio.timeout(10):
                    await task
