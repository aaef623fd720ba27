"""`tracker run` as a real process: passes on schedule, SQL from another process meanwhile,
clean stop on SIGTERM, and a restart that continues without duplicates."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from pathlib import Path

import duckdb

from tests.conftest import run_cli, start_cli, tracker_env
from tests.fakes import seed
from tests.fakes.hyperliquid import FakeHyperliquid
from tests.test_snapshot import write_watchlist

WATCHED = (seed.CROSS_SHORT_SOL, seed.ISOLATED_SHORT_HYPE, seed.SDK_FILLS_USER, seed.HIP3_FLX)


def states(fake: FakeHyperliquid, request_type: str) -> list[str | None]:
    """Users whose request_type the fake has answered so far."""
    return [r.user for r in fake.requests if r.type == request_type]


async def start_daemon(env: dict[str, str], watchlist: Path) -> asyncio.subprocess.Process:
    # These tests are about passes over every address; live mode: test_live.
    args = ("run", "--watchlist", str(watchlist), "--interval", "1", "--no-live")
    return await start_cli(*args, env=env)


async def read_passes(proc: asyncio.subprocess.Process, n: int, timeout: float = 30) -> list[dict]:
    passes = []
    assert proc.stdout is not None
    async with asyncio.timeout(timeout):
        while len(passes) < n:
            line = await proc.stdout.readline()
            assert line, "daemon exited early"
            passes.append(json.loads(line))
    return passes


async def until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for a condition on the fake venue (it has no event to wait on), checked every 20 ms."""
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def read_stderr_until(
    proc: asyncio.subprocess.Process, text: str, timeout: float = 20
) -> str:
    """The daemon's stderr up to and including the first line holding text."""
    assert proc.stderr is not None
    lines: list[str] = []
    async with asyncio.timeout(timeout):
        while not lines or text not in lines[-1]:
            line = await proc.stderr.readline()
            assert line, f"daemon exited before writing {text!r}: {''.join(lines)[-2000:]}"
            lines.append(line.decode())
    return "".join(lines)


async def stop(proc: asyncio.subprocess.Process) -> tuple[int, float, str]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(10):
        _, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, loop.time() - started, err.decode()


async def test_daemon_runs_answers_queries_stops_and_resumes(hl_fake, tmp_path):
    db = tmp_path / "t.duckdb"
    env = tracker_env(hl_fake.url, db, TRACKER_HISTORY_MAX_AGE="0.5")
    watchlist = write_watchlist(tmp_path / "w.toml", *WATCHED)
    daemon = await start_daemon(env, watchlist)
    try:
        first = await read_passes(daemon, 1)
        assert first[0]["event"] == "pass" and first[0]["addresses_ok"] == len(WATCHED)
        assert first[0]["new_fills"] > 500
        answers = []
        for _ in range(4):  # SQL from another process while the daemon keeps writing
            result = await run_cli(
                "query", "select count(*) as n from account_snapshots", "--format", "csv", env=env
            )
            assert result.code == 0, result.stderr
            answers.append(int(result.stdout.splitlines()[1]))
            await asyncio.sleep(0.3)
        assert answers[0] >= len(WATCHED) and answers == sorted(answers)
        await read_passes(daemon, 1)
    finally:
        code, took, err = await stop(daemon)
    assert code == 0, err
    assert took < 5
    assert "Traceback" not in err

    runs_before = (
        duckdb.connect(str(db), read_only=True)
        .execute("select count(*) from snapshot_runs")
        .fetchone()[0]
    )
    restarted = await start_daemon(env, watchlist)
    try:
        again = await read_passes(restarted, 2)
    finally:
        code, _, err = await stop(restarted)
    assert code == 0, err
    assert all(p["new_fills"] == 0 for p in again)  # resumed: nothing fetched twice

    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from snapshot_runs").fetchone()[0] >= runs_before + 2
    dupes = con.execute(
        "select count(*) from (select address, coin, ts, count(*) c from positions "
        "group by all having c > 1)"
    ).fetchone()
    assert dupes == (0,)
    fills = con.execute(
        "select count(*), count(distinct (address, coin, time_ms, fill_key, side)) from fills"
    ).fetchone()
    assert fills[0] == fills[1] == 505  # 500 SDK-cassette fills + 5 of the flx account
    # every pass stored every watched account: no gaps in the snapshot series
    per_pass = con.execute(
        "select count(distinct address) from account_snapshots where dex = '' group by ts"
    ).fetchall()
    assert {n for (n,) in per_pass} == {len(WATCHED)}


