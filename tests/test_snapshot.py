"""`tracker snapshot`: watchlist passes, history paging, the 10,000-fill cap, no duplicates."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import aiohttp
import duckdb
import pytest

from tests.conftest import run_cli, tracker_env
from tests.fakes import seed
from tests.history_data import make_fills
from tracker.app.poller import HyperliquidPoller
from tracker.app.snapshot_pass import snapshot_pass
from tracker.net.http import RetryPolicy
from tracker.net.limiter import WeightLimiter
from tracker.sources.hyperliquid.client import HyperliquidClient

WHALE = "0x00000000000000000000000000000000000b0b0b"


def write_watchlist(path: Path, *addresses: str, interval: float | None = None) -> Path:
    lines = [f"interval = {interval}"] if interval else []
    for i, address in enumerate(addresses):
        lines += ["[[address]]", f'address = "{address}"', f'label = "watched {i}"', ""]
    path.write_text("\n".join(lines) + "\n")
    return path


def count(db: Path, sql: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(sql).fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


@pytest.fixture
def whale(hl_fake):
    """A modelled ETH long whose 12,500 fills exceed what the venue keeps (10,000)."""
    fills, size = make_fills(12_500)
    hl_fake.put_fills(WHALE, list(reversed(fills)))
    hl_fake.put_model_account(
        WHALE,
        "50000000",
        positions=[
            {
                "coin": "ETH",
                "size": str(size),
                "entry_px": "2900",
                "leverage": 10,
                "margin_mode": "cross",
            }
        ],
    )
    return fills


async def test_two_passes_store_each_fill_once_and_positions_once_per_pass(
    hl_fake, tmp_path, whale
):
    watchlist = write_watchlist(
        tmp_path / "w.toml", WHALE, seed.CROSS_SHORT_SOL, seed.SDK_FILLS_USER
    )
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb")
    first = await run_cli("snapshot", "--watchlist", str(watchlist), "--json", env=env)
    assert first.code == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["addresses_ok"] == 3 and report["failed"] == {}
    assert report["new_fills"] == 10_000 + 500  # only the newest 10,000 of the whale exist
    assert "backfill" in first.stderr  # progress on the long backfill
    second = await run_cli("snapshot", "--watchlist", str(watchlist), "--json", env=env)
    assert second.code == 0
    assert json.loads(second.stdout)["new_fills"] == 0
    db = tmp_path / "t.duckdb"
    assert count(db, "select count(*) from fills") == 10_500
    assert (
        count(
            db,
            "select count(*) from (select distinct address, coin, time_ms, fill_key, "
            "side from fills)",
        )
        == 10_500
    )
    assert count(db, "select count(distinct ts) from positions") == 2
    assert count(db, "select count(*) from positions") == 2 * 3  # whale ETH + SOL short's two
    newest = max(f["time"] for f in whale)
    assert (
        count(db, f"select min(time_ms) from fills where address = '{WHALE}'")
        == (whale[2_500]["time"])
    )
    assert count(db, f"select max(time_ms) from fills where address = '{WHALE}'") == newest


async def test_paging_crosses_2000_fill_pages_and_reports_weight(hl_fake, tmp_path, whale):
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb")
    watchlist = write_watchlist(tmp_path / "w.toml", WHALE)
    result = await run_cli("snapshot", "-w", str(watchlist), "--json", env=env)
    assert result.code == 0, result.stderr
    pages = [r for r in hl_fake.requests if r.type == "userFillsByTime"]
    assert len(pages) == 6  # 5 full pages of 2000 and a last one holding the boundary fill
    report = json.loads(result.stdout)
    assert report["weight"] == hl_fake.weight_used()


async def test_incremental_run_reads_only_new_fills(hl_fake, tmp_path, whale):
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb", TRACKER_HISTORY_MAX_AGE="0.001")
    watchlist = write_watchlist(tmp_path / "w.toml", WHALE)
    assert (await run_cli("snapshot", "-w", str(watchlist), env=env)).code == 0
    more, _ = make_fills(
        300,
        start_ms=whale[-1]["time"] + 1000,
        seed=2,
        start_position=Decimal(whale[-1]["startPosition"]),
    )
    hl_fake.put_fills(WHALE, list(reversed(whale + more)))
    hl_fake.requests.clear()
    result = await run_cli("snapshot", "-w", str(watchlist), "--json", env=env)
    assert json.loads(result.stdout)["new_fills"] == 300
    pages = [r for r in hl_fake.requests if r.type == "userFillsByTime"]
    assert len(pages) == 1  # resumed from the newest stored fill, not from the start
    assert count(tmp_path / "t.duckdb", "select count(*) from fills") == 10_300


async def test_history_older_than_the_venue_keeps_is_reported_as_a_gap(hl_fake, tmp_path, whale):
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb", TRACKER_HISTORY_MAX_AGE="0.001")
    watchlist = write_watchlist(tmp_path / "w.toml", WHALE)
    assert (await run_cli("snapshot", "-w", str(watchlist), env=env)).code == 0
    more, _ = make_fills(10_500, start_ms=whale[-1]["time"] + 1000, seed=3)
    hl_fake.put_fills(WHALE, list(reversed(whale + more)))
    result = await run_cli("snapshot", "-w", str(watchlist), "--json", env=env)
    assert json.loads(result.stdout)["history_gaps"] == [WHALE]


async def test_position_events_follow_fills_and_end_at_the_snapshot(hl_fake, tmp_path, whale):
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb")
    watchlist = write_watchlist(tmp_path / "w.toml", WHALE)
    assert (await run_cli("snapshot", "-w", str(watchlist), env=env)).code == 0
    con = duckdb.connect(str(tmp_path / "t.duckdb"), read_only=True)
    kinds = dict(con.execute("select kind, count(*) from position_events group by 1").fetchall())
    assert set(kinds) <= {"open", "increase", "reduce", "close", "flip"}
    assert sum(kinds.values()) == 10_000
    last_after, snapshot_size = con.execute(
        "select (select size_after from position_events where address = $a order by time_ms desc"
        " limit 1), (select size from latest_positions where address = $a)",
        {"a": WHALE},
    ).fetchone()
    assert last_after == snapshot_size
    chain_breaks = con.execute(
        "select count(*) from (select size_after, lead(size_before) over (order by time_ms) nxt"
        " from position_events where address = $a) where nxt is not null and nxt <> size_after",
        {"a": WHALE},
    ).fetchone()
    assert chain_breaks == (0,)


async def test_a_failing_address_exits_1_and_the_others_are_stored(hl_fake, tmp_path):
    def break_hype_account(body):
        if [e["position"]["coin"] for e in body.get("assetPositions", [])] == ["HYPE"]:
            return {"unexpected": True}
        return body

    hl_fake.faults.drift(break_hype_account, types={"clearinghouseState"})
    watchlist = write_watchlist(tmp_path / "w.toml", seed.ISOLATED_SHORT_HYPE, seed.CROSS_SHORT_SOL)
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb")
    result = await run_cli("snapshot", "-w", str(watchlist), "--json", env=env)
    assert result.code == 1
    report = json.loads(result.stdout)
    assert list(report["failed"]) == [seed.ISOLATED_SHORT_HYPE]
    assert "Traceback" not in result.stderr
    assert count(tmp_path / "t.duckdb", "select count(*) from positions") == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[[address]]\naddress = "0x12"\nlabel = "x"\n', "entry 1"),
        ("[[address]\n", "w.toml"),
        (
            '[[address]]\naddress = "0x' + "1" * 40 + '"\nlabel = "a"\nvenues = ["solana"]\n',
            "solana",
        ),
    ],
)
async def test_bad_watchlist_exits_2_and_stores_nothing(hl_fake, tmp_path, content, message):
    (tmp_path / "w.toml").write_text(content)
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb")
    result = await run_cli("snapshot", "-w", str(tmp_path / "w.toml"), env=env)
    assert result.code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "t.duckdb").exists()
    assert not hl_fake.requests


async def test_passes_started_together_keep_their_own_run_rows(hl_fake, tmp_path):
    # Live mode runs passes side by side; ones started in the same millisecond once shared the
    # time keying snapshot_runs, and all but one run row was dropped while their snapshots
    # were kept.
    accounts = [
        seed.CROSS_LONG_2024,
        seed.CROSS_SHORT_SOL,
        seed.EMPTY_ACCOUNT,
        seed.ISOLATED_SHORT_HYPE,
        seed.DOCS_ISOLATED_ETH,
        seed.HIP3_FLX,
    ]
    db = tmp_path / "t.duckdb"
    async with aiohttp.ClientSession() as session:
        client = HyperliquidClient(
            session, hl_fake.url, limiter=WeightLimiter(0), policy=RetryPolicy()
        )
        poller = HyperliquidPoller(client)
        reports = await asyncio.gather(
            *(
                snapshot_pass(poller, db, [a], command="run", history_required=False)
                for a in accounts
            )
        )
    assert len({r.ts for r in reports}) == len(accounts)
    con = duckdb.connect(str(db), read_only=True)
    runs = con.execute(
        "select r.ts, r.addresses, r.positions, count(distinct s.address), "
        "(select count(*) from positions p where p.ts = r.ts) "
        "from snapshot_runs r left join account_snapshots s on s.ts = r.ts "
        "group by all order by r.ts"
    ).fetchall()
    assert len(runs) == len(accounts)
    for _, addresses, positions, snapshotted, stored_positions in runs:
        assert (addresses, positions) == (1, stored_positions) and snapshotted == 1
    assert sum(r[2] for r in runs) == sum(r.positions for r in reports) > 0
