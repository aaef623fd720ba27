"""The tape's outbox (tracker.app.live.outbox) on a real DuckDB file: a store write waits while a
burst is worked off (the tape gets the interpreter), for a bounded time, and stopping stores and
counts everything, a write its cancelled task left behind included."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tracker.app.live import outbox as outbox_module
from tracker.app.live.outbox import TapeOutbox
from tracker.records.events import PositionChange
from tracker.store import open_store

T0 = datetime(2026, 12, 5, tzinfo=UTC)


def change(i: int) -> PositionChange:
    return PositionChange(
        venue="hyperliquid",
        address=f"0x{i + 1:040x}",
        dex="",
        coin="ETH",
        ts=T0,
        size_before=Decimal(0),
        size_after=Decimal(i + 1),
        price=Decimal("3000.5"),
        source="tape",
        ref=f"0x{i:064x}",
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "t.duckdb"
    with open_store(path):  # created and migrated
        pass
    return path


async def until_stored(box: TapeOutbox, count: int) -> None:
    async with asyncio.timeout(5):
        while box.stored < count:  # noqa: ASYNC110  (no event for it)
            await asyncio.sleep(0.05)


def stored(db: Path) -> int:
    with open_store(db, read_only=True) as store:
        row = store.con.execute("select count(*) from position_changes").fetchone()
    assert row is not None
    return int(row[0])


async def test_a_write_waits_while_the_stream_is_behind_then_goes(db: Path) -> None:
    behind = True
    async with asyncio.TaskGroup() as group:
        box = TapeOutbox(
            db, lambda coro, name: group.create_task(coro, name=name), behind=lambda: behind
        )
        box.publish([change(i) for i in range(5)], [])
        await asyncio.sleep(outbox_module.GATHER_S + 0.6)
        assert box.stored == 0 and stored(db) == 0  # held while messages wait
        behind = False
        await until_stored(box, 5)
    assert stored(db) == 5


async def test_the_wait_is_bounded(db: Path) -> None:
    async with asyncio.TaskGroup() as group:
        box = TapeOutbox(
            db,
            lambda coro, name: group.create_task(coro, name=name),
            behind=lambda: True,
            behind_wait_s=0.3,
        )
        box.publish([change(i) for i in range(3)], [])
        await until_stored(box, 3)  # behind for good: the rows still go
    assert stored(db) == 3


async def test_stopping_stores_and_counts_everything(db: Path) -> None:
    tasks: list[asyncio.Task[None]] = []

    def spawn(coro, name):
        task = asyncio.get_running_loop().create_task(coro, name=name)
        tasks.append(task)
        return task

    box = TapeOutbox(db, spawn)
    box.publish([change(i) for i in range(4)], [])
    async with asyncio.timeout(5):
        while box._writing is None:  # noqa: ASYNC110  (a write under way, as at a stop)
            await asyncio.sleep(0.01)
    writing = box._writing
    for task in tasks:
        task.cancel()  # the engine stops: its tasks are cancelled, the write goes on
    await asyncio.gather(*tasks, return_exceptions=True)
    async with asyncio.timeout(5):
        await asyncio.wait([writing])  # and ends before the engine's last flush
    box.publish([change(i) for i in range(4, 6)], [])
    for task in tasks[1:]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await box.flush()
    assert stored(db) == 6 and box.stored == 6
