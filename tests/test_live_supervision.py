"""Live mode's tasks are supervised: a failure in a refresh pass or an alert task stops the daemon
(or is reported) as in polling mode, and the engine's tasks stay bounded over many passes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
from collections.abc import AsyncIterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import aiohttp
import duckdb
import pytest

from tests.conftest import start_cli, tracker_env
from tests.test_liquidations import ETH_SIZE, WHALE, model_whale
from tests.test_live import read_one
from tests.test_snapshot import write_watchlist
from tracker.alerts.engine import AlertContext
from tracker.app.daemon import build_schedules, run_daemon
from tracker.app.live.engine import LiveEngine
from tracker.app.live.scheduler import SchedulerConfig
from tracker.app.poller import HyperliquidPoller
from tracker.app.snapshot_pass import PassReport, snapshot_pass
from tracker.net.http import RetryPolicy
from tracker.net.limiter import WeightLimiter
from tracker.sources.hyperliquid.client import HyperliquidClient
from tracker.sources.hyperliquid.stream import HyperliquidStream

TRADER = "0x0000000000000000000000000000000000007ade"
NOT_A_DATABASE = b"this is not a database\n"


def put_trader(hl_fake) -> None:
    hl_fake.put_model_account(
        TRADER,
        "100000",
        positions=[
            {"coin": "ETH", "size": "10", "entry_px": "2900", "leverage": 5, "margin_mode": "cross"}
        ],
    )


async def first_pass(proc: asyncio.subprocess.Process, timeout: float = 30) -> dict:
    """The daemon's first pass line on stdout (its batch is committed when it is printed)."""
    assert proc.stdout is not None
    async with asyncio.timeout(timeout):
        while True:
            line = await proc.stdout.readline()
            assert line, "the daemon exited before its first pass"
            doc = json.loads(line)
            if doc.get("event") == "pass":
                return doc


async def stream_connected(db: Path, timeout: float = 30) -> dict:
    """The live daemon's status file once it says the WebSocket is connected."""
    path = db.with_name(db.name + ".status.json")
    async with asyncio.timeout(timeout):
        while True:
            try:
                doc = json.loads(path.read_bytes())
            except (OSError, ValueError):
                doc = {}
            if doc.get("stream", {}).get("state") == "connected":
                return doc
            await asyncio.sleep(0.1)


def break_database(db: Path) -> None:
    """Put a file that is not a database where the daemon's DuckDB file was, in one step."""
    tmp = db.with_name("not-a-db.tmp")
    tmp.write_bytes(NOT_A_DATABASE)
    os.replace(tmp, db)


async def exit_of(proc: asyncio.subprocess.Process, timeout: float = 30) -> tuple[int, str]:
    async with asyncio.timeout(timeout):
        _, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, err.decode()


@pytest.mark.parametrize("when", ["polling pass", "live refresh pass", "live alert task"])
async def test_a_store_that_stops_being_a_database_stops_the_daemon_with_exit_2(
    hl_fake, tmp_path, when
):
    db = tmp_path / "t.duckdb"
    env = tracker_env(hl_fake.url, db)
    if when == "live alert task":
        model_whale(hl_fake, ETH_SIZE)
        watched = WHALE
    else:
        put_trader(hl_fake)
        watched = TRADER
    watchlist = write_watchlist(tmp_path / "w.toml", watched)
    mode = ["--no-live", "--interval", "1"] if when == "polling pass" else ["--interval", "600"]
    daemon = await start_cli("run", "-w", str(watchlist), *mode, env=env)
    try:
        await first_pass(daemon)
        if when != "polling pass":
            await stream_connected(db)
        (liq,) = await read_one(
            db, "select liquidation_px from latest_positions where address = $a", {"a": watched}
        )
        break_database(db)
        if when == "live refresh pass":  # a trade naming the account: refreshed at once
            hl_fake.ws.trade("ETH", "2899", "1.5", buyer=TRADER, seller="0x" + "55" * 20)
        elif when == "live alert task":  # marks only: the book crosses a level, no REST pass
            hl_fake.set_mark("ETH", str(liq * Decimal("1.03")))
        code, err = await exit_of(daemon)
    finally:
        if daemon.returncode is None:
            daemon.kill()
            await daemon.wait()
    assert code == 2, err[-3000:]
    assert "Traceback" not in err and "never retrieved" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {db} is not a DuckDB database file (--db, TRACKER_DB)"], err[-3000:]
    assert err.rstrip().endswith(errors[0])
    assert db.read_bytes() == NOT_A_DATABASE  # nothing wrote over it


