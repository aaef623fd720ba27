"""`tracker watch` and `tracker query` end to end: a real process, the fake venue, a DuckDB file."""

from __future__ import annotations

import asyncio
import json
import signal
from decimal import Decimal

import duckdb
import pytest

from tests.conftest import run_cli, start_cli, tracker_env
from tests.fakes import seed

WATCHED = [seed.CROSS_LONG_2024, seed.CROSS_SHORT_SOL, seed.ISOLATED_SHORT_HYPE, seed.HIP3_FLX]
POSITION_KEYS = {
    "venue",
    "address",
    "dex",
    "coin",
    "side",
    "size",
    "entry_px",
    "mark_px",
    "notional_usd",
    "unrealized_pnl",
    "roe",
    "leverage",
    "margin_mode",
    "liquidation_px",
    "venue_liquidation_px",
    "distance_to_liq_pct",
}


@pytest.mark.parametrize("address", WATCHED)
async def test_watch_once_json_matches_venue_liquidation_prices(hl_fake, db_path, address):
    result = await run_cli(
        "watch",
        address.upper().replace("0X", "0x"),
        "--once",
        "--json",
        env=tracker_env(hl_fake.url, db_path),
    )
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["address"] == address
    assert {"address", "time", "accounts", "positions"} <= set(doc)
    assert doc["positions"], "seeded account has positions"
    for position in doc["positions"]:
        assert POSITION_KEYS <= set(position)
        assert position["venue"] == "hyperliquid"
        assert isinstance(position["size"], str) and isinstance(position["mark_px"], str)
        venue, ours = position["venue_liquidation_px"], position["liquidation_px"]
        if venue is None:
            assert ours is None
            assert position["distance_to_liq_pct"] is None
        else:
            assert abs(Decimal(ours) / Decimal(venue) - 1) < Decimal("1e-9")
    notionals = [Decimal(p["notional_usd"]) for p in doc["positions"]]
    assert notionals == sorted(notionals, reverse=True)


async def test_builder_dex_position_is_named_with_its_dex(hl_fake, db_path):
    result = await run_cli(
        "watch", seed.HIP3_FLX, "--once", "--json", env=tracker_env(hl_fake.url, db_path)
    )
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    flx = [p for p in doc["positions"] if p["dex"] == "flx"]
    assert flx and all(p["coin"].startswith("flx:") for p in flx)
    assert {a["dex"] for a in doc["accounts"]} >= {"", "flx"}
    requests = {(r.type, r.dex) for r in hl_fake.requests if r.user == seed.HIP3_FLX}
    assert ("clearinghouseState", "flx") in requests


async def test_watch_stores_every_poll_and_query_reads_it(hl_fake, db_path):
    env = tracker_env(hl_fake.url, db_path)
    for _ in range(2):
        assert (await run_cli("watch", seed.CROSS_SHORT_SOL, "--once", env=env)).code == 0
    result = await run_cli(
        "query", "select count(*) as n from positions", "--format", "csv", env=env
    )
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == ["n", "4"]  # two positions, two polls
    latest = await run_cli(
        "query",
        "select coin, liquidation_px, venue_liquidation_px from latest_positions order by coin",
        "--format",
        "json",
        env=env,
    )
    rows = json.loads(latest.stdout)
    assert [r["coin"] for r in rows] == ["ETH", "SOL"]
    sol = rows[1]
    assert abs(Decimal(sol["liquidation_px"]) - Decimal(sol["venue_liquidation_px"])) < Decimal(
        "1e-6"
    )
    markets = (
        duckdb.connect(str(db_path), read_only=True)
        .execute("select count(*) from markets where coin = 'SOL'")
        .fetchone()
    )
    assert markets is not None and markets[0] >= 1


async def test_watch_table_output_shows_positions(hl_fake, db_path):
    result = await run_cli(
        "watch", seed.ISOLATED_SHORT_HYPE, "--once", env=tracker_env(hl_fake.url, db_path)
    )
    assert result.code == 0, result.stderr
    assert "HYPE" in result.stdout and "isolated" in result.stdout and "50.2725" in result.stdout


async def test_live_watch_in_a_table_stops_on_ctrl_c_with_its_last_table(hl_fake, db_path):
    """The README's first command: `tracker watch ADDRESS` live, as a table, until Ctrl-C."""
    address = seed.CROSS_SHORT_SOL
    proc = await start_cli(
        "watch", address, "--interval", "1", env=tracker_env(hl_fake.url, db_path)
    )

    def polls() -> int:
        return sum(
            1
            for r in hl_fake.requests
            if r.type == "clearinghouseState" and r.user == address and r.dex == ""
        )

    try:
        async with asyncio.timeout(30):
            # the first poll was shown before the second went out
            while polls() < 2:  # noqa: ASYNC110  (the fake has no event for a request)
                await asyncio.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(15):
            out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    text = out.decode()
    assert "SOL" in text and "ETH" in text  # the live table, printed as it stops


@pytest.mark.parametrize(
    "bad",
    [
        "0xnothex",
        "0x123",
        "b317d2bc2d3d2df5fa441b5bae0ab9d8b07283ae",
        "0xb317d2bc2d3d2df5fa441b5bae0ab9d8b07283aeff",
        "",
        "0x" + "g" * 40,
    ],
)
async def test_invalid_address_exits_2_with_one_line(hl_fake, db_path, bad):
    result = await run_cli("watch", bad, "--once", env=tracker_env(hl_fake.url, db_path))
    assert result.code == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error:")
    assert not db_path.exists()
    assert not hl_fake.requests


async def test_unreachable_venue_fails_clearly_and_writes_no_positions(db_path):
    env = tracker_env("http://127.0.0.1:9", db_path, TRACKER_HTTP_RETRIES="1")
    result = await run_cli("watch", seed.CROSS_SHORT_SOL, "--once", "--json", env=env)
    assert result.code == 1
    assert "Traceback" not in result.stderr
    assert "connection error" in result.stderr
    con = duckdb.connect(str(db_path), read_only=True)
    assert con.execute("select count(*) from positions").fetchone() == (0,)
    assert con.execute("select addresses_ok from snapshot_runs").fetchall() == [(0,)]


async def test_venue_garbage_is_retried_then_succeeds(hl_fake, db_path):
    hl_fake.faults.fail_next(1, status=429, retry_after=0.1, types={"clearinghouseState"})
    hl_fake.faults.fail_next(1, kind="garbage", types={"clearinghouseState"})
    hl_fake.faults.fail_next(1, status=502, types={"clearinghouseState"})
    result = await run_cli(
        "watch",
        seed.CROSS_SHORT_SOL,
        "--once",
        "--json",
        env=tracker_env(hl_fake.url, db_path, TRACKER_HTTP_RETRIES="4"),
    )
    assert result.code == 0, result.stderr
    assert len(json.loads(result.stdout)["positions"]) == 2
    assert len(hl_fake.faults.fired) == 3
