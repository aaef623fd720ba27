"""The `universe` table of `tracker run --discover` and which of its accounts were seen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tracker import resources
from tracker.store.db import Store
from tracker.store.writes import Column, attr_column, decimal_column, epoch_us, insert_batch
from tracker.venues import HYPERLIQUID


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """One account of the universe at one leaderboard read."""

    address: str
    account_value_usd: Decimal
    display_name: str | None
    min_account_value_usd: Decimal
    ts: datetime


_COLUMNS = (
    attr_column("address"),
    decimal_column("account_value_usd"),
    attr_column("display_name"),
    decimal_column("min_account_value_usd"),
    Column("ts_us", lambda r: epoch_us(r.ts), "int64"),
)


def replace_universe(store: Store, members: Sequence[Member]) -> int:
    """The universe becomes these members, in one transaction; rows written."""
    with store.transaction():
        store.con.execute("DELETE FROM universe")
        return insert_batch(store, "universe", _COLUMNS, members)


def last_stored(store: Store, addresses: Sequence[str]) -> dict[str, datetime]:
    """When each address was last stored; addresses never stored are absent."""
    if not addresses:
        return {}
    rows = store.con.execute(
        resources.sql("reads", "universe_seen"),
        {"venue": HYPERLIQUID, "addresses": list(addresses)},
    ).fetchall()
    return {address: ts for address, ts in rows}