# -- in process: the engine itself, against the fake venue and a real DuckDB file -------------


@contextlib.asynccontextmanager
async def live_engine(
    hl_fake,
    db: Path,
    addresses: Sequence[str],
    run_pass=None,
    *,
    labels: Mapping[str, str] | None = None,
    max_staleness_s: float = 600.0,
    on_pass=None,
    on_position_changes=None,
) -> AsyncIterator[LiveEngine]:
    """A LiveEngine on its own session and stream; run_pass defaults to the real pass."""
    async with aiohttp.ClientSession() as session:
        client = HyperliquidClient(
            session, hl_fake.url, limiter=WeightLimiter(0), policy=RetryPolicy(retries=1)
        )
        poller = HyperliquidPoller(client)
        alerting = AlertContext(
            large_usd=Decimal(1_000_000),
            near_levels_pct=(Decimal(10), Decimal(5), Decimal(2)),
            gap_s=60.0,
            watched=frozenset(addresses),
            labels=labels if labels is not None else {},
        )

        async def real_pass(batch: Sequence[str]) -> PassReport:
            return await snapshot_pass(poller, db, batch, command="run", alerting=alerting)

        async with HyperliquidStream(session, hl_fake.ws_url) as stream:
            yield LiveEngine(
                poller=poller,
                stream=stream,
                run_pass=run_pass or real_pass,
                addresses=addresses,
                db=db,
                alerting=alerting,
                sinks=[],
                on_pass=on_pass,
                config=SchedulerConfig(max_staleness_s=max_staleness_s),
                on_position_changes=on_position_changes,
            )


def engine_tasks() -> set[str]:
    return {t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("live-")}


def client_tasks() -> int:
    """Tasks of this loop, less the fake venue's (tracker/replay; it serves from the same loop)."""

    def served(task: asyncio.Task) -> bool:
        code = getattr(task.get_coro(), "cr_code", None)
        where = code.co_filename if code is not None else ""
        return "/tracker/replay/" in where or "/tests/fakes/" in where or "/aiohttp/web_" in where

    return sum(1 for t in asyncio.all_tasks() if not served(t))


async def stored_whale(hl_fake, db: Path) -> Decimal:
    """The whale stored by one real pass; its liquidation price."""
    async with live_engine(hl_fake, db, [WHALE]) as engine:
        report = await engine.run_pass([WHALE])
    assert report.ok == 1
    con = duckdb.connect(str(db), read_only=True)
    (liq,) = con.execute(
        "select liquidation_px from latest_positions where address = $a", {"a": WHALE}
    ).fetchone()
    con.close()
    return liq


async def test_an_unexpected_error_in_a_refresh_pass_stops_live_mode_as_it_stops_polling(
    hl_fake, tmp_path
):
    put_trader(hl_fake)
    calls: list[Sequence[str]] = []

    async def broken(addresses: Sequence[str]) -> PassReport:
        calls.append(addresses)
        raise ZeroDivisionError("a bug in a pass")

    async with live_engine(hl_fake, tmp_path / "t.duckdb", [TRADER], broken) as engine:
        with pytest.raises(ZeroDivisionError, match="a bug in a pass"):  # itself, not a group
            async with asyncio.timeout(20):  # stop is never set: only the error ends it
                await engine.run(asyncio.Event())
        assert calls == [[TRADER]]
        assert engine_tasks() == set()  # the stream, the refresher, the rest: all cancelled
    # Polling mode raises the same error from its pass (the CLI then exits the same way).
    with pytest.raises(ZeroDivisionError, match="a bug in a pass"):
        async with asyncio.timeout(20):
            await run_daemon(
                broken, build_schedules({TRADER: None}, 1.0), asyncio.Event(), on_pass=print
            )


class FailingLabels(dict[str, str]):
    """Labels whose lookups fail, as a bug in the alert text would."""

    def get(self, key, default=None):  # type: ignore[override]
        raise LookupError(f"no label for {key}")

    def __getitem__(self, key):  # type: ignore[override]
        raise LookupError(f"no label for {key}")


