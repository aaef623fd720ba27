"""Selections over the book's columns: near-liquidation rows and slots, the refresh order.

Pure functions of `Columns`; the book turns the indices into keys. Levels are in % (of mark for
a position's distance, of a uniform move for an account's shock); NaN never selects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tracker.risk.live.columns import Columns, Floats, Ints, sum_by


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


ROW_FIGURES = ("size", "entry", "mark", "notional", "pnl", "liq", "distance", "margin_used")
ACCOUNT_FIGURES = ("equity", "shock", "account_value", "notional", "margin_used")


def row_figures(cols: Columns) -> list[Floats]:
    """ROW_FIGURES per row at the current marks (margin used as view.py computes it)."""
    used, _ = _margin_now(cols)
    n = cols.n
    return [*(cols.f(name)[:n] for name in ROW_FIGURES[:-1]), used]


def account_figures(cols: Columns) -> list[Floats]:
    """ACCOUNT_FIGURES per slot at the current marks (as view.py computes them)."""
    n, slots = cols.n, cols.slots
    used, move = _margin_now(cols)
    acct, alive = cols.i("acct")[:n], cols.b("alive")[:n]
    size, mark, mark0 = cols.f("size")[:n], cols.f("mark")[:n], cols.f("mark0")[:n]
    notional_move = np.where(alive, np.abs(size) * (mark - mark0), 0.0)
    used_move = np.where(alive, used - cols.f("margin_used0")[:n], 0.0)
    return [
        cols.sf("equity")[:slots],
        cols.sf("shock")[:slots],
        cols.sf("total_value0")[:slots] + sum_by(acct, move, slots),
        cols.sf("notional0")[:slots] + sum_by(acct, notional_move, slots),
        cols.sf("margin_used0")[:slots] + sum_by(acct, used_move, slots),
    ]


def _margin_now(cols: Columns) -> tuple[Floats, Floats]:
    """Per row: margin used at the current mark, and the move of its value since `mark0` (0
    for dead rows)."""
    n = cols.n
    size, mark, mark0 = cols.f("size")[:n], cols.f("mark")[:n], cols.f("mark0")[:n]
    alive = cols.b("alive")[:n]
    move = np.where(alive, size * (mark - mark0), 0.0)
    used0 = cols.f("margin_used0")[:n]
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = np.where(alive, used0 * mark / mark0, 0.0)
    isolated = np.where(alive, used0 + cols.f("iso_follows")[:n] * move, 0.0)
    used: Floats = np.where(cols.b("cross")[:n], cross, isolated)
    return used, move
