"""The liquidation watcher against the fake venue and a real DuckDB file: candidates confirmed
largest first, one call per account, within its weight share; only liquidation fills count; a
large episode's alert is raised once and updated as later slices arrive."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.fakes.liquidations import Liquidated, Tape
from tracker.alerts.engine import AlertContext
from tracker.app import liquidation_watch as lw
from tracker.app.liquidation_watch import LiquidationWatch
from tracker.app.runner import hyperliquid_poller
from tracker.config import Settings
from tracker.sources.hyperliquid.ws_parse import parse_trades
from tracker.store import open_store

X = "0x" + "a1" * 20
Y = "0x" + "b2" * 20
Z = "0x" + "c3" * 20
CHILD = "0x" + "9c" * 20
PX = Decimal(84_000)


class Clock:
    """A clock the test moves (the watcher's waits and its weight window follow it)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def context(basis: str = "position") -> AlertContext:
    return AlertContext(
        large_usd=Decimal(1_000_000),
        near_levels_pct=(),
        gap_s=900.0,
        watched=frozenset(),
        large_basis=basis,
    )


def new_watch(
    client: Any,
    db: Any,
    *,
    weight: int,
    clock: Callable[[], float],
    ws_users: int = 0,
    basis: str = "position",
) -> LiquidationWatch:
    """A watch with no sinks, a $200k candidate threshold and `context()`."""
    return LiquidationWatch(
        client=client,
        db=db,
        alerting=context(basis),
        sinks=[],
        candidate_usd=Decimal(200_000),
        weight_per_min=weight,
        ws_users=ws_users,
        clock=clock,
    )


@contextlib.asynccontextmanager
async def watching(hl_fake, db, *, weight: int, clock: Clock, basis: str = "position"):
    with open_store(db):
        pass  # created and migrated
    settings = Settings(db_path=db, hl_api_url=hl_fake.url, http_retries=1)
    async with hyperliquid_poller(settings) as poller:
        watch = new_watch(poller.client, db, weight=weight, clock=clock, basis=basis)
        stop = asyncio.Event()
        task = asyncio.create_task(watch.run(stop))
        try:
            yield watch
        finally:
            stop.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def until(predicate, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.02)


def rows(db, sql: str, **params: object) -> list[tuple]:
    with open_store(db) as store:
        return store.con.execute(sql, params).fetchall()


def fills_asked(hl_fake) -> list[str | None]:
    return [r.user for r in hl_fake.requests if r.type == "userFillsByTime"]


async def test_largest_first_one_call_per_account_and_only_liquidation_fills_count(
    hl_fake, tmp_path
):
    tape, clock, db = Tape(hl_fake), Clock(), tmp_path / "w.duckdb"
    tape.hlp_children([CHILD])
    x = Liquidated(user=X, coin="BTC")
    tape.slice(x, long=True, px=PX, size="30", mark_px=PX)  # $2.52M
    tape.slice(x, long=True, px=PX, size="5", mark_px=PX)  # $420k, another hash
    tape.market_order("BTC", PX, "50", Y)  # $4.2M, ordinary: no liquidation object
    z = Liquidated(user=Z, coin="ETH")
    tape.slice(z, long=False, px="2500", size="100", mark_px="2500")  # $250k short
    async with watching(hl_fake, db, weight=300, clock=clock) as watch:
        await until(lambda: watch.grouper.vaults == frozenset({CHILD}) | lw.KNOWN_LIQUIDATORS)
        trades = [*x.trades, *z.trades, *[t for t in tape_trades(hl_fake, Y)]]
        watch.on_trades(parse_trades(trades))
        assert watch.stats.candidates == 4
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.status()["pending"] == 0 and watch.stats.confirm_calls == 3)
        await until(lambda: watch.stats.confirmed + watch.stats.rejected == 4)
    assert fills_asked(hl_fake) == [Y, X, Z]  # $4.2M, then $2.52M (with its $420k), then $250k
    assert watch.stats.confirmed == 3 and watch.stats.rejected == 1
    stored = rows(
        db, "select address, coin, side, notional_usd, watched, sources from liquidations"
    )
    assert sorted(stored) == sorted(
        [
            (X, "BTC", "long", x.notional_usd, False, "fills,tape"),
            (Z, "ETH", "short", z.notional_usd, False, "fills,tape"),
        ]
    )
    assert rows(db, "select count(*) from fills where address = $a", a=Y) == [(0,)]


