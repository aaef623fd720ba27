"""Batched, idempotent writes: one transaction per snapshot, natural keys, ON CONFLICT DO NOTHING.

Rows go to DuckDB as one columnar batch per table (a dict of NumPy arrays registered as a view),
which is about 20x cheaper per row than executemany. Decimals travel as their exact text and are
cast in SQL, so nothing is rounded through floats.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from operator import attrgetter
from typing import Any

import duckdb
import numpy as np

from tracker import resources
from tracker.records import (
    AccountReport,
    AccountSnapshot,
    Fill,
    FundingPayment,
    LedgerEntry,
    Market,
    Position,
    SpotBalance,
)
from tracker.store.db import Store


def epoch_us(ts: datetime | None) -> int | None:
    """Microseconds since the epoch (what the write SQL turns back into TIMESTAMPTZ)."""
    return None if ts is None else int(ts.timestamp() * 1_000_000)


# Every decimal column is DECIMAL(38, 18). DuckDB casts text with more than 18 fractional digits
# about 25x slower than text already at that scale (18 ms for the 2,479 positions of a
# 1,000-account pass, against 0.7), so decimals are rounded here exactly as its cast rounds them:
# half away from zero, which is ROUND_HALF_UP. The stored values are the same either way
# (tests/test_store.py checks it). A value too large for the column is sent as it is, for
# DuckDB to refuse as it always has.
_SCALE = Decimal(1).scaleb(-18)
_AS_STORED = Context(prec=38, rounding=ROUND_HALF_UP)


def decimal_text(value: Decimal | None) -> str | None:
    """A Decimal as the text DuckDB stores in DECIMAL(38, 18) unchanged (see above)."""
    if value is None:
        return None
    try:
        return str(value.quantize(_SCALE, context=_AS_STORED))
    except InvalidOperation:  # too many digits for DECIMAL(38, 18), NaN or infinite
        return str(value)


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a batch: its name, how to read it from a row, its NumPy dtype."""

    name: str
    get: Callable[[Any], Any]
    dtype: str = "object"


def frame(columns: Sequence[Column], rows: Sequence[Any]) -> dict[str, np.ndarray]:
    """Rows as a dict of NumPy arrays, ready for DuckDB to scan."""
    frame: dict[str, np.ndarray] = {}
    for col in columns:
        values = [col.get(r) for r in rows]
        frame[col.name] = np.array(values, dtype=col.dtype)
    return frame


def decimal_column(name: str) -> Column:
    """A Decimal attribute sent as exact text."""
    return Column(name, lambda r: decimal_text(getattr(r, name)))


def attr_column(name: str, dtype: str = "object") -> Column:
    """An attribute sent as is."""
    return Column(name, attrgetter(name), dtype)


_TS = Column("ts_us", lambda r: epoch_us(r.ts), "int64")

ACCOUNT_COLUMNS = (
    _TS,
    attr_column("venue"),
    attr_column("address"),
    attr_column("dex"),
    Column("venue_time_us", lambda r: epoch_us(r.venue_time)),
    decimal_column("account_value_usd"),
    decimal_column("cross_account_value_usd"),
    decimal_column("notional_usd"),
    decimal_column("margin_used_usd"),
    decimal_column("maintenance_margin_usd"),
    decimal_column("withdrawable_usd"),
    decimal_column("shock_to_liq_pct"),
    Column("positions", lambda r: len(r.positions), "int32"),
)
POSITION_COLUMNS = (
    _TS,
    attr_column("venue"),
    attr_column("address"),
    attr_column("dex"),
    attr_column("coin"),
    attr_column("side"),
    decimal_column("size"),
    decimal_column("entry_px"),
    decimal_column("mark_px"),
    decimal_column("notional_usd"),
    decimal_column("unrealized_pnl_usd"),
    decimal_column("roe"),
    attr_column("leverage", "int32"),
    decimal_column("effective_leverage"),
    attr_column("margin_mode"),
    decimal_column("margin_used_usd"),
    decimal_column("maintenance_margin_usd"),
    decimal_column("liquidation_px"),
    decimal_column("venue_liquidation_px"),
    decimal_column("distance_to_liq_pct"),
    attr_column("max_leverage", "int32"),
    decimal_column("cum_funding_since_open_usd"),
)
MARKET_COLUMNS = (
    _TS,
    attr_column("venue"),
    attr_column("dex"),
    attr_column("coin"),
    decimal_column("mark_px"),
    decimal_column("oracle_px"),
    decimal_column("mid_px"),
    decimal_column("funding_rate"),
    decimal_column("open_interest"),
    attr_column("max_leverage", "int32"),
    attr_column("margin_table_id"),
    decimal_column("day_notional_volume_usd"),
    decimal_column("prev_day_px"),
)
FILL_COLUMNS = (
    _TS,
    attr_column("time_ms", "int64"),
    attr_column("venue"),
    attr_column("address"),
    attr_column("coin"),
    attr_column("dex"),
    attr_column("fill_key"),
    attr_column("side"),
    decimal_column("px"),
    decimal_column("size"),
    decimal_column("notional_usd"),
    decimal_column("start_position"),
    attr_column("direction"),
    decimal_column("closed_pnl_usd"),
    decimal_column("fee"),
    attr_column("fee_token"),
    decimal_column("builder_fee"),
    attr_column("crossed"),
    attr_column("hash"),
    attr_column("oid"),
    attr_column("tid"),
    attr_column("twap_id"),
    attr_column("cloid"),
    attr_column("liquidation_method"),
    attr_column("liquidated_user"),
    decimal_column("liquidation_mark_px"),
)
FUNDING_COLUMNS = (
    _TS,
    attr_column("time_ms", "int64"),
    attr_column("venue"),
    attr_column("address"),
    attr_column("coin"),
    decimal_column("amount_usd"),
    decimal_column("position_size"),
    decimal_column("funding_rate"),
    attr_column("samples"),
    attr_column("hash"),
)
LEDGER_COLUMNS = (
    _TS,
    attr_column("time_ms", "int64"),
    attr_column("venue"),
    attr_column("address"),
    attr_column("kind"),
    attr_column("entry_key"),
    decimal_column("amount_usd"),
    attr_column("hash"),
    decimal_column("liquidated_notional_usd"),
    decimal_column("account_value_usd"),
    attr_column("leverage_type"),
    attr_column("liquidated_positions"),
    attr_column("delta"),
)
CURSOR_COLUMNS = (
    attr_column("venue"),
    attr_column("address"),
    attr_column("stream"),
    Column("fetched_at_us", lambda r: epoch_us(r.fetched_at), "int64"),
)
SPOT_COLUMNS = (
    _TS,
    attr_column("venue"),
    attr_column("address"),
    attr_column("coin"),
    decimal_column("total"),
    decimal_column("hold"),
    decimal_column("entry_notional_usd"),
)


