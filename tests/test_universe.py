"""`tracker run --discover USD` against the fake venue: the leaderboard's large accounts tracked
beside the watchlists, in polling and live mode, resumed after a restart."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, start_cli, tracker_env
from tests.fakes.hyperliquid import FakeHyperliquid
from tests.fakes.leaderboard import leaderboard_row
from tests.test_daemon import read_passes
from tests.test_live import read_all
from tests.test_snapshot import write_watchlist

HOSTILE = "@everyone <b>[red]x[/red]</b>\nline"
WATCHED = "0x" + "a1" * 20
BIG = "0x" + "b1" * 20  # $5M, a hostile display name
MID = "0x" + "b2" * 20  # $2M, no display name
EXACT = "0x" + "b3" * 20  # exactly $1M: in
SMALL = "0x" + "c1" * 20  # a cent under $1M: out
LATER = "0x" + "d1" * 20  # $10M, listed on a later read
ETH_LONG = {"coin": "ETH", "size": "10", "entry_px": "2900", "leverage": 10, "margin_mode": "cross"}


def board(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        leaderboard_row(WATCHED, "3000000", "a leaderboard name, not the watchlist's"),
        leaderboard_row(SMALL, "999999.99", "small"),
        leaderboard_row(EXACT, "1000000", "exact"),
        leaderboard_row(MID, "2000000", None),
        leaderboard_row(BIG, "5000000", HOSTILE),
        *extra,
    ]


async def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows from the running daemon's database, waiting out the moments a pass holds it."""
    return await read_all(db, sql)