def tape_trades(hl_fake, user: str) -> list[dict]:
    """The trades of an account's fills, in the tape's shape (it was the taker: buyer)."""
    return [
        {
            "coin": f["coin"],
            "side": "B",
            "px": f["px"],
            "sz": f["sz"],
            "hash": f["hash"],
            "time": f["time"],
            "tid": f["tid"],
            "users": [user, "0x" + "11" * 20],
        }
        for f in hl_fake._fills[user].items
    ]


async def test_a_large_episode_alerts_once_and_the_alert_follows_later_slices(hl_fake, tmp_path):
    tape, clock, db = Tape(hl_fake), Clock(), tmp_path / "w.duckdb"
    x = Liquidated(user=X, coin="BTC")
    tape.slice(x, long=True, px=PX, size="15", mark_px=PX)  # $1.26M: large already
    async with watching(hl_fake, db, weight=300, clock=clock) as watch:
        watch.on_trades(parse_trades(x.trades))
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.stats.alerts == 1)
        first = len(x.trades)
        await asyncio.sleep(0.01)  # the next slices a few ms later
        tape.slice(x, long=True, px=PX - 100, size="15", mark_px=PX - 100)
        tape.slice(x, long=True, px=PX - 200, size="5", mark_px=PX - 200)
        watch.on_trades(parse_trades(x.trades[first:]))
        clock.now += lw.CONFIRM_DELAY_S
        await asyncio.sleep(0.5)  # the loop comes round: the follow-ups wait for a quiet tape
        assert watch.stats.confirm_calls == 1 and watch.status()["pending"] == 2
        clock.now += lw.FOLLOW_QUIET_S
        await until(lambda: watch.stats.alerts_updated == 1)
    assert watch.stats.alerts == 1 and watch.stats.confirm_calls == 2  # one read for both
    ((notional, message),) = rows(
        db, "select notional_usd, message from alerts where kind = 'large_liquidation'"
    )
    assert notional == x.notional_usd and "$2.94M" in message
    assert rows(db, "select fills from liquidations") == [(len(x.trades),)]


@pytest.mark.parametrize("basis", ["position", "liquidated"])
async def test_the_first_slice_of_a_large_position_alerts_on_the_position_basis(
    hl_fake, tmp_path, basis
):
    """A $2.52M long loses its first 20 % ($504k) and the venue's cooldown holds the rest: on
    the position basis (the default) that slice raises the alert, saying what is at stake; on
    the liquidated basis nothing is large yet."""
    tape, clock, db = Tape(hl_fake), Clock(), tmp_path / "w.duckdb"
    x = Liquidated(user=X, coin="BTC", held=Decimal(30))
    tape.slice(x, long=True, px=PX, size="6", mark_px=PX)
    async with watching(hl_fake, db, weight=300, clock=clock, basis=basis) as watch:
        watch.on_trades(parse_trades(x.trades))
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.stats.episodes == 1)
    ((notional, position, large),) = rows(
        db, "select notional_usd, position_usd, large from liquidations"
    )
    assert notional == x.notional_usd < 1_000_000 and position == 30 * PX
    alerts = rows(
        db, "select notional_usd, message, details from alerts where kind = 'large_liquidation'"
    )
    if basis == "liquidated":
        assert alerts == [] and large is False
        return
    ((alerted, message, details),) = alerts
    assert large is True and alerted == x.notional_usd
    assert "$503.9" in message and "of a $2.52M position" in message
    assert Decimal(json.loads(details)["position_usd"]) == 30 * PX