def insert_batch(store: Store, table: str, columns: Sequence[Column], rows: Sequence[Any]) -> int:
    """Insert rows through sql/writes/TABLE.sql (inside a transaction); return rows inserted."""
    if not rows:
        return 0
    return insert_frame(store, table, frame(columns, rows))


def insert_frame(store: Store, table: str, batch: Mapping[str, np.ndarray]) -> int:
    """`insert_batch` of rows already as columns (`frame`)."""
    store.con.register("batch", batch)
    try:
        counted = store.con.execute(resources.sql("writes", table)).fetchone()
    except duckdb.Error:
        # The failed statement aborted the transaction, which refuses even the unregister; the
        # caller's rollback drops the view. Raise the statement's own error, not that refusal.
        with contextlib.suppress(duckdb.TransactionException):
            store.con.unregister("batch")
        raise
    store.con.unregister("batch")
    return int(counted[0]) if counted else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryCursor:
    """A history stream of an address read completely up to fetched_at."""

    venue: str
    address: str
    stream: str
    fetched_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryBatch:
    """New history items of a pass and the cursors they complete."""

    fills: Sequence[Fill] = ()
    funding: Sequence[FundingPayment] = ()
    ledger: Sequence[LedgerEntry] = ()
    cursors: Sequence[HistoryCursor] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PassSummary:
    """What a poll pass attempted and achieved, stored in snapshot_runs."""

    ts: datetime
    command: str
    addresses: int
    addresses_ok: int
    positions: int
    finished_at: datetime
    errors: tuple[str, ...]
    weight: int = 0


def write_pass(
    store: Store,
    reports: Iterable[AccountReport],
    markets: Sequence[Market],
    summary: PassSummary | None = None,
    history: HistoryBatch | None = None,
) -> dict[str, int]:
    """Write one pass (accounts, positions, spot, markets, history, run row) in one transaction.

    Returns the rows inserted per table; re-writing what is already stored inserts nothing.
    """
    accounts: list[AccountSnapshot] = []
    positions: list[Position] = []
    spot: list[SpotBalance] = []
    for report in reports:
        accounts.extend(report.accounts)
        positions.extend(report.positions)
        spot.extend(report.spot)
    history = history or HistoryBatch()
    inserted: dict[str, int] = {}
    with store.transaction():
        for table, columns, rows in (
            ("account_snapshots", ACCOUNT_COLUMNS, accounts),
            ("positions", POSITION_COLUMNS, positions),
            ("spot_balances", SPOT_COLUMNS, spot),
            ("markets", MARKET_COLUMNS, markets),
            ("fills", FILL_COLUMNS, history.fills),
            ("funding", FUNDING_COLUMNS, history.funding),
            ("ledger", LEDGER_COLUMNS, history.ledger),
            ("history_cursors", CURSOR_COLUMNS, history.cursors),
        ):
            inserted[table] = insert_batch(store, table, columns, rows)
        if summary is not None:
            store.con.execute(
                resources.sql("writes", "snapshot_runs"),
                [
                    summary.ts,
                    summary.command,
                    summary.addresses,
                    summary.addresses_ok,
                    summary.positions,
                    summary.finished_at,
                    list(summary.errors),
                    inserted["fills"],
                    inserted["funding"],
                    inserted["ledger"],
                    summary.weight,
                ],
            )
    return inserted