async def test_an_unexpected_error_in_the_alert_task_stops_live_mode(hl_fake, tmp_path):
    db = tmp_path / "t.duckdb"
    model_whale(hl_fake, ETH_SIZE)
    liq = await stored_whale(hl_fake, db)
    async with live_engine(hl_fake, db, [WHALE], labels=FailingLabels()) as engine:
        running = asyncio.create_task(engine.run(asyncio.Event()))
        await stream_connected_in(engine)
        hl_fake.set_mark("ETH", str(liq * Decimal("1.03")))  # marks only: the alert task runs
        with pytest.raises(LookupError, match="no label for"):
            async with asyncio.timeout(20):
                await running
        assert engine_tasks() == set()


async def test_a_store_failure_in_the_alert_task_is_reported_and_live_mode_goes_on(
    hl_fake, tmp_path, caplog
):
    db = tmp_path / "t.duckdb"
    model_whale(hl_fake, ETH_SIZE)
    liq = await stored_whale(hl_fake, db)
    con = duckdb.connect(str(db))
    con.execute("alter table alerts rename to alerts_moved")  # inserts now fail in DuckDB
    con.close()
    stop = asyncio.Event()
    async with live_engine(hl_fake, db, [WHALE]) as engine:
        running = asyncio.create_task(engine.run(stop))
        await stream_connected_in(engine)
        hl_fake.set_mark("ETH", str(liq * Decimal("1.03")))
        async with asyncio.timeout(20):
            while engine.stats.failed_alert_writes == 0:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert not running.done()  # reported, not fatal: the mark path goes on
        status = engine.status()
        assert status["failed_alert_writes"] >= 1 and status["failed_passes"] == 0
        stop.set()
        async with asyncio.timeout(10):
            stats = await running
    assert stats.alerts_from_marks == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("near-liquidation alerts not stored" in w and "alerts" in w for w in warnings)


async def stream_connected_in(engine: LiveEngine, timeout: float = 20) -> None:
    """Until the engine's stream is connected and its book holds the stored positions."""
    async with asyncio.timeout(timeout):  # the engine has no event for this: checked every 50 ms
        while engine.stats.stream_state != "connected" or not engine.book.stats().positions:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_the_engine_s_tasks_stay_bounded_over_many_passes(hl_fake, tmp_path):
    from tests.fakes import seed

    addresses = [TRADER, seed.CROSS_SHORT_SOL, seed.ISOLATED_SHORT_HYPE, seed.SDK_FILLS_USER]
    put_trader(hl_fake)
    passes, samples = 0, []
    enough = asyncio.Event()

    def on_pass(report: PassReport) -> None:  # runs in a pass's task, with the others in flight
        nonlocal passes
        passes += 1
        samples.append(client_tasks())
        if passes >= 60:
            enough.set()

    before = client_tasks()
    async with live_engine(
        hl_fake, tmp_path / "t.duckdb", addresses, max_staleness_s=0.2, on_pass=on_pass
    ) as engine:
        base = client_tasks()  # + the stream's reader
        running = asyncio.create_task(engine.run(enough))
        async with asyncio.timeout(90):
            while not enough.is_set():  # sweeps every 0.5 s, and a trade-triggered pass beside
                hl_fake.ws.trade("ETH", "2899", "0.1", buyer=TRADER, seller="0x" + "55" * 20)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(enough.wait(), 0.3)
            stats = await running
        assert engine_tasks() == set()
    assert client_tasks() == before  # nothing of the engine outlives it
    assert stats.passes >= 60 and stats.refreshes > stats.passes
    # In flight when a pass ends: the engine's three tasks, the stream's four, the re-mark and
    # an alert task, and passes (one sweep, at most one trade-triggered per account), each with
    # a task per account and per dex while it polls. A task kept per pass would cross this
    # bound before the 60th pass, and would raise the median of the last passes.
    bound = base + 3 + 4 + 2 + (1 + len(addresses)) * (1 + len(addresses) + 2)
    assert max(samples) <= bound, samples
    third = len(samples) // 3
    assert statistics.median(samples[-third:]) <= statistics.median(samples[:third]) + 1, samples