async def test_sigint_during_a_slow_pass_stops_promptly_without_a_partial_batch(hl_fake, tmp_path):
    db = tmp_path / "t.duckdb"
    env = tracker_env(hl_fake.url, db)
    hl_fake.faults.delay(3.0, types={"clearinghouseState"})
    watchlist = write_watchlist(tmp_path / "w.toml", *WATCHED)
    daemon = await start_daemon(env, watchlist)
    # The first pass is waiting on the slow venue: each account's spot state has been answered,
    # and its perp state, asked at the same time, is held for 3 s.
    await until(lambda: len(states(hl_fake, "spotClearinghouseState")) == len(WATCHED))
    assert states(hl_fake, "clearinghouseState") == []
    daemon.send_signal(signal.SIGINT)
    async with asyncio.timeout(10):
        _, err = await daemon.communicate()
    assert daemon.returncode == 0, err.decode()
    con = duckdb.connect(str(db), read_only=True)  # created by the pass's first read
    assert con.execute("select count(*) from account_snapshots").fetchone() == (0,)
    assert con.execute("select count(*) from snapshot_runs").fetchone() == (0,)


async def test_history_due_by_age_waits_its_turn_within_its_weight_per_minute(hl_fake, tmp_path):
    # 12 accounts, 60 weight of history each on first sight, 130 a minute: two in the first
    # pass, none in the passes of the same minute, while every pass snapshots all 12.
    accounts = [f"0x{0xB0D6E7 + i:040x}" for i in range(12)]
    for i, address in enumerate(accounts):
        hl_fake.put_model_account(
            address,
            "50000",
            positions=[{"coin": "ETH", "size": str(1 + i), "entry_px": "2500", "leverage": 5}],
        )
    db = tmp_path / "t.duckdb"
    env = tracker_env(  # the main dex only: 12 x 4 weight of state a pass, well in the budget
        hl_fake.url, db, TRACKER_HISTORY_WEIGHT_PER_MIN="130", TRACKER_HL_DEXES="main"
    )
    daemon = await start_daemon(env, write_watchlist(tmp_path / "w.toml", *accounts))
    try:
        passes = await read_passes(daemon, 7, timeout=60)
        daemon.send_signal(signal.SIGUSR1)  # the task dump, for a daemon that seems stuck
        dump = await read_stderr_until(daemon, "run_daemon")
    finally:
        code, _, err = await stop(daemon)
    err = dump + err
    assert code == 0 and "Traceback" not in err
    assert "tracker: " in err and "run_daemon" in err  # every task, and where it waits
    assert all(p["addresses_ok"] == 12 and p["positions"] == 12 for p in passes)
    assert [p["history_read"] for p in passes] == [2] + [0] * 6  # seven passes in a minute
    assert [p["history_postponed"] for p in passes] == [10] * 7
    con = duckdb.connect(str(db), read_only=True)
    read = con.execute("select count(distinct address) from history_cursors").fetchone()
    assert read == (2,)


def test_budget_history_keeps_the_urgent_then_the_longest_unread():
    from datetime import UTC, datetime

    from tracker.app.history_plan import PassState, budget_history

    t = datetime(2026, 1, 31, tzinfo=UTC)
    state = PassState(
        fetched={
            ("old", "fills"): t.replace(hour=1),
            ("older", "fills"): t,
            ("moved", "fills"): t.replace(hour=2),
        }
    )
    plan = {
        "old": ["fills", "ledger"],
        "older": ["fills", "ledger"],
        "moved": ["fills", "ledger"],
        "new": ["fills", "ledger", "funding"],
        "fresh": [],
    }
    kept, postponed, planned = budget_history(plan, {"moved"}, state, max_weight=100)
    # moved is urgent (not counted); new (never read, 60) + older (40) = 100; old waits.
    assert kept == {
        "moved": ["fills", "ledger"],
        "fresh": [],
        "new": ["fills", "ledger", "funding"],
        "older": ["fills", "ledger"],
        "old": [],
    }
    assert (postponed, planned) == (1, 100)
    assert budget_history(plan, set(), state, None) == (plan, 0, 0)


def test_the_history_allowance_is_per_minute_across_passes():
    from tracker.app.history_plan import HistoryAllowance

    now = [0.0]
    allowance = HistoryAllowance(600, clock=lambda: now[0])
    allowance.spend(500)
    now[0] = 30.0
    assert allowance.available() == 100
    allowance.spend(100)
    now[0] = 60.5  # the first spend has left the minute
    assert allowance.available() == 500
