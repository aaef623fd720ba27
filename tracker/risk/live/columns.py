"""The book's storage: one float64/int column per field, rows = positions, slots = accounts.

Rows are appended at the tail and tombstoned on removal (alive False, slot 0, size 0, so a dead
row adds nothing to any per-account sum); `compact` squeezes them out when they pile up. Slot 0
is the bin dead rows point to and never holds an account. Capacity doubles, so appends are
amortised O(1) and a refresh of one account costs O(its positions).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from tracker.records import VenueAccount, VenuePosition

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]
Bools = NDArray[np.bool_]

# Inputs set at refresh (upsert), then the mark and the results of the last recompute.
ROW_FLOATS = (
    "size",  # signed coins
    "entry",  # entry price, NaN when the venue gave none
    "upnl0",  # the venue's unrealized PnL at refresh (used when there is no entry price)
    "mark0",  # mark at refresh: positionValue / |size|
    "iso_equity0",  # isolated: rawUsd + size * mark0, or marginUsed when rawUsd is unknown
    "iso_follows",  # isolated: 1.0 when its equity moves with the mark (rawUsd known), else 0.0
    "margin_used0",  # the venue's marginUsed at refresh
    "mark",
    "notional",
    "pnl",
    "maintenance",
    "liq",  # NaN = none (the formula gives <= 0)
    "distance",  # % of mark, NaN when liq is NaN
)
ROW_INTS = ("acct", "coin", "tbl")
ROW_BOOLS = ("alive", "cross")
SLOT_FLOATS = (
    "value0",  # cross account value at refresh
    "offset",  # the venue's crossMaintenanceMarginUsed minus ours at refresh, held constant
    "total_value0",  # accountValue incl. isolated at refresh
    "notional0",  # totalNtlPos at refresh
    "margin_used0",  # totalMarginUsed at refresh
    "ts",  # epoch seconds of the marks the results are at
    "equity",  # cross account value now
    "cross_maintenance",  # ours, sum over cross legs now (without offset)
    "shock",  # % uniform move to cross maintenance, NaN = none
)
SLOT_BOOLS = ("alive",)


class Columns:
    """Growable structure-of-arrays; `n` rows and `slots` slots are in use."""

    def __init__(self, rows: int = 1024, slots: int = 256) -> None:
        self.n = 0
        self.slots = 1  # slot 0 is the bin
        self.dead = 0
        self.row: dict[str, NDArray[np.generic]] = {}
        self.slot: dict[str, NDArray[np.generic]] = {}
        self._alloc_rows(rows)
        self._alloc_slots(slots)

    # Typed accessors keep the kernels readable: cols.f("mark")[sel].
    def f(self, name: str) -> Floats:
        """A float row column."""
        return self.row[name]  # type: ignore[return-value]

    def i(self, name: str) -> Ints:
        """An int row column."""
        return self.row[name]  # type: ignore[return-value]

    def b(self, name: str) -> Bools:
        """A bool row column."""
        return self.row[name]  # type: ignore[return-value]

    def sf(self, name: str) -> Floats:
        """A float slot column."""
        return self.slot[name]  # type: ignore[return-value]

    def sb(self, name: str) -> Bools:
        """A bool slot column."""
        return self.slot[name]  # type: ignore[return-value]

    def _alloc_rows(self, capacity: int) -> None:
        for name in ROW_FLOATS:
            self.row[name] = _grown(self.row.get(name), capacity, np.float64, np.nan)
        for name in ROW_INTS:
            self.row[name] = _grown(self.row.get(name), capacity, np.intp, 0)
        for name in ROW_BOOLS:
            self.row[name] = _grown(self.row.get(name), capacity, np.bool_, False)

    def _alloc_slots(self, capacity: int) -> None:
        for name in SLOT_FLOATS:
            self.slot[name] = _grown(self.slot.get(name), capacity, np.float64, np.nan)
        for name in SLOT_BOOLS:
            self.slot[name] = _grown(self.slot.get(name), capacity, np.bool_, False)

    def add_rows(self, count: int) -> range:
        """Indices of `count` fresh rows at the tail."""
        need = self.n + count
        capacity = len(self.row["size"])
        if need > capacity:
            self._alloc_rows(max(need, 2 * capacity))
        start, self.n = self.n, need
        return range(start, need)

    def add_slot(self) -> int:
        """A fresh slot index."""
        capacity = len(self.slot["alive"])
        if self.slots >= capacity:
            self._alloc_slots(2 * capacity)
        self.slots += 1
        return self.slots - 1

    def write_row(self, row: int, p: VenuePosition, *, slot: int, coin: int, tbl: int) -> None:
        """Store one position as the venue reported it at refresh."""
        f = self.row
        mark0 = p.position_value_usd / abs(p.size)
        raw = p.isolated_raw_usd
        f["size"][row] = float(p.size)
        f["entry"][row] = np.nan if p.entry_px is None else float(p.entry_px)
        f["upnl0"][row] = float(p.unrealized_pnl_usd)
        f["mark0"][row] = f["mark"][row] = float(mark0)
        f["iso_equity0"][row] = float(p.margin_used_usd if raw is None else raw + p.size * mark0)
        f["iso_follows"][row] = 0.0 if raw is None else 1.0
        f["margin_used0"][row] = float(p.margin_used_usd)
        f["acct"][row], f["coin"][row], f["tbl"][row] = slot, coin, tbl
        f["alive"][row] = True
        f["cross"][row] = p.margin_mode == "cross"

    def write_opened(
        self,
        row: int,
        *,
        slot: int,
        coin: int,
        tbl: int,
        size: float,
        px: float,
        mark: float,
        margin_used: float,
    ) -> None:
        """Store a cross position the tape opened at `px`, valued at `mark`."""
        f = self.row
        f["size"][row], f["entry"][row] = size, px
        f["upnl0"][row] = size * (mark - px)
        f["mark0"][row] = f["mark"][row] = mark
        f["iso_equity0"][row] = f["margin_used0"][row] = margin_used
        f["iso_follows"][row] = 0.0
        f["acct"][row], f["coin"][row], f["tbl"][row] = slot, coin, tbl
        f["alive"][row] = f["cross"][row] = True

    def write_slot(self, slot: int, a: VenueAccount, *, offset: Decimal, ts: datetime) -> None:
        """Store one account's venue totals at refresh."""
        f = self.slot
        f["value0"][slot] = float(a.cross_account_value_usd)
        f["offset"][slot] = float(offset)
        f["total_value0"][slot] = float(a.account_value_usd)
        f["notional0"][slot] = float(a.total_notional_usd)
        f["margin_used0"][slot] = float(a.margin_used_usd)
        f["ts"][slot] = ts.timestamp()
        f["alive"][slot] = True

    def kill_row(self, row: int) -> None:
        """`kill_rows` of one row, without building an index array (the tape's closes)."""
        f = self.row
        f["alive"][row] = f["cross"][row] = False
        f["acct"][row] = 0
        for name in ROW_FLOATS:
            f[name][row] = 0.0 if name in ("size", "maintenance") else np.nan
        self.dead += 1

    def kill_rows(self, rows: list[int]) -> None:
        """Tombstone rows: they stay in place until `compact`, contributing nothing."""
        if not rows:
            return
        index = np.asarray(rows, dtype=np.intp)
        self.b("alive")[index] = False
        self.b("cross")[index] = False
        self.i("acct")[index] = 0
        for name in ROW_FLOATS:
            self.f(name)[index] = 0.0 if name in ("size", "maintenance") else np.nan
        self.dead += len(rows)

    def compact(self) -> Ints:
        """Drop dead rows; returns old index -> new index (-1 for dropped rows)."""
        keep = np.flatnonzero(self.b("alive")[: self.n])
        remap = np.full(self.n, -1, dtype=np.intp)
        remap[keep] = np.arange(len(keep), dtype=np.intp)
        for column in self.row.values():
            column[: len(keep)] = column[keep]
            column[len(keep) : self.n] = np.nan if column.dtype == np.float64 else 0
        self.n, self.dead = len(keep), 0
        return remap


def sum_by(slot: Ints, weights: NDArray[np.floating] | Bools, slots: int) -> Floats:
    """Per-slot sums of row weights (np.bincount, typed as the float array it returns)."""
    return np.bincount(slot, weights, slots).astype(np.float64, copy=False)


def _grown(
    old: NDArray[np.generic] | None, capacity: int, dtype: type[np.generic], fill: float
) -> NDArray[np.generic]:
    new = np.full(capacity, fill, dtype=dtype)
    if old is not None:
        new[: len(old)] = old
    return new
