"""Writes of the tape-driven book: `position_changes` and `tape_drift` (sql/migrations/007)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from tracker.records.events import PositionChange, TapeDrift
from tracker.store.db import Store
from tracker.store.writes import Column, attr_column, epoch_us, insert_batch, insert_frame


def _plain(value: Decimal | None) -> str | None:
    """Fixed-point text (DuckDB casts it exactly; `str` may give an exponent)."""
    return None if value is None else format(value, "f")


def _decimal(name: str) -> Column:
    return Column(name, lambda r: _plain(getattr(r, name)))


_CHANGE_COLUMNS = (
    Column("ts_us", lambda c: epoch_us(c.ts), "int64"),
    Column("time_ms", lambda c: round(c.ts.timestamp() * 1000), "int64"),
    attr_column("venue"),
    attr_column("address"),
    attr_column("dex"),
    attr_column("coin"),
    attr_column("kind"),
    _decimal("size_before"),
    _decimal("size_after"),
    _decimal("price"),
    _decimal("notional_usd"),
    attr_column("source"),
    attr_column("ref"),
)

_DRIFT_COLUMNS = (
    Column("ts_us", lambda d: epoch_us(d.ts), "int64"),
    attr_column("venue"),
    attr_column("address"),
    attr_column("dex"),
    attr_column("coin"),
    attr_column("trades", "int64"),
    _decimal("size_estimate"),
    _decimal("size_venue"),
    _decimal("entry_px_estimate"),
    _decimal("entry_px_venue"),
    _decimal("liquidation_px_estimate"),
    _decimal("liquidation_px_venue"),
    _decimal("size_drift"),
    Column("entry_px_drift", lambda d: d.entry_px_drift),
    Column("liquidation_px_drift", lambda d: d.liquidation_px_drift),
)


def change_frame(changes: Sequence[PositionChange]) -> dict[str, np.ndarray]:
    """`frame(_CHANGE_COLUMNS, changes)` in one pass a change: a busy tape stores ~12,000 a
    second from a thread that holds the interpreter meanwhile, and the generic frame's call per
    column and row took ~1.4x as long."""
    rows = []
    for c in changes:
        t = c.ts.timestamp()
        before, after, price = c.size_before, c.size_after, c.price
        rows.append(
            (
                int(t * 1_000_000),  # epoch_us
                round(t * 1000),
                c.venue,
                c.address,
                c.dex,
                c.coin,
                c.kind,
                format(before, "f"),
                format(after, "f"),
                format(price, "f"),
                format(abs(after - before) * price, "f"),  # notional_usd
                c.source,
                c.ref,
            )
        )
    columns = zip(*rows, strict=True) if rows else ((),) * len(_CHANGE_COLUMNS)
    return {
        col.name: np.array(values, dtype=col.dtype)
        for col, values in zip(_CHANGE_COLUMNS, columns, strict=True)
    }


def write_tape(
    store: Store, changes: Sequence[PositionChange], drift: Sequence[TapeDrift] = ()
) -> tuple[int, int]:
    """Store position changes and drift rows in one transaction (idempotent); rows inserted."""
    with store.transaction():
        stored = insert_frame(store, "position_changes", change_frame(changes)) if changes else 0
        return stored, insert_batch(store, "tape_drift", _DRIFT_COLUMNS, drift)
