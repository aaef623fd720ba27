"""The Hyperliquid WebSocket stream against the fake venue's `/ws` (real server, real client).

Short intervals stand in for the venue's 50 s ping and 60 s idle limits. Pure parse_* tests use
the shapes of shared/reference/hyperliquid.md §2.4 and the recorded liquidator fills.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio

from tests.fakes import seed
from tests.fakes.hyperliquid import FakeHyperliquid
from tests.fakes.wire import as_bytes
from tests.fakes.ws import ETH_SLIDE_2026, compress
from tracker.errors import BadAddress, VenueResponseError
from tracker.net.limiter import WeightLimiter
from tracker.records import (
    AssetCtxUpdate,
    MidsUpdate,
    StreamStatus,
    Trade,
    UserFills,
    UserLiquidation,
)
from tracker.sources.hyperliquid.history import parse_fills
from tracker.sources.hyperliquid.stream import (
    MAX_SUBSCRIPTIONS,
    HyperliquidStream,
    StreamEvent,
    StreamLimitError,
    backoff_delay,
)
from tracker.sources.hyperliquid.ws_parse import (
    parse_all_mids,
    parse_asset_ctx,
    parse_frame,
    parse_trades,
    parse_user_event,
    parse_user_fills,
)

USER = seed.SDK_FILLS_USER  # 500 recorded fills
BUYER, SELLER = seed.CROSS_LONG_2024, seed.CROSS_SHORT_SOL
FAST = {"ping_interval_s": 0.2, "idle_timeout_s": 1.0, "reconnect_min_s": 0.05}
FAST_RECONNECT = {**FAST, "reconnect_max_s": 0.2}
NOW = datetime(2026, 1, 30, tzinfo=UTC)


class Recorder:
    """Reads a stream in the background and keeps every event, for waiting and counting."""

    def __init__(self, stream: HyperliquidStream) -> None:
        self.stream = stream
        self.events: list[StreamEvent] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for event in self.stream:
            self.events.append(event)
            self._changed.set()

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def statuses(self) -> list[str]:
        return [s.state for s in self.of(StreamStatus)]

    async def wait_for(
        self,
        kind: type[Any],
        match: Callable[[Any], bool] = lambda e: True,
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[Any]:
        """The first `count` events of `kind` matching, waiting up to `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while True:
                found = [e for e in self.of(kind) if match(e)]
                if len(found) >= count:
                    return found[:count]
                self._changed.clear()
                await self._changed.wait()

    async def stop(self) -> None:
        await self.stream.close()
        await self._task


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll a condition on the fake every 10 ms (the fake has no event to wait on)."""
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeHyperliquid]:
    async with FakeHyperliquid.seeded() as venue:
        venue.ws.mids_interval_s = None  # mids only when a mark moves, unless a test says so
        yield venue


@pytest_asyncio.fixture
async def open_stream(
    fake: FakeHyperliquid, session: aiohttp.ClientSession
) -> AsyncIterator[Callable[..., Recorder]]:
    recorders: list[Recorder] = []

    def make(**options: Any) -> Recorder:
        stream = HyperliquidStream(session, fake.ws_url, **{**FAST_RECONNECT, **options})
        recorders.append(Recorder(stream))
        return recorders[-1]

    yield make
    for recorder in recorders:
        await recorder.stop()


def rest_fills(fake: FakeHyperliquid) -> list[dict[str, Any]]:
    """What REST `userFills` answers for USER now (newest first)."""
    fills: list[dict[str, Any]] = orjson.loads(
        as_bytes(fake.answer({"type": "userFills", "user": USER}).data)
    )
    return fills


def fill(time_ms: int, tid: int, coin: str = "ETH") -> dict[str, Any]:
    return {
        "coin": coin,
        "px": "2500.5",
        "sz": "1.2",
        "side": "B",
        "time": time_ms,
        "startPosition": "0.0",
        "dir": "Open Long",
        "closedPnl": "0.0",
        "hash": "0x" + "ab" * 32,
        "oid": tid + 1,
        "crossed": True,
        "fee": "0.9",
        "tid": tid,
        "feeToken": "USDC",
    }


# --- feeds -----------------------------------------------------------------------------------


async def test_mids_and_exact_mark_follow_set_mark(fake: FakeHyperliquid, open_stream) -> None:
    rec = open_stream()
    rec.stream.subscribe_mids()
    rec.stream.subscribe_mids("flx")
    rec.stream.subscribe_asset_ctx("ETH")
    first = (await rec.wait_for(MidsUpdate, lambda m: m.dex == ""))[0]
    assert first.mids["ETH"] == fake.dex().mark("ETH")
    await until(lambda: fake.ws.subscribers("activeAssetCtx", coin="ETH") == 1)

    fake.set_mark("ETH", "2500.5")
    mids = await rec.wait_for(MidsUpdate, lambda m: m.mids.get("ETH") == Decimal("2500.5"))
    assert mids[0].dex == "" and "BTC" in mids[0].mids
    ctx = await rec.wait_for(AssetCtxUpdate, lambda c: c.mark_px == Decimal("2500.5"))
    assert ctx[0].coin == "ETH" and ctx[0].oracle_px is not None

    # A HIP-3 dex: its mids carry its dex, and REST still re-renders the modelled account there.
    before = fake.clearinghouse_state(seed.HIP3_FLX, "flx")
    fake.set_mark("flx:CRCL", "150", dex="flx")
    flx = await rec.wait_for(MidsUpdate, lambda m: m.mids.get("flx:CRCL") == Decimal("150"))
    assert flx[0].dex == "flx"
    after = fake.clearinghouse_state(seed.HIP3_FLX, "flx")
    assert after["marginSummary"]["accountValue"] != before["marginSummary"]["accountValue"]


async def test_trades_name_buyer_and_seller(fake: FakeHyperliquid, open_stream) -> None:
    rec = open_stream()
    rec.stream.subscribe_trades("ETH")
    await until(lambda: fake.ws.subscribers("trades", coin="ETH") == 1)
    sent = fake.ws.trade("ETH", "2450.25", "12.5", BUYER.upper().replace("0X", "0x"), SELLER)
    fake.ws.trade("BTC", "90000", "1", BUYER, SELLER)  # not subscribed
    trade = (await rec.wait_for(Trade))[0]
    assert (trade.coin, trade.side, trade.px, trade.size) == (
        "ETH",
        "buy",
        Decimal("2450.25"),
        Decimal("12.5"),
    )
    assert (trade.buyer, trade.seller) == (BUYER, SELLER)
    assert (trade.tid, trade.time_ms, trade.hash) == (sent["tid"], sent["time"], sent["hash"])
    # One connection delivers in order: once a later ETH trade is here, a BTC one would be too.
    marker = fake.ws.trade("ETH", "2451", "1", BUYER, SELLER)
    await rec.wait_for(Trade, lambda t: t.tid == marker["tid"])
    assert [t.coin for t in rec.of(Trade)] == ["ETH", "ETH"]


async def test_user_fills_snapshot_then_updates(fake: FakeHyperliquid, open_stream) -> None:
    rec = open_stream()
    assert rec.stream.subscribe_user(USER.upper().replace("0X", "0x"))
    snapshot = (await rec.wait_for(UserFills))[0]
    rest = parse_fills(rest_fills(fake), USER)
    assert snapshot.snapshot and snapshot.user == USER
    assert len(snapshot.fills) == 500 and set(snapshot.fills) == set(rest)

    fake.ws.push_fills(USER, [fill(1_769_800_000_000, 1)])
    pushed = (await rec.wait_for(UserFills, lambda u: not u.snapshot))[0]
    assert [f.tid for f in pushed.fills] == [1] and pushed.fills[0].address == USER
    assert rest_fills(fake)[0]["tid"] == 1  # REST sees the pushed fill too (backfill after a gap)

    everything = rest_fills(fake)
    fake.put_fills(USER, [*everything, fill(1_769_800_001_000, 2), fill(1_769_800_002_000, 3)])
    update = (await rec.wait_for(UserFills, lambda u: not u.snapshot, count=2))[1]
    assert sorted(f.tid for f in update.fills) == [2, 3]
    # userEvents carries the same fills without naming the user: they are not emitted twice.
    # The venue sends them after each userFills frame, so once a later fill is here, they are.
    fake.ws.push_fills(USER, [fill(1_769_800_003_000, 4)])
    await rec.wait_for(UserFills, lambda u: [f.tid for f in u.fills] == [4])
    assert [sorted(f.tid for f in u.fills) for u in rec.of(UserFills)[1:]] == [[1], [2, 3], [4]]


async def test_liquidation_events(fake: FakeHyperliquid, open_stream) -> None:
    rec = open_stream()
    rec.stream.subscribe_user(USER)
    rec.stream.subscribe_user(BUYER)
    await until(lambda: fake.ws.subscribers("userEvents", user=BUYER) == 1)
    event = fake.ws.push_liquidation(
        BUYER, notional_usd="12500000.5", account_value_usd="310000", lid=77
    )
    fake.ws.push_liquidation(
        seed.EMPTY_ACCOUNT, notional_usd="1", account_value_usd="1"
    )  # nobody listens
    liq = (await rec.wait_for(UserLiquidation))[0]
    assert liq.user == BUYER and liq.liquidation_id == 77
    assert liq.liquidator == event["liquidator"] == seed.HLP_LIQUIDATOR
    assert liq.liquidated_notional_usd == Decimal("12500000.5")
    assert liq.liquidated_account_value_usd == Decimal("310000")
    fake.ws.push_liquidation(BUYER, notional_usd="2", account_value_usd="1", lid=78)  # in order
    await rec.wait_for(UserLiquidation, lambda e: e.liquidation_id == 78)
    assert [(e.user, e.liquidation_id) for e in rec.of(UserLiquidation)] == [
        (BUYER, 77),
        (BUYER, 78),
    ]


async def test_unsubscribe_user_stops_its_feeds(fake: FakeHyperliquid, open_stream) -> None:
    rec = open_stream()
    rec.stream.subscribe_user(BUYER)
    await until(lambda: fake.ws.subscribers("userFills", user=BUYER) == 1)
    assert rec.stream.unsubscribe_user(BUYER) and not rec.stream.unsubscribe_user(BUYER)
    await until(lambda: fake.ws.subscribers("userEvents", user=BUYER) == 0)
    assert rec.stream.subscriptions == []
    fake.ws.push_fills(BUYER, [fill(1_769_800_000_000, 9)])
    # Anything the push sent is ahead of the next frame on the connection: the ack below.
    rec.stream.subscribe_trades("ETH")
    await until(lambda: fake.ws.subscribers("trades", coin="ETH") == 1)
    marker = fake.ws.trade("ETH", "2400", "1", BUYER, SELLER)
    await rec.wait_for(Trade, lambda t: t.tid == marker["tid"])
    assert [u.snapshot for u in rec.of(UserFills)] == [True]


# --- connection ------------------------------------------------------------------------------


async def test_heartbeat_keeps_a_quiet_connection_alive(fake: FakeHyperliquid, open_stream):
    fake.ws.idle_close_s = 0.4  # the venue: 60 s without a frame to the client
    rec = open_stream(ping_interval_s=0.1, idle_timeout_s=0.5)
    rec.stream.subscribe_trades("BTC")  # nothing trades: only pongs come back
    await rec.wait_for(StreamStatus)
    await until(lambda: fake.ws.pings >= 16)  # 0.1 s apart: four idle limits of the venue
    assert rec.statuses() == ["connected"]
    assert fake.ws.connects == 1

    # Without pings the same quiet connection is closed and the stream comes back.
    lazy = open_stream(ping_interval_s=30, idle_timeout_s=30)
    lazy.stream.subscribe_trades("BTC")
    gone = await lazy.wait_for(StreamStatus, lambda s: s.state == "disconnected")
    assert "closed by the venue" in (gone[0].reason or "")


async def test_silence_is_treated_as_a_dead_connection(fake: FakeHyperliquid, open_stream):
    rec = open_stream(idle_timeout_s=0.4, ping_interval_s=0.1)
    rec.stream.subscribe_mids()
    await rec.wait_for(MidsUpdate)
    fake.ws.silence(0.6)  # no frames at all, not even pongs
    down = await rec.wait_for(StreamStatus, lambda s: s.state == "disconnected")
    assert down[0].reason == "no message for 0.4 s"
    await rec.wait_for(StreamStatus, lambda s: s.state == "connected" and s.reconnects >= 1)
    await until(lambda: fake.ws.subscribers("allMids") == 1 and fake.ws.connections == 1)
    delivered = fake.ws.sent  # frames actually written; none are while the venue is silent
    await until(lambda: fake.ws.sent > delivered)  # a frame (a pong) went out: silence is over
    fake.set_mark("ETH", "2222")
    await rec.wait_for(MidsUpdate, lambda m: m.mids["ETH"] == Decimal("2222"))


async def test_disconnect_reconnects_resubscribes_and_drops_replayed_trades(
    fake: FakeHyperliquid, open_stream
) -> None:
    rec = open_stream()
    rec.stream.subscribe_trades("ETH")
    rec.stream.subscribe_user(USER)
    await until(lambda: fake.ws.subscribers("trades", coin="ETH") == 1)
    for i in range(3):
        fake.ws.trade("ETH", 2400 + i, 1, BUYER, SELLER)
    await rec.wait_for(Trade, count=3)

    fake.ws.disconnect_all()
    back = await rec.wait_for(StreamStatus, lambda s: s.state == "connected" and s.reconnects)
    assert back[0].reconnects == 1
    assert rec.statuses()[:4] == ["connected", "disconnected", "reconnecting", "connected"]
    assert rec.of(StreamStatus)[1].reason == "connection lost"
    # Everything resubscribed; the venue replays recent trades and the fill snapshot.
    await until(lambda: fake.ws.subscribers("trades", coin="ETH") == 1)
    snapshots = await rec.wait_for(UserFills, lambda u: u.snapshot, count=2)
    assert {len(s.fills) for s in snapshots} == {500}
    subscribes = [
        m["subscription"]["type"]
        for m in fake.ws.received
        if isinstance(m, dict) and m.get("method") == "subscribe"
    ]
    assert sorted(subscribes) == sorted(["trades", "userFills", "userEvents"] * 2)

    fake.ws.trade("ETH", 2500, 1, BUYER, SELLER)
    trades = await rec.wait_for(Trade, count=4)
    marker = fake.ws.trade("ETH", 2501, 1, BUYER, SELLER)  # after it, every replay has come in
    await rec.wait_for(Trade, lambda t: t.tid == marker["tid"])
    keys = [(t.coin, t.tid, t.time_ms) for t in rec.of(Trade)]
    assert len(keys) == len(set(keys)) == 5 and trades[-1].px == Decimal(2500)
    assert rec.stream.duplicate_trades == 3


async def test_drop_mid_stream(fake: FakeHyperliquid, open_stream) -> None:
    rec = open_stream()
    rec.stream.subscribe_mids()
    await rec.wait_for(MidsUpdate)
    path = fake.ws.mark_path("ETH", [(0, 3000), (1.5, 2000)], step_s=0.02)
    fake.ws.drop_after(5)  # the connection dies after five more frames, mid-path
    await rec.wait_for(StreamStatus, lambda s: s.state == "connected" and s.reconnects == 1)
    reconnected_at = len(rec.events)
    await path
    last = await rec.wait_for(MidsUpdate, lambda m: m.mids["ETH"] == Decimal(2000))
    assert rec.events.index(last[0]) > reconnected_at
    assert rec.statuses()[:4] == ["connected", "disconnected", "reconnecting", "connected"]


async def test_garbage_frames_are_logged_and_skipped(fake: FakeHyperliquid, open_stream, caplog):
    rec = open_stream()
    rec.stream.subscribe_trades("ETH")
    await until(lambda: fake.ws.subscribers("trades", coin="ETH") == 1)
    for junk in (
        "not json",
        "[1, 2]",
        '{"data": {}}',
        '{"channel":"trades","data":[{"coin":"ETH","side":"X","px":"1","sz":"1"}]}',
        '{"channel":"allMids","data":{"mids":{"ETH":"abc"}}}',
        '{"channel":"user","data":{"liquidation":{"lid":1}}}',
    ):
        fake.ws.send_raw(junk)
    fake.ws.send_raw('{"channel":"l2Book","data":{"coin":"ETH"}}')  # a feed we ignore: fine
    fake.ws.send_raw('{"channel":"error","data":"Invalid subscription {}"}')
    fake.ws.trade("ETH", 2400, 1, BUYER, SELLER)
    await rec.wait_for(Trade)
    assert rec.stream.bad_messages == 6
    assert list(rec.stream.venue_errors) == ["Invalid subscription {}"]
    assert rec.statuses() == ["connected"]
    assert "skipped a Hyperliquid WebSocket frame" in caplog.text


async def test_malformed_trades_are_skipped_with_one_line_naming_the_key(
    fake: FakeHyperliquid, open_stream, caplog
):
    rec = open_stream()
    rec.stream.subscribe_trades("ETH")
    await until(lambda: fake.ws.subscribers("trades", coin="ETH") == 1)
    trade = {"coin": "ETH", "side": "B", "px": "2400", "sz": "1", "time": 1, "tid": 9}
    malformed = {
        "'tid'": {k: v for k, v in trade.items() if k != "tid"},  # a required key missing
        "'px' is a list": {**trade, "px": ["2400"]},  # the wrong JSON type
        "a trade is null": None,  # null where an object is required
        "'time' is not a whole number": {**trade, "time": "soon"},
    }
    for bad in malformed.values():
        fake.ws.send_raw(orjson.dumps({"channel": "trades", "data": [bad]}).decode())
    fake.ws.trade("ETH", 2400, 1, BUYER, SELLER)
    await rec.wait_for(Trade)
    assert rec.stream.bad_messages == len(malformed)
    skipped = [r.getMessage() for r in caplog.records if "skipped a Hyperliquid" in r.getMessage()]
    assert len(skipped) == len(malformed)
    for line, named in zip(skipped, malformed, strict=True):
        assert "\n" not in line and named in line and "request=trades" in line, line


async def test_unreachable_venue_keeps_retrying(session: aiohttp.ClientSession) -> None:
    stream = HyperliquidStream(session, "ws://127.0.0.1:9/ws", **FAST_RECONNECT)
    rec = Recorder(stream)
    tries = await rec.wait_for(StreamStatus, count=3)
    assert {s.state for s in tries} == {"reconnecting"}
    assert all((s.reason or "").startswith("connect failed") for s in tries)
    await rec.stop()


# --- limits ----------------------------------------------------------------------------------


async def test_ten_user_limit_on_the_client(session: aiohttp.ClientSession) -> None:
    stream = HyperliquidStream(session, "ws://127.0.0.1:9/ws")  # never started
    users = [f"0x{i:040x}" for i in range(1, 12)]
    for user in users[:10]:
        assert stream.subscribe_user(user)
    assert not stream.subscribe_user(users[0].upper().replace("0X", "0x"))
    with pytest.raises(StreamLimitError, match="more than 10 users"):
        stream.subscribe_user(users[10])
    assert users[10] not in stream.users and len(stream.subscriptions) == 20
    stream.unsubscribe_user(users[0])
    assert stream.subscribe_user(users[10])
    with pytest.raises(BadAddress):
        stream.subscribe_user("0x123")


async def test_subscription_cap_on_the_client(session: aiohttp.ClientSession) -> None:
    stream = HyperliquidStream(session, "ws://127.0.0.1:9/ws")
    for i in range(MAX_SUBSCRIPTIONS):
        stream.subscribe_trades(f"C{i}")
    assert not stream.subscribe_trades("C0")
    with pytest.raises(StreamLimitError):
        stream.subscribe_mids()


async def test_ten_user_limit_on_the_fake_spans_connections(
    fake: FakeHyperliquid, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(fake.ws_url) as one, session.ws_connect(fake.ws_url) as two:
        assert await one.receive_str() == "Websocket connection established."
        await two.receive_str()
        for i in range(11):
            ws = one if i < 6 else two
            sub = {"type": "userFills", "user": f"0x{i + 1:040x}"}
            await ws.send_json({"method": "subscribe", "subscription": sub})
            while True:  # the ack, then the snapshot
                frame = orjson.loads(await ws.receive_str())
                if frame["channel"] in ("userFills", "error"):
                    break
            if i < 10:
                assert frame["channel"] == "userFills" and frame["data"]["isSnapshot"] is True
        assert frame == {"channel": "error", "data": "Cannot track more than 10 total users."}
        await one.send_json({"method": "ping"})
        assert await one.receive_json() == {"channel": "pong"}
        dup = {"type": "userFills", "user": f"0x{1:040x}"}
        await one.send_json({"method": "subscribe", "subscription": dup})
        assert (await one.receive_json())["data"].startswith("Already subscribed")


async def test_trades_of_one_block_go_out_in_one_frame_per_coin(
    fake: FakeHyperliquid, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(fake.ws_url) as ws:
        await ws.receive_str()  # the greeting
        for coin in ("ETH", "BTC"):
            sub = {"type": "trades", "coin": coin}
            await ws.send_json({"method": "subscribe", "subscription": sub})
            ack = orjson.loads(await ws.receive_str())
            assert ack["channel"] == "subscriptionResponse"
        with fake.ws.block():
            first = fake.ws.trade("ETH", "2450", "1", BUYER, SELLER)
            fake.ws.trade("BTC", "90000", "2", BUYER, SELLER)
            last = fake.ws.trade("ETH", "2451", "3", SELLER, BUYER)
        alone = fake.ws.trade("ETH", "2452", "4", BUYER, SELLER)
        frames = [orjson.loads(await ws.receive_str()) for _ in range(3)]
        tids = [[t["tid"] for t in f["data"]] for f in frames if f["channel"] == "trades"]
        assert sorted(tids[:2]) == sorted([[first["tid"], last["tid"]], [first["tid"] + 1]])
        assert tids[2] == [alone["tid"]]


async def test_a_timed_block_dates_its_trades_at_its_close(
    fake: FakeHyperliquid, session: aiohttp.ClientSession
) -> None:
    """bench/universe.py makes a block for a while: its trades carry the time it went out, as
    the venue's carry their block's, unless a trade was given its own."""
    async with session.ws_connect(fake.ws_url) as ws:
        await ws.receive_str()  # the greeting
        sub = {"type": "trades", "coin": "ETH"}
        await ws.send_json({"method": "subscribe", "subscription": sub})
        assert orjson.loads(await ws.receive_str())["channel"] == "subscriptionResponse"
        with fake.ws.block(timed_at_close=True):
            made = fake.ws.trade("ETH", "2450", "1", BUYER, SELLER)
            given = fake.ws.trade("ETH", "2451", "2", BUYER, SELLER, time_ms=1_700_000_000_000)
            await asyncio.sleep(0.05)  # a block that takes 50 ms to make
            closed_at = time.time_ns() // 1_000_000
        frame = orjson.loads(await ws.receive_str())
        times = {t["tid"]: t["time"] for t in frame["data"]}
        assert closed_at <= times[made["tid"]] <= closed_at + 20
        assert times[given["tid"]] == 1_700_000_000_000


async def test_marks_go_ahead_of_a_backlog_of_trades(
    fake: FakeHyperliquid, session: aiohttp.ClientSession
) -> None:
    """A reader behind the tape gets the new marks first (they are absolute: order does not
    change the book, only how stale its marks are), then the trades in their order."""
    async with HyperliquidStream(session, fake.ws_url, **FAST_RECONNECT) as stream:
        stream.subscribe_trades("ETH")
        stream.subscribe_mids()
        stream.start()  # read, but nobody takes the records yet
        await until(lambda: fake.ws.subscribers("trades", coin="ETH") == 1)
        await until(lambda: fake.ws.subscribers("allMids") == 1)
        await until(lambda: stream.backlog() >= 2)  # connected, the first mids
        sent = [fake.ws.trade("ETH", "2450", "1", BUYER, SELLER) for _ in range(50)]
        await until(lambda: stream.backlog() >= 52)
        fake.set_mark("ETH", "2399.5")
        await until(lambda: stream.backlog() >= 53)
        seen: list[StreamEvent] = []
        async with asyncio.timeout(5):
            async for event in stream:
                seen.append(event)
                if len([e for e in seen if isinstance(e, Trade)]) == len(sent):
                    break
    kinds = [type(e).__name__ for e in seen]
    moved = next(
        i for i, e in enumerate(seen) if isinstance(e, MidsUpdate) and "2399.5" in str(e.mids)
    )
    assert moved < kinds.index("Trade"), kinds  # ahead of every trade already waiting
    assert [e.tid for e in seen if isinstance(e, Trade)] == [t["tid"] for t in sent]


async def test_sends_stay_under_the_message_budget(fake: FakeHyperliquid, open_stream) -> None:
    limiter = WeightLimiter(5, window_s=0.5)  # the venue: 2000 a minute; scaled down
    rec = open_stream(send_limiter=limiter)
    for i in range(12):
        rec.stream.subscribe_trades(f"COIN{i}")
    await until(lambda: len(fake.ws.received) >= 12)
    times = fake.ws.received_at[:12]
    assert times[-1] - times[0] >= 0.9  # 12 frames at 5 per half second need two full windows
    assert max(sum(1 for t in times if s <= t < s + 0.4) for s in times) <= 5


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    assert backoff_delay(0, 0.5, 30, lambda: 0.0) == 0.25
    assert backoff_delay(0, 0.5, 30, lambda: 1.0) == 0.5
    assert backoff_delay(3, 0.5, 30, lambda: 1.0) == 4.0
    assert backoff_delay(50, 0.5, 30, lambda: 1.0) == 30.0
    assert 15.0 <= backoff_delay(50, 0.5, 30) <= 30.0


# --- scripted market -------------------------------------------------------------------------


async def test_mark_path_moves_marks_over_time(fake: FakeHyperliquid, open_stream) -> None:
    rec = open_stream()
    rec.stream.subscribe_asset_ctx("ETH")
    await rec.wait_for(AssetCtxUpdate)
    path = compress(ETH_SLIDE_2026, 1.0)
    assert path[0] == (0.0, "2900") and path[-1] == (1.0, "2300")
    started = time.monotonic()
    await fake.ws.mark_path("ETH", path, step_s=0.05)
    assert time.monotonic() - started >= 1.0
    await rec.wait_for(AssetCtxUpdate, lambda c: c.mark_px == Decimal(2300))
    marks = [c.mark_px for c in rec.of(AssetCtxUpdate)][1:]  # after the subscription's own
    assert marks[0] == Decimal(2900) and marks[-1] == Decimal(2300) and len(marks) >= 10
    assert all(a >= b for a, b in itertools.pairwise(marks))  # the path only falls
    assert len(set(marks)) >= 10
    assert fake.dex().mark("ETH") == Decimal(2300)  # REST serves the same mark


async def test_scheduled_mids(fake: FakeHyperliquid, open_stream) -> None:
    fake.ws.mids_interval_s = 0.1
    rec = open_stream()
    rec.stream.subscribe_mids()
    await rec.wait_for(StreamStatus)  # the ticker starts with the first connection
    updates = await rec.wait_for(MidsUpdate, count=4, timeout=2.0)
    assert len({m.mids["ETH"] for m in updates}) == 1  # nothing moved: the same mids again


# --- parse_* on the reference shapes ---------------------------------------------------------

TRADES_FRAME = {
    "channel": "trades",
    "data": [
        {
            "coin": "ETH",
            "side": "A",
            "px": "2891.4",
            "sz": "3.1077",
            "hash": "0x" + "12" * 32,
            "time": 1769644800123,
            "tid": 862390812839123,
            "users": [BUYER.upper().replace("0X", "0x"), SELLER],
        }
    ],
}
CTX_FRAME = {
    "channel": "activeAssetCtx",
    "data": {
        "coin": "ETH",
        "ctx": {
            "dayNtlVlm": "1169046.29406",
            "prevDayPx": "2950.1",
            "markPx": "2891.35",
            "midPx": "2891.45",
            "funding": "0.0000125",
            "openInterest": "523342.1032",
            "oraclePx": "2892.0",
            "premium": "-0.0002",
            "impactPxs": ["2891.4", "2891.5"],
        },
    },
}
LIQUIDATION_FRAME = {
    "channel": "user",
    "data": {
        "liquidation": {
            "lid": 4412,
            "liquidator": seed.HLP_LIQUIDATOR,
            "liquidated_user": USER,
            "liquidated_ntl_pos": "1830021.77",
            "liquidated_account_value": "40012.5",
        }
    },
}


def _liquidator_fills() -> list[dict[str, Any]]:
    path = seed.FIXTURES_DIR / "other_repos" / "Yassi80_hyperliquid" / "userFills_liquidator.json"
    fills: list[dict[str, Any]] = orjson.loads(path.read_bytes())
    return fills


def test_parse_trades_shape() -> None:
    (trade,) = parse_trades(TRADES_FRAME["data"], NOW)
    assert trade.side == "sell" and trade.px == Decimal("2891.4")
    assert (trade.buyer, trade.seller) == (BUYER, SELLER)
    assert trade.ts == datetime(2026, 1, 29, 0, 0, 0, 123000, tzinfo=UTC)
    old = [{k: v for k, v in TRADES_FRAME["data"][0].items() if k != "users"}]
    assert parse_trades(old, NOW)[0].buyer is None  # the SDK's older shape, without users


def test_parse_asset_ctx_and_mids_shapes() -> None:
    ctx = parse_asset_ctx(CTX_FRAME["data"], NOW)
    assert (ctx.mark_px, ctx.mid_px, ctx.oracle_px) == (
        Decimal("2891.35"),
        Decimal("2891.45"),
        Decimal("2892.0"),
    )
    assert ctx.funding_rate == Decimal("0.0000125") and ctx.ts == NOW
    mids = parse_all_mids({"mids": {"BTC": "84980.5", "@107": "18.6"}}, NOW)
    assert mids.dex == "" and mids.mids["@107"] == Decimal("18.6")
    assert parse_all_mids({"mids": {"xyz:XYZ100": "25372.0"}}, NOW).dex == "xyz"


def test_parse_user_fills_keeps_liquidations() -> None:
    raw = _liquidator_fills()
    (update,) = parse_user_fills({"isSnapshot": True, "user": seed.HLP_LIQUIDATOR, "fills": raw})
    assert update.snapshot and len(update.fills) == len(raw)
    assert tuple(parse_fills(raw, seed.HLP_LIQUIDATOR)) == update.fills
    backstops = [f for f in update.fills if f.liquidation_method == "backstop"]
    assert len(backstops) == 2 and all(f.liquidated_user for f in backstops)
    (plain,) = parse_user_fills({"user": seed.HLP_LIQUIDATOR, "fills": raw[:1]})
    assert not plain.snapshot


def test_parse_user_events() -> None:
    (liq,) = parse_user_event(LIQUIDATION_FRAME["data"], NOW)
    assert liq == UserLiquidation(
        user=USER,
        ts=NOW,
        liquidation_id=4412,
        liquidator=seed.HLP_LIQUIDATOR,
        liquidated_notional_usd=Decimal("1830021.77"),
        liquidated_account_value_usd=Decimal("40012.5"),
    )
    funding = {"funding": {"time": 1, "coin": "ETH", "usdc": "-3.6", "szi": "49.1"}}
    assert parse_user_event(funding, NOW) == ()
    assert parse_user_event({"fills": _liquidator_fills()}, NOW) == ()


def test_parse_frame_control_and_bad_frames() -> None:
    assert parse_frame("Websocket connection established.", NOW).channel == "welcome"
    assert parse_frame('{"channel":"pong"}', NOW).records == ()
    ack = {"channel": "subscriptionResponse", "data": {"method": "subscribe"}}
    assert parse_frame(orjson.dumps(ack), NOW).channel == "subscriptionResponse"
    assert parse_frame('{"channel":"error","data":"x"}', NOW).error == "x"
    for bad in ("nope", "[]", '{"channel": 3}', '{"channel":"trades","data":{}}'):
        with pytest.raises(VenueResponseError):
            parse_frame(bad, NOW)


def test_parse_cost_per_message() -> None:
    """Not a timed assertion: prints the cost of each channel so regressions are visible."""
    mids = {"channel": "allMids", "data": {"mids": {f"C{i}": f"{i}.125" for i in range(450)}}}
    fills = {"channel": "userFills", "data": {"user": USER, "fills": _liquidator_fills()}}
    frames = {
        "allMids (450 coins)": mids,
        "activeAssetCtx": CTX_FRAME,
        "trades (1 trade)": TRADES_FRAME,
        f"userFills ({len(fills['data']['fills'])} fills)": fills,
        "user liquidation": LIQUIDATION_FRAME,
    }
    for name, frame in frames.items():
        raw = orjson.dumps(frame)
        assert parse_frame(raw, NOW).records
        n = 2000
        started = time.perf_counter()
        for _ in range(n):
            parse_frame(raw, NOW)
        per = (time.perf_counter() - started) / n
        print(f"parse {name:<24} {per * 1e6:8.1f} µs/message ({len(raw)} bytes)")
