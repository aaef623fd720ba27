"""The tape-driven book: trades on the fake market move tracked positions before any refresh,
the refresh that follows measures the drift, and a stale refresh never undoes the tape."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from tests.fakes.hyperliquid import FakeHyperliquid
from tests.fakes.tape import Tape
from tests.test_live_supervision import live_engine
from tracker.app.live.engine import LiveEngine
from tracker.app.live.tape import TapeBook
from tracker.app.snapshot_pass import PassReport, snapshot_pass
from tracker.records import MarketMeta, Trade
from tracker.records.events import PositionChange
from tracker.risk.live.book import LiveBook
from tracker.sources.hyperliquid.client import parse_clearinghouse_state, parse_meta_and_asset_ctxs
from tracker.sources.hyperliquid.ws_parse import parse_trades
from tracker.store import open_store

WHALE = "0x00000000000000000000000000000000000000a1"
OTHER = "0x00000000000000000000000000000000000000b2"
MAKER = "0x00000000000000000000000000000000000000cc"  # on no list: the book never moves it


def model(fake: FakeHyperliquid) -> None:
    mark = fake.dex("").mark("ETH")
    fake.put_model_account(  # 10x long at the mark: cash is what is left after paying for it
        WHALE,
        -mark * 100 * Decimal("0.9"),
        positions=[{"coin": "ETH", "size": "100", "entry_px": mark, "leverage": 10}],
    )
    fake.put_model_account(OTHER, "50000", positions=[])


async def until(predicate, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):  # no event to wait on: checked every 20 ms
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def book_size(engine, address: str, coin: str) -> Decimal | None:
    held = engine.book.state(address)
    if held is None:
        return None
    return next((p.size for p in held[0].positions if p.coin == coin), Decimal(0))


async def test_a_trade_moves_the_book_at_once_and_the_refresh_measures_the_drift(hl_fake, tmp_path):
    model(hl_fake)
    tape = Tape(hl_fake)
    db = tmp_path / "t.duckdb"
    seen: list[PositionChange] = []

    async def hook(changes: list[PositionChange]) -> None:
        seen.extend(changes)

    async with live_engine(hl_fake, db, [WHALE, OTHER], on_position_changes=hook) as engine:
        stop = asyncio.Event()
        running = asyncio.create_task(engine.run(stop))
        try:
            await until(lambda: engine.stats.stream_state == "connected")
            await until(lambda: book_size(engine, OTHER, "ETH") is not None)
            subs = {s.get("coin") for s in engine.stream.subscriptions if s["type"] == "trades"}
            assert set(hl_fake.dex("").coins()) <= subs  # every coin, not only those held
            mark = hl_fake.dex("").mark("ETH")
            # The whale adds 40 ETH in two trades; OTHER, flat, opens a short as the maker.
            tape.trade("ETH", mark, "25", WHALE, OTHER, side="B")
            tape.trade("ETH", mark + 2, "15", WHALE, MAKER, side="B")
            await until(lambda: book_size(engine, WHALE, "ETH") == Decimal(140))
            assert book_size(engine, OTHER, "ETH") == Decimal(-25)
            kinds = sorted((c.address, c.kind, c.size_after, c.source) for c in seen)
            assert kinds == [
                (WHALE, "increase", Decimal(125), "tape"),
                (WHALE, "increase", Decimal(140), "tape"),
                (OTHER, "open", Decimal(-25), "tape"),
            ]
            assert all(c.ref.startswith("0x") for c in seen)
            # the book's liquidation price is already the venue's (which the fake now serves)
            venue = hl_fake.clearinghouse_state(WHALE)["assetPositions"][0]["position"]
            (ours,) = [p for p in engine.book.positions(WHALE) if p.coin == "ETH"]
            assert ours.liquidation_px is not None
            assert abs(ours.liquidation_px / Decimal(venue["liquidationPx"]) - 1) < Decimal("1e-6")
            await until(lambda: engine.stats.refreshes >= 4, timeout=30)  # both, after trades
            await until(engine.outbox.idle)
            moved = engine.status()["tape"]
            assert moved["trades_applied"] == 3 and moved["trades_on_columns"] == 3  # all cross
        finally:
            stop.set()
            await running
    # through the store: a pass cancelled at stop may still be finishing its write in a thread
    with open_store(db) as store:
        con = store.con
        drift = con.execute(
            "select address, size_drift, liquidation_px_drift, trades from tape_drift order by 1"
        ).fetchall()
        events = con.execute(
            "select address, kind, size_after, source from position_events order by time_ms, 1, 3"
        ).fetchall()
        changes = con.execute(
            "select count(*) from position_changes where source = 'tape'"
        ).fetchone()
    assert [(a, d, t) for a, d, _, t in drift] == [(WHALE, 0, 2), (OTHER, 0, 1)]
    assert all(liq is not None and liq < 1e-6 for _, _, liq, _ in drift)
    assert changes == (3,)
    assert sorted(events) == sorted(
        [
            (WHALE, "increase", Decimal(125), "tape"),
            (WHALE, "increase", Decimal(140), "tape"),
            (OTHER, "open", Decimal(-25), "tape"),
        ]
    )


# -- reconciling a refresh with the tape, on the book alone --------------------------------------


def read_at(item: dict, t0: datetime, after_ms: int) -> Trade:
    """The tape's record of a trade the fake made, as if made `after_ms` after t0."""
    (trade,) = parse_trades([{**item, "time": int(t0.timestamp() * 1000) + after_ms}])
    return trade


