"""Which accounts' displayed figures changed between two looks at the book, vectorised.

A look copies only the figure columns (size, mark, notional, PnL, liquidation price, distance per
position; equity, value, notional, margin and shock per account) and each slot's generation
(raised when an account is refreshed or removed), about 100 bytes a position: cheap once a second
at 10,000 positions. Comparing two looks names the slots whose figures differ (NaN equals NaN), so
a page is only sent what moved. Rows that changed owner (a refresh, a compaction) count as changed
for both owners.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tracker.risk.live.columns import Bools, Columns, Floats, Ints

ROWS = ("size", "mark", "notional", "pnl", "liq", "distance")
SLOTS = ("equity", "total_value0", "notional0", "margin_used0", "shock")


@dataclass(frozen=True, slots=True)
class Look:
    """The figure columns at one moment: rows (ROWS + owner) and slots (SLOTS + generation)."""

    rows: Floats  # shape (len(ROWS) + 1, positions); the last line is the owning slot, -1 = dead
    slots: Floats  # shape (len(SLOTS) + 1, slots); the last line is the slot's generation


def look(cols: Columns, generations: Sequence[int]) -> Look:
    """Copy the figure columns of the rows and slots in use."""
    n, s = cols.n, cols.slots
    owner = np.where(cols.b("alive")[:n], cols.i("acct")[:n], -1).astype(np.float64)
    rows = np.vstack([*(cols.f(name)[:n] for name in ROWS), owner])
    gen = np.asarray(generations[:s], dtype=np.float64)
    alive = cols.sb("alive")[:s]
    slots = np.vstack([*(np.where(alive, cols.sf(name)[:s], np.nan) for name in SLOTS), gen])
    return Look(rows, slots)


def changed(before: Look | None, now: Look) -> Ints:
    """Slots (>= 1) whose figures differ between the two looks; every live slot when before is
    None."""
    if before is None:
        owners = now.rows[-1]
        return np.unique(owners[owners > 0]).astype(np.intp)
    old_rows, new_rows = _same_width(before.rows, now.rows)
    moved_rows = _differs(old_rows, new_rows)
    owners = np.concatenate([old_rows[-1, moved_rows], new_rows[-1, moved_rows]])
    old_slots, new_slots = _same_width(before.slots, now.slots)
    moved_slots = np.flatnonzero(_differs(old_slots, new_slots))
    found = np.union1d(owners[~np.isnan(owners)].astype(np.intp), moved_slots)
    return found[found > 0]


def _same_width(a: Floats, b: Floats) -> tuple[Floats, Floats]:
    """Both padded with NaN columns to the wider one's width."""
    width = max(a.shape[1], b.shape[1])

    def pad(x: Floats) -> Floats:
        if x.shape[1] == width:
            return x
        return np.pad(x, ((0, 0), (0, width - x.shape[1])), constant_values=np.nan)

    return pad(a), pad(b)


def _differs(a: Floats, b: Floats) -> Bools:
    """Per column: True where any line differs (NaN equals NaN)."""
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    differs: Bools = ~same.all(axis=0)
    return differs
