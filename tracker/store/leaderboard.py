"""Writes of the `leaderboard` table: every row of one read in one transaction."""

from __future__ import annotations

from tracker.records.leaderboard import LEADERBOARD_FIELDS, Leaderboard
from tracker.store.db import Store
from tracker.store.writes import Column, attr_column, decimal_column, epoch_us, insert_batch

_COLUMNS = (
    Column("ts_us", lambda r: epoch_us(r.ts), "int64"),
    attr_column("address"),
    decimal_column("account_value_usd"),
    attr_column("display_name"),
    *(decimal_column(name) for name in LEADERBOARD_FIELDS[4:]),
)


def write_leaderboard(store: Store, board: Leaderboard) -> int:
    """Store every valid row of one read (idempotent on (ts, address)); rows inserted."""
    with store.transaction():
        return insert_batch(store, "leaderboard", _COLUMNS, board.rows)