def venue_state(fake: FakeHyperliquid, user: str, at: datetime):
    raw = fake.clearinghouse_state(user)
    raw["time"] = int(at.timestamp() * 1000)
    return parse_clearinghouse_state(raw, user)


def on_the_book(
    behind: Callable[[], bool] = lambda: False,
) -> tuple[FakeHyperliquid, MarketMeta, LiveBook, TapeBook]:
    """The fake market with WHALE and OTHER modelled, and a tape book tracking both."""
    fake = FakeHyperliquid()
    fake.dex("").add_coin("ETH", "3000", max_leverage=25)
    model(fake)
    raw_meta = orjson.loads(fake.answer({"type": "metaAndAssetCtxs"}).data)  # type: ignore[arg-type]
    meta = parse_meta_and_asset_ctxs(raw_meta, "", datetime.now(UTC))
    book = LiveBook()
    return fake, meta, book, TapeBook(book, lambda dex: meta, {WHALE, OTHER}.__contains__, behind)


def test_a_refresh_older_than_the_last_applied_trade_never_reverts_the_position():
    fake, meta, book, tape = on_the_book()
    t0 = datetime.now(UTC)
    before = venue_state(fake, WHALE, t0)  # the state a refresh will bring back, late
    book.upsert(before, meta)
    token = tape.tokens([WHALE])[WHALE]  # the refresh's request goes out now ...
    market = Tape(fake)

    def trade(size: str, at_ms: int, buyer: str, seller: str) -> Trade:
        sold = market.trade("ETH", "3000", size, buyer, seller, side="A")
        return read_at(sold, t0, at_ms)

    (change,) = tape.apply(trade("40", 5, MAKER, WHALE))  # ... the whale sells 40 of its 100
    assert (change.kind, change.size_after) == ("reduce", 60)
    between = venue_state(fake, WHALE, t0 + timedelta(milliseconds=7))  # the venue after it
    # ... and the answer, taken before the trade, arrives: the trade is replayed onto it, so the
    # book neither goes back to 100 nor raises a correction
    verdict = tape.reconcile(before, token, t0)
    assert verdict.replayed == 1 and verdict.changes == () and verdict.drift == ()
    assert [p.size for p in verdict.account.positions] == [Decimal(60)]
    book.upsert(verdict.account, meta)
    # the whale closes the rest; a state after the first trade but before the second comes back
    (change,) = tape.apply(trade("60", 9, MAKER, WHALE))
    assert (change.kind, change.size_after) == ("close", 0)
    verdict = tape.reconcile(between, token, t0)
    assert verdict.replayed == 1 and verdict.account.positions == () and verdict.changes == ()
    book.upsert(verdict.account, meta)
    # a state covering both: nothing to replay, the estimate matched it (drift of 0, 2 trades)
    after = venue_state(fake, WHALE, t0 + timedelta(milliseconds=10))
    verdict = tape.reconcile(after, tape.tokens([WHALE])[WHALE], t0)
    assert verdict.replayed == 0 and verdict.changes == ()
    assert [(d.coin, d.size_estimate, d.size_venue, d.trades) for d in verdict.drift] == [
        ("ETH", None, None, 2)
    ]
    # a refresh that finds a trade the tape missed corrects the book, once, as source "refresh"
    fake.put_model_account(
        WHALE, "1000", positions=[{"coin": "ETH", "size": "-3", "entry_px": "3000", "leverage": 5}]
    )
    missed = venue_state(fake, WHALE, t0 + timedelta(milliseconds=20))
    verdict = tape.reconcile(missed, tape.tokens([WHALE])[WHALE], t0)
    assert [(c.kind, c.size_before, c.size_after, c.source) for c in verdict.changes] == [
        ("open", 0, -3, "refresh")
    ]