async def until(check: Any, timeout: float = 30.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (value := await check()):  # noqa: ASYNC110  (the daemon is another process)
            await asyncio.sleep(0.2)
    return value


async def stored(db: Path) -> set[str]:
    if not await asyncio.to_thread(db.exists):
        return set()
    return {a for (a,) in await query(db, "select distinct address from account_snapshots")}


def users(fake: FakeHyperliquid, *types: str) -> list[str | None]:
    return [r.user for r in fake.requests if r.type in types]


async def stop(proc: asyncio.subprocess.Process) -> str:
    proc.send_signal(15)
    async with asyncio.timeout(15):
        _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    return err.decode()


async def test_polling_tracks_the_accounts_at_or_above_usd_rereads_and_keeps_labels(
    hl_fake, tmp_path
):
    hl_fake.put_leaderboard(board())
    hl_fake.set_mark("ETH", "2900")
    for account in (WATCHED, BIG):  # cross raw USD: $3,000 of equity behind $29,000 of ETH
        hl_fake.put_model_account(account, "-26000", positions=[ETH_LONG])
    db = tmp_path / "t.duckdb"
    env = tracker_env(
        hl_fake.url, db, TRACKER_HL_STATS_URL=hl_fake.url, TRACKER_DISCOVER_INTERVAL="1"
    )
    watchlist = write_watchlist(tmp_path / "w.toml", WATCHED)
    args = ("run", "-w", str(watchlist), "--discover", "1000000", "--no-live", "--interval", "1")
    daemon = await start_cli(*args, env=env)
    try:
        await until(lambda: _has(db, {WATCHED, BIG, MID, EXACT}))
        rows = await query(db, "select address, display_name from universe order by address")
        assert rows == [(BIG, HOSTILE), (MID, None), (EXACT, "exact")]  # verbatim, no watched
        assert SMALL not in users(hl_fake, "clearinghouseState")
        universe_only = {BIG, MID, EXACT}
        assert not universe_only & set(
            users(hl_fake, "spotClearinghouseState", "userFills", "userFillsByTime", "userFunding")
        )  # state only: one clearinghouseState on the main dex
        assert WATCHED in users(hl_fake, "spotClearinghouseState")  # watchlists as before

        # The next read lists one more account: it is tracked too, and was stored as read.
        # The next read lists one more account and one less (MID fell under $1M): the new one
        # is tracked too, the other dropped; each read is stored whole.
        later = board(leaderboard_row(LATER, "10000000", "later"))
        later[3] = leaderboard_row(MID, "999999", None)
        hl_fake.put_leaderboard(later)
        await until(lambda: _has(db, {LATER}))
        reads = await query(db, "select count(distinct ts) from leaderboard")
        assert reads[0][0] >= 2
        rows = await query(db, "select address from universe order by address")
        assert rows == [(BIG,), (EXACT,), (LATER,)]

        # A crash near both liquidation prices: alerts carry the watchlist's label for the
        # watched account and the leaderboard's name, verbatim, for the universe account.
        ((liq,),) = await query(
            db, f"select liquidation_px from latest_positions where address = '{BIG}'"
        )
        hl_fake.set_mark("ETH", str(liq * Decimal("1.03")))

        async def alerted() -> dict[str, Any] | None:
            listing = await run_cli("alerts", "--json", env=env)
            near = {a["address"]: a for a in json.loads(listing.stdout)}
            return near if {WATCHED, BIG} <= near.keys() else None

        near = await until(alerted)
        assert near[WATCHED]["label"] == "watched 0"
        assert near[BIG]["label"] == HOSTILE
        passes = await read_passes(daemon, 1)
        assert passes[0]["event"] == "pass"
    finally:
        await stop(daemon)
    status = json.loads((await run_cli("status", "--json", env=env)).stdout)
    assert status["universe"]["accounts"] == 3 and status["universe"]["seen"] == 3


async def _rows_at_least(db: Path, address: str, count: int) -> bool:
    sql = f"select count(*) from account_snapshots where address = '{address}'"
    return int((await query(db, sql))[0][0]) >= count


async def _has(db: Path, addresses: set[str]) -> bool:
    return addresses <= await stored(db)


@pytest.mark.parametrize("mode", ["--no-live", "--live"])
async def test_a_restart_sweeps_only_the_never_seen_largest_first(hl_fake, tmp_path, mode):
    first = [leaderboard_row(f"0x{i:040x}", str(2_000_000 + i)) for i in range(1, 6)]
    hl_fake.put_leaderboard(first)
    db = tmp_path / "t.duckdb"
    env = tracker_env(
        hl_fake.url,
        db,
        TRACKER_HL_STATS_URL=hl_fake.url,
        TRACKER_HL_CONCURRENCY="1",  # requests in the scheduler's order
        TRACKER_WATCHLISTS_DIR=str(tmp_path / "none"),  # no watchlist: the universe only
    )
    args = ("run", "--discover", "1000000", mode, "--interval", "600")

    async def swept(accounts: int) -> None:
        async def done() -> bool:
            doc = json.loads((await run_cli("status", "--json", env=env)).stdout)
            universe = doc.get("universe")
            return bool(universe) and universe["accounts"] == universe["seen"] == accounts

        await until(done)

    daemon = await start_cli(*args, env=env)
    try:
        await swept(5)
    finally:
        await stop(daemon)
    swept_first = users(hl_fake, "clearinghouseState")
    if mode == "--no-live":  # one pass, in the scheduler's order: largest account value first
        assert swept_first == [r["ethAddress"] for r in reversed(first)]
    assert set(swept_first) == {r["ethAddress"] for r in first}

    later = [leaderboard_row(f"0x{i:040x}", str(1_000_000 + i)) for i in range(100, 104)]
    hl_fake.put_leaderboard([*first, *later])
    hl_fake.requests.clear()
    daemon = await start_cli(*args, env=env)
    try:
        await swept(9)
    finally:
        await stop(daemon)
    # The five seen before are not due within --interval: only the new ones are read.
    swept_again = users(hl_fake, "clearinghouseState")
    if mode == "--no-live":
        assert swept_again == [r["ethAddress"] for r in reversed(later)]
    assert set(swept_again) == {r["ethAddress"] for r in later}


async def test_live_mode_sweeps_the_universe_and_reports_progress(hl_fake, tmp_path):
    hl_fake.put_leaderboard(board())
    hl_fake.set_mark("ETH", "2900")
    hl_fake.put_model_account(BIG, "-26000", positions=[ETH_LONG])
    hl_fake.put_model_account(WATCHED, "-26000", positions=[ETH_LONG])
    db = tmp_path / "t.duckdb"
    env = tracker_env(hl_fake.url, db, TRACKER_HL_STATS_URL=hl_fake.url)
    watchlist = write_watchlist(tmp_path / "w.toml", WATCHED)
    daemon = await start_cli(
        "run", "-w", str(watchlist), "--discover", "1000000", "--interval", "600", env=env
    )
    try:
        await until(lambda: _has(db, {WATCHED, BIG, MID, EXACT}))

        async def swept() -> dict[str, Any] | None:
            doc = json.loads((await run_cli("status", "--json", env=env)).stdout)
            section = (doc.get("daemon") or {}).get("universe")
            return doc if section and section["seen"] == 3 else None

        doc = await swept() or await until(swept)
        assert doc["daemon"]["mode"] == "live"
        assert doc["daemon"]["universe"]["accounts"] == 3
        assert doc["daemon"]["accounts"] == 4
        assert SMALL not in users(hl_fake, "clearinghouseState")
        assert BIG not in users(hl_fake, "spotClearinghouseState")
        status = await run_cli("status", env=env)
        assert "universe (tracker run --discover 1000000): " in status.stdout

        # A trade names BIG: it is refreshed at once, but its positions did not change, so
        # nothing is stored within --interval; once they change, the refresh is stored.
        def refreshes() -> int:
            return users(hl_fake, "clearinghouseState").count(BIG)

        async def rows_of_big() -> int:
            sql = f"select count(*) from account_snapshots where address = '{BIG}'"
            return int((await query(db, sql))[0][0])

        async def refreshed_after(count: int) -> bool:
            doc = json.loads((await run_cli("status", "--json", env=env)).stdout)
            return refreshes() > count and doc["daemon"]["refreshes"] > done

        assert await rows_of_big() == 1
        before = refreshes()
        done = doc["daemon"]["refreshes"]
        hl_fake.ws.trade("ETH", "2899", "0.1", buyer=BIG, seller="0x" + "55" * 20)
        await until(lambda: refreshed_after(before))
        assert await rows_of_big() == 1
        hl_fake.put_model_account(BIG, "-26000", positions=[{**ETH_LONG, "size": "12"}])
        hl_fake.ws.trade("ETH", "2899", "2", buyer=BIG, seller="0x" + "55" * 20)
        await until(lambda: _rows_at_least(db, BIG, 2))
        ((size,),) = await query(
            db, f"select size from latest_positions where address = '{BIG}' and coin = 'ETH'"
        )
        assert size == 12
    finally:
        await stop(daemon)


async def test_bad_discover_input_is_one_line_and_exit_2(hl_fake, tmp_path):
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb", TRACKER_DISCOVER_INTERVAL="soon")
    bad_env = await run_cli("run", "--discover", "1000000", "--no-live", env=env)
    assert bad_env.code == 2
    assert bad_env.stderr.strip().splitlines() == [
        "error: TRACKER_DISCOVER_INTERVAL must be a number of seconds, got 'soon'"
    ]
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb", TRACKER_DISCOVER_INTERVAL="inf")
    infinite = await run_cli("run", "--discover", "1000000", env=env)
    assert infinite.code == 2 and "TRACKER_DISCOVER_INTERVAL" in infinite.stderr
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb")
    for value in ("-5", "lots"):
        bad = await run_cli("run", "--discover", value, env=env)
        assert bad.code == 2, bad.stderr
        lines = bad.stderr.strip().splitlines()
        assert len(lines) == 1 and "--discover must be" in lines[0], lines


async def test_a_builder_dex_is_read_for_a_universe_account_once_the_tape_shows_it_trading_there(
    hl_fake, tmp_path
):
    hl_fake.put_leaderboard(board())
    hl_fake.set_mark("ETH", "2900")
    hl_fake.put_model_account(BIG, "-26000", positions=[ETH_LONG])
    crcl = {"coin": "flx:CRCL", "size": "100", "entry_px": "150", "leverage": 5}
    hl_fake.put_model_account(BIG, "20000", positions=[crcl], dex="flx")
    db = tmp_path / "t.duckdb"
    env = tracker_env(hl_fake.url, db, TRACKER_HL_STATS_URL=hl_fake.url)
    watchlist = write_watchlist(tmp_path / "w.toml", WATCHED)
    daemon = await start_cli("run", "-w", str(watchlist), "--discover", "1000000", env=env)
    try:

        def flx_reads() -> int:
            return sum(
                1
                for r in hl_fake.requests
                if r.type == "clearinghouseState" and r.user == BIG and r.dex == "flx"
            )

        async def swept() -> bool:
            doc = json.loads((await run_cli("status", "--json", env=env)).stdout)
            section = (doc.get("daemon") or {}).get("universe")
            return bool(section and section["seen"] == 3)

        async def followed() -> bool:
            return hl_fake.ws.subscribers("trades", coin="flx:CRCL") > 0

        async def read_on_flx() -> bool:
            return flx_reads() > 0

        await until(swept)
        await until(followed)
        assert flx_reads() == 0  # a universe account: the main dex only, until ...
        hl_fake.ws.trade("flx:CRCL", "150", "1", buyer=BIG, seller="0x" + "55" * 20)
        await until(read_on_flx)  # ... the tape shows it trading on flx

        async def crcl_stored() -> list[tuple[Any, ...]]:
            sql = (
                "select dex, size from latest_positions "
                f"where address = '{BIG}' and coin = 'flx:CRCL'"
            )
            return await query(db, sql)

        assert await until(crcl_stored) == [("flx", 100)]
        assert flx_reads() >= 1 and SMALL not in users(hl_fake, "clearinghouseState")
    finally:
        await stop(daemon)
