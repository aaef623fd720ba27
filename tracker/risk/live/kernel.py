"""One vectorised re-mark of a set of rows: PnL, maintenance, liquidation price, distance, shock.

The same rules as the exact path (`tracker.risk.assess` + `tracker.risk.perps`), between two
refreshes of an account held as the venue would move it: cross equity = cross account value at
refresh + sum(size * (mark - mark_at_refresh)) over the account's cross legs; a cross leg's "other"
maintenance = every other cross leg's maintenance at today's marks + the venue's offset to ours at
refresh; an isolated leg's equity = rawUsd + size * mark. Formulas: risk.py docstring.
"""

from __future__ import annotations

import numpy as np

from tracker.risk.live.columns import Columns, Floats, Ints, sum_by
from tracker.risk.live.shock import shocks
from tracker.risk.live.tiers import TierArrays

Rows = slice | Ints


NO_PRICE_BELOW = 1e-9  # a liquidation price under this share of the mark: none (liquidation_prices)


def recompute(cols: Columns, tiers: TierArrays, rows: Rows, touched: Ints) -> Ints:
    """Re-mark `rows` (every row of the `touched` slots) in place; returns the slots whose shock
    needs the exact Decimal path.

    A partial recompute (`rows` an index array, `touched` sorted) works on the touched slots
    only: their rows' slot numbers are mapped to 0..len(touched), so its cost follows what the
    tape moved, not the size of the book. A full one (`rows` a slice) works on every slot.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        acct, tbl, cross = cols.i("acct")[rows], cols.i("tbl")[rows], cols.b("cross")[rows]
        size, mark = cols.f("size")[rows], cols.f("mark")[rows]
        notional = np.abs(size) * mark
        move = size * (mark - cols.f("mark0")[rows])
        entry = cols.f("entry")[rows]
        pnl = np.where(np.isnan(entry), cols.f("upnl0")[rows] + move, size * (mark - entry))
        mm = tiers.maintenance(tbl, notional)

        if isinstance(rows, slice):
            slots, local = cols.slots, acct
            offset, value0 = cols.sf("offset")[:slots], cols.sf("value0")[:slots]
        else:  # every row's slot is in `touched` (its caller's rule)
            slots, local = len(touched), np.searchsorted(touched, acct)
            offset, value0 = cols.sf("offset")[touched], cols.sf("value0")[touched]
        equity_slot = value0 + sum_by(local, np.where(cross, move, 0.0), slots)
        mm_slot = sum_by(local, np.where(cross, mm, 0.0), slots)
        iso_equity = cols.f("iso_equity0")[rows] + cols.f("iso_follows")[rows] * move
        equity = np.where(cross, equity_slot[local], iso_equity)
        other = np.where(cross, (mm_slot + offset)[local] - mm, 0.0)
        liq = liquidation_prices(tiers, tbl, size, mark, equity, other)

        legs = np.flatnonzero(cross & (size != 0) & (mark > 0))
        shock, fallback = shocks(
            tiers, local[legs], tbl[legs], size[legs], mark[legs], equity_slot, offset, mm_slot
        )
        cols.f("notional")[rows] = notional
        cols.f("pnl")[rows] = pnl
        cols.f("maintenance")[rows] = mm
        cols.f("liq")[rows] = liq
        cols.f("distance")[rows] = np.sign(size) * (mark - liq) / mark * 100.0

    own = touched if isinstance(rows, slice) else slice(None)  # the touched slots' entries
    cols.sf("equity")[touched] = equity_slot[own]
    cols.sf("cross_maintenance")[touched] = mm_slot[own]
    cols.sf("shock")[touched] = shock[own]
    return touched[fallback[own]]


def liquidation_prices(
    tiers: TierArrays, tbl: Ints, size: Floats, mark: Floats, equity: Floats, other: Floats
) -> Floats:
    """risk.liquidation_price per row (NaN where it gives None), every tier's candidate at once.

    The candidate of tier k solves the docs' formula with tier k's rate; the first k whose
    notional range holds |size| * price wins, else the tier of today's notional (rounding only).
    """
    qty, side = np.abs(size), np.sign(size)
    notional = qty * mark

    def candidate(mmr: Floats, deduction: Floats) -> Floats:
        required = other + notional * mmr - deduction
        price: Floats = mark - side * (equity - required) / qty / (1.0 - mmr * side)
        return price

    if tiers.width == 1:  # one tier in every table: its candidate is the price
        liq = candidate(tiers.mmr[tbl, 0], tiers.deduction[tbl, 0])
    else:
        now = tiers.tier_of(tbl, notional)
        liq = candidate(tiers.mmr[tbl, now], tiers.deduction[tbl, now])
        for k in reversed(range(tiers.width)):
            price = candidate(tiers.mmr[tbl, k], tiers.deduction[tbl, k])
            at = qty * price
            holds = (at >= tiers.lower[tbl, k]) & (at < tiers.lower[tbl, k + 1])
            liq = np.where(holds, price, liq)
    # Where the exact figure is 0 (no liquidation price), float rounding can leave a hair above
    # it: a price under a billionth of the mark counts as none, as the exact path's 0 does.
    return np.where(liq > mark * NO_PRICE_BELOW, liq, np.nan)