def test_the_log_keeps_ten_seconds_of_trades_and_everything_a_refresh_in_flight_may_miss():
    fake, meta, book, tape = on_the_book()
    t0 = datetime.now(UTC)
    start = venue_state(fake, WHALE, t0)
    book.upsert(start, meta)
    market = Tape(fake)

    def buy(second: int) -> Trade:
        sold = market.trade("ETH", "3000", "1", WHALE, MAKER, side="B")
        return read_at(sold, t0, second * 1000)

    for second in range(1, 31):  # no refresh asked: a trade older than 10 s is let go
        tape.apply(buy(second))
    # a state timed before all of them can only replay what is left: the last 10 seconds
    assert tape.reconcile(start, 0, t0).replayed == 11
    asked = venue_state(fake, WHALE, t0 + timedelta(seconds=30))  # the venue when asked
    book.upsert(asked, meta)
    token = tape.tokens([WHALE])[WHALE]  # a refresh is asked now, and its answer is slow ...
    for second in range(31, 61):
        tape.apply(buy(second))
    # ... an answer without a venue time, taken when it was asked, replays all 30 trades since,
    # though most are more than 10 s older than the newest
    verdict = tape.reconcile(replace(asked, venue_time=None), token, t0)
    assert verdict.replayed == 30
    now = venue_state(fake, WHALE, t0 + timedelta(seconds=60))
    assert [p.size for p in verdict.account.positions] == [p.size for p in now.positions]
    assert [p.size for p in now.positions] == [p.size + 30 for p in asked.positions]


@pytest.mark.parametrize("lagging", [True, False])
def test_a_trade_the_refreshed_state_already_holds_is_not_applied_twice(lagging):
    """The book can read a trade after the REST answer that includes it (the tape queued behind a
    burst): a trade at or before the state's venue time is skipped, and the drift is measured
    only once the book has read the tape up to that time."""
    fake, meta, book, tape = on_the_book(behind=lambda: lagging)
    t0 = datetime.now(UTC)
    book.upsert(venue_state(fake, WHALE, t0), meta)
    market = Tape(fake)

    def read(sold: dict, second: int) -> Trade:
        return read_at(sold, t0, second * 1000)

    (change,) = tape.apply(read(market.trade("ETH", "3000", "2", WHALE, MAKER, side="B"), 1))
    assert change.size_after == 102
    token = tape.tokens([WHALE])[WHALE]
    early = market.trade("ETH", "3000", "5", WHALE, MAKER, side="B")  # on the venue at t0+2s
    state = venue_state(fake, WHALE, t0 + timedelta(seconds=3))  # the answer holds it: 107
    verdict = tape.reconcile(state, token, t0)
    # lagging, the book's 102 is not an estimate of the state's 107: no drift row; caught up, the
    # state covers every trade applied and the drift is measured
    assert [(d.size_estimate, d.size_venue) for d in verdict.drift] == (
        [] if lagging else [(Decimal(102), Decimal(107))]
    )
    book.upsert(verdict.account, meta)
    assert tape.apply(read(early, 2)) == [] and tape.covered_skips == 1  # the tape brings it now
    held = book.state(WHALE)
    assert held is not None
    assert [p.size for p in held[0].positions] == [Decimal(107)]


async def test_a_trade_that_brings_a_position_near_liquidation_alerts_with_the_marks_unchanged(
    hl_fake, tmp_path
):
    # OTHER, flat with 50,000 of cash, buys 220 ETH at the mark on the tape: ~8 % from its
    # liquidation price, under the 10 % level. No mark moves afterwards; the venue's allMids keep
    # repeating them, and the book re-marks nothing on those, yet the mark path's scan must run.
    # (Refreshes here run no alert rules, which would otherwise alert and arm it first.)
    model(hl_fake)
    hl_fake.ws.mids_interval_s = 0.2
    tape = Tape(hl_fake)
    db = tmp_path / "t.duckdb"
    engines: list[LiveEngine] = []

    async def quiet_pass(batch: Sequence[str]) -> PassReport:
        return await snapshot_pass(engines[0].poller, db, batch, command="run")

    async with live_engine(hl_fake, db, [OTHER], run_pass=quiet_pass) as engine:
        engines.append(engine)
        stop = asyncio.Event()
        running = asyncio.create_task(engine.run(stop))
        try:
            await until(lambda: engine.stats.stream_state == "connected")
            await until(lambda: book_size(engine, OTHER, "ETH") == 0)
            mark = hl_fake.dex("").mark("ETH")
            tape.trade("ETH", mark, "220", OTHER, MAKER, side="B")
            await until(lambda: book_size(engine, OTHER, "ETH") == Decimal(220))
            (position,) = engine.book.positions(OTHER)
            assert position.distance_to_liq_pct is not None
            assert 5 < position.distance_to_liq_pct < 10
            await until(lambda: engine.stats.alerts_from_marks >= 1, timeout=10)
            assert hl_fake.dex("").mark("ETH") == mark
        finally:
            stop.set()
            await running
