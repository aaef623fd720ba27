"""Storage that scales with change: `tracker run`'s passes store an account when its positions
change and otherwise once per interval; the latest views stay exact (tracker.app.changes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import duckdb
import pytest_asyncio

from tracker.app.history_plan import HistoryPolicy
from tracker.app.poller import HyperliquidPoller
from tracker.app.snapshot_pass import PassReport, snapshot_pass
from tracker.net.http import RetryPolicy
from tracker.net.limiter import WeightLimiter
from tracker.sources.hyperliquid.client import HyperliquidClient

TRADER = "0x" + "e1" * 20
QUIET = "0x" + "e2" * 20
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ETH = {"coin": "ETH", "size": "10", "entry_px": "2900", "leverage": 10, "margin_mode": "cross"}
BTC = {"coin": "BTC", "size": "-1", "entry_px": "60000", "leverage": 5, "margin_mode": "cross"}


@pytest_asyncio.fixture
async def poller(hl_fake: Any) -> AsyncIterator[HyperliquidPoller]:
    async with aiohttp.ClientSession() as session:
        client = HyperliquidClient(
            session, hl_fake.url, limiter=WeightLimiter(0), policy=RetryPolicy()
        )
        yield HyperliquidPoller(client, dexes=("",))


async def one_pass(poller: HyperliquidPoller, db: Path, at_s: float, keep_s: float | None):
    return await snapshot_pass(
        poller,
        db,
        [TRADER, QUIET],
        command="run",
        policy=HistoryPolicy(enabled=False),
        now=lambda: T0 + timedelta(seconds=at_s),
        keep_s=keep_s,
    )


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def stored_at(db: Path, address: str) -> list[float]:
    found = rows(db, f"select ts from account_snapshots where address = '{address}' order by ts")
    return [(ts - T0).total_seconds() for (ts,) in found]


async def test_unchanged_accounts_are_stored_once_per_interval_changes_at_once(
    hl_fake, poller, tmp_path
):
    db = tmp_path / "t.duckdb"
    hl_fake.set_mark("ETH", "2900")
    hl_fake.put_model_account(TRADER, "100000", positions=[ETH])
    hl_fake.put_model_account(QUIET, "100000", positions=[ETH, BTC])

    first = await one_pass(poller, db, 0, keep_s=60)  # never stored: both
    assert (first.accounts_stored, first.positions_stored) == (2, 3)
    hl_fake.set_mark("ETH", "2950")  # marks move every figure, not the positions
    second = await one_pass(poller, db, 20, keep_s=60)
    assert (second.accounts_stored, second.positions_stored) == (0, 0)
    assert second.positions == 3  # read and assessed all the same

    hl_fake.put_model_account(TRADER, "100000", positions=[{**ETH, "size": "12"}])  # a trade
    third = await one_pass(poller, db, 40, keep_s=60)
    assert (third.accounts_stored, third.positions_stored) == (1, 1)
    assert stored_at(db, TRADER) == [0, 40] and stored_at(db, QUIET) == [0]

    # The full snapshot: an unchanged account once its last stored row is an interval old.
    fourth = await one_pass(poller, db, 60, keep_s=60)
    assert stored_at(db, QUIET) == [0, 60] and stored_at(db, TRADER) == [0, 40]
    assert fourth.accounts_stored == 1

    latest = rows(db, "select address, coin, size, mark_px from latest_positions order by all")
    assert [(a, c, float(s)) for a, c, s, _ in latest] == [
        (TRADER, "ETH", 12.0),
        (QUIET, "BTC", 1.0),
        (QUIET, "ETH", 10.0),
    ]
    assert {float(m) for a, c, _, m in latest if c == "ETH"} == {2950.0}


async def test_a_closed_position_leaves_latest_positions_at_once(hl_fake, poller, tmp_path):
    db = tmp_path / "t.duckdb"
    hl_fake.put_model_account(TRADER, "100000", positions=[ETH, BTC])
    hl_fake.put_model_account(QUIET, "100000", positions=[ETH])
    await one_pass(poller, db, 0, keep_s=3600)
    hl_fake.put_model_account(TRADER, "100000", positions=[BTC])  # ETH closed
    closed = await one_pass(poller, db, 5, keep_s=3600)
    assert (closed.accounts_stored, closed.positions_stored) == (1, 1)
    hl_fake.put_model_account(TRADER, "100000", positions=[])  # BTC closed: nothing left
    await one_pass(poller, db, 10, keep_s=3600)
    latest = rows(db, "select address, coin from latest_positions order by all")
    assert latest == [(QUIET, "ETH")]
    accounts = rows(db, "select address, positions from latest_accounts order by all")
    assert accounts == [(TRADER, 0), (QUIET, 1)]
    # history of position changes: every move of the trader, nothing of the quiet account
    assert stored_at(db, TRADER) == [0, 5, 10] and stored_at(db, QUIET) == [0]


async def test_without_keep_every_pass_stores_every_account(hl_fake, poller, tmp_path):
    db = tmp_path / "t.duckdb"
    hl_fake.put_model_account(TRADER, "100000", positions=[ETH])
    hl_fake.put_model_account(QUIET, "100000", positions=[ETH])
    reports: list[PassReport] = [await one_pass(poller, db, s, keep_s=None) for s in (0, 1, 2)]
    assert [r.accounts_stored for r in reports] == [None] * 3
    assert stored_at(db, TRADER) == [0, 1, 2] and stored_at(db, QUIET) == [0, 1, 2]