async def test_candidates_left_without_budget_are_dropped_and_counted(hl_fake, tmp_path):
    tape, clock, db = Tape(hl_fake), Clock(), tmp_path / "w.duckdb"
    done = [Liquidated(user=u, coin="BTC") for u in (X, Y, Z)]
    for i, d in enumerate(done):
        tape.slice(d, long=True, px=PX, size=str(10 + i), mark_px=PX)
    # 40 a minute: the HLP children read (20) and one confirmation (20 + items / 20).
    async with watching(hl_fake, db, weight=40, clock=clock) as watch:
        watch.on_trades(parse_trades([t for d in done for t in d.trades]))
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.stats.confirm_calls == 1)
        await asyncio.sleep(0.3)  # the loop comes round and finds no budget left
        assert watch.stats.confirm_calls == 1 and watch.status()["pending"] == 2
        clock.now += lw.MAX_WAIT_S + 5
        await until(lambda: watch.stats.dropped_for_budget == 2)
    assert fills_asked(hl_fake) == [Z]  # the largest
    assert watch.status()["weight_max_in_any_min"] <= 40


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRACKER_LIQUIDATION_CANDIDATE_USD", "lots"),
        ("TRACKER_LIQUIDATION_CANDIDATE_USD", "-1"),
        ("TRACKER_LIQUIDATION_CONFIRM_WEIGHT_PER_MIN", "0"),
        ("TRACKER_LIQUIDATION_CONFIRM_WEIGHT_PER_MIN", "1.5"),
        ("TRACKER_LIQUIDATION_CONFIRM_WS_USERS", "11"),  # the venue's 10 per IP
        ("TRACKER_LIQUIDATION_CONFIRM_WS_USERS", "-1"),
        ("TRACKER_LIQUIDATION_CONFIRM_WS_USERS", "some"),
    ],
)
async def test_bad_settings_are_one_line_and_exit_2(tmp_path, name, value):
    from tests.conftest import run_cli, tracker_env

    env = tracker_env("http://127.0.0.1:9", tmp_path / "t.duckdb", **{name: value})
    result = await run_cli("liquidations", env=env)
    assert result.code == 2
    assert name in result.stderr and len(result.stderr.strip().splitlines()) == 1


async def test_a_bad_coin_flag_is_one_line_and_exit_2(tmp_path):
    from tests.conftest import run_cli, tracker_env

    env = tracker_env("http://127.0.0.1:9", tmp_path / "t.duckdb")
    result = await run_cli("liquidations", "--daily", "--coin", " ", env=env)
    assert result.code == 2 and "--coin" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_positions_the_mark_takes_past_liquidation_are_candidates_once(tmp_path):
    from tests.test_live_book import RECORDED
    from tracker.risk.live.book import LiveBook
    from tracker.sources.hyperliquid.client import parse_clearinghouse_state

    book, account = LiveBook(), None
    for path in RECORDED:
        parsed = parse_clearinghouse_state(json.loads(path.read_text()), X)
        if any(p.liquidation_px for p in parsed.positions):
            account = parsed
            break
    assert account is not None
    book.upsert(account, None)
    watch = LiquidationWatch(
        client=None,  # never called: on_book only queues
        db=tmp_path / "w.duckdb",
        alerting=context(),
        sinks=[],
        candidate_usd=Decimal(200_000),
        weight_per_min=300,
        clock=Clock(),
    )
    watch.on_book(book)
    assert watch.stats.candidates == 0  # every position on the safe side of its price
    position = next(p for p in account.positions if p.liquidation_px)
    past = position.liquidation_px * (Decimal("0.9") if position.size > 0 else Decimal("1.1"))
    book.apply_marks({position.coin: past})
    watch.on_book(book)
    crossed = {(n.address, n.coin) for n in book.below([0.0])}
    assert (X, position.coin) in crossed  # (a cross account's other legs may cross with it)
    assert watch.stats.candidates == len(crossed)
    watch.on_book(book)  # the same crossings again: not queued twice
    assert watch.stats.candidates == len(crossed)
    queued = {(p.candidate.address, p.candidate.coin) for p in watch._heap}
    assert queued == crossed
    assert all(
        p.candidate.source == "crossed" and p.candidate.notional_usd > 0 for p in watch._heap
    )


