"""Selections over the book's columns: near-liquidation rows and slots, the refresh order.

Pure functions of `Columns`; the book turns the indices into keys. Levels are in % (of mark for
a position's distance, of a uniform move for an account's shock); NaN never selects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tracker.risk.live.columns import Columns, Floats, Ints


def near_rows(cols: Columns, levels_pct: Sequence[float]) -> tuple[Ints, Floats, Floats]:
    """Live rows whose distance is under the widest level, nearest first: rows, distances and
    the tightest level each is under.
    """
    levels = np.sort(np.asarray(levels_pct, dtype=np.float64))
    distance = cols.f("distance")[: cols.n]
    rows = np.flatnonzero(cols.b("alive")[: cols.n] & (distance < levels[-1]))
    rows = rows[np.argsort(distance[rows], kind="stable")]
    near = distance[rows]
    return rows, near, levels[np.searchsorted(levels, near, side="right")]


def near_slots(cols: Columns, levels_pct: Sequence[float]) -> tuple[Ints, Floats, Floats]:
    """Live slots whose |shock| is under the widest level, nearest first: slots, signed shocks
    and the tightest level each is under.
    """
    levels = np.sort(np.asarray(levels_pct, dtype=np.float64))
    shock = cols.sf("shock")[: cols.slots]
    near = np.abs(shock)
    slots = np.flatnonzero(cols.sb("alive")[: cols.slots] & (near < levels[-1]))
    slots = slots[np.argsort(near[slots], kind="stable")]
    return slots, shock[slots], levels[np.searchsorted(levels, near[slots], side="right")]


def slot_risk(cols: Columns) -> tuple[Floats, Floats]:
    """Per slot: closeness to liquidation (the smaller of |shock| and every position's distance,
    inf = none) and notional."""
    n, slots = cols.n, cols.slots
    alive = cols.b("alive")[:n]
    acct, distance = cols.i("acct")[:n], cols.f("distance")[:n]
    closeness = np.abs(cols.sf("shock")[:slots])
    closeness[np.isnan(closeness)] = np.inf
    rows = np.flatnonzero(alive & ~np.isnan(distance))
    np.minimum.at(closeness, acct[rows], distance[rows])
    live_rows = np.flatnonzero(alive)
    notional: Floats = np.bincount(acct[live_rows], cols.f("notional")[live_rows], slots).astype(
        np.float64
    )
    return closeness, notional


def risk_order(cols: Columns) -> Ints:
    """Live slots by closeness to liquidation (the smaller of |shock| and every position's
    distance; none = last), then by notional, largest first.
    """
    closeness, notional = slot_risk(cols)
    live = np.flatnonzero(cols.sb("alive")[: cols.slots])
    order: Ints = live[np.lexsort((-notional[live], closeness[live]))]
    return order