async def test_a_later_slice_that_makes_the_episode_large_is_read_at_once(hl_fake, tmp_path):
    tape, clock, db = Tape(hl_fake), Clock(), tmp_path / "w.duckdb"
    x = Liquidated(user=X, coin="BTC")
    tape.slice(x, long=True, px=PX, size="5", mark_px=PX)  # $420k: not large
    async with watching(hl_fake, db, weight=300, clock=clock) as watch:
        watch.on_trades(parse_trades(x.trades))
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.stats.episodes == 1)
        first = len(x.trades)
        await asyncio.sleep(0.01)
        tape.slice(x, long=True, px=PX, size="10", mark_px=PX)  # $840k more: $1.26M in all
        watch.on_trades(parse_trades(x.trades[first:]))
        clock.now += lw.CONFIRM_DELAY_S  # not the quiet wait of other later slices
        await until(lambda: watch.stats.alerts == 1)
    assert watch.stats.confirm_calls == 2
    ((notional,),) = rows(db, "select notional_usd from alerts where kind = 'large_liquidation'")
    assert notional == x.notional_usd


async def test_the_read_that_makes_an_episode_large_goes_before_bigger_fresh_slices(
    hl_fake, tmp_path
):
    tape, clock, db = Tape(hl_fake), Clock(), tmp_path / "w.duckdb"
    x, y = Liquidated(user=X, coin="BTC"), Liquidated(user=Y, coin="BTC")
    tape.slice(x, long=True, px=PX, size="5", mark_px=PX)  # $420k
    # 60 a minute: the HLP children read, x's first read, and room for one more.
    async with watching(hl_fake, db, weight=60, clock=clock) as watch:
        watch.on_trades(parse_trades(x.trades))
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.stats.episodes == 1)
        first = len(x.trades)
        tape.slice(y, long=True, px=PX, size="8", mark_px=PX)  # $672k, a fresh account
        tape.slice(x, long=True, px=PX, size="7", mark_px=PX)  # $588k: x reaches $1.008M
        watch.on_trades(parse_trades([*y.trades, *x.trades[first:]]))
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.stats.alerts == 1)
        assert watch.status()["pending"] == 1  # y waits for budget
    assert fills_asked(hl_fake) == [X, X]


async def test_a_read_before_the_venue_served_the_trades_is_asked_once_more(hl_fake, tmp_path):
    # The venue indexes fills a moment after the tape shows the trades: a read that finds none of
    # the candidate's trades must not reject it for good.
    tape, clock, db = Tape(hl_fake), Clock(), tmp_path / "w.duckdb"
    x = Liquidated(user=X, coin="BTC")
    tape.slice(x, long=True, px=PX, size="30", mark_px=PX)  # $2.52M
    served = hl_fake._fills.pop(X.lower())  # not served yet
    async with watching(hl_fake, db, weight=300, clock=clock) as watch:
        watch.on_trades(parse_trades(x.trades))
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.stats.confirm_calls == 1 and watch.stats.retried == 1)
        assert watch.stats.rejected == 0 and watch.status()["pending"] == 1
        hl_fake.put_fills(X, list(served.items))  # now the venue serves them
        clock.now += lw.RETRY_UNSERVED_S
        await until(lambda: watch.stats.confirmed == 1)
    assert watch.stats.confirm_calls == 2 and watch.stats.rejected == 0
    stored = rows(db, "select address, coin, notional_usd from liquidations")
    assert stored == [(X, "BTC", x.notional_usd)]


async def test_a_candidate_is_asked_again_only_once(hl_fake, tmp_path):
    tape, clock, db = Tape(hl_fake), Clock(), tmp_path / "w.duckdb"
    x = Liquidated(user=X, coin="BTC")
    tape.slice(x, long=True, px=PX, size="30", mark_px=PX)
    hl_fake._fills.pop(X.lower())  # never served: the tape's trades were not its liquidation
    async with watching(hl_fake, db, weight=300, clock=clock) as watch:
        watch.on_trades(parse_trades(x.trades))
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.stats.retried == 1)
        clock.now += lw.RETRY_UNSERVED_S
        await until(lambda: watch.stats.rejected == 1)
    assert watch.stats.confirm_calls == 2 and watch.stats.confirmed == 0
    assert rows(db, "select count(*) from liquidations") == [(0,)]
