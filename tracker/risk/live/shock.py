"""Shock to liquidation for every cross account at once, as risk.shock_to_liquidation_pct.

Marks move as m_i * (1 + x); f(x) = equity + x * sum(size_i * m_i) - sum(mm_i(n_i * (1 + x)))
- offset. Maintenance is notional * mmr - deduction with mmr growing tier by tier and continuous
at the bounds (margin-tiers doc), so each mm_i is convex in x and f is concave. Two facts follow:
- {f > 0} is an interval around 0, so there is a root on a side iff f(end) <= 0 at that side's
  end (x = -1, where every notional and maintenance is 0, or x = MAX_SHOCK_UP): "no root" never
  needs the tiers in between;
- while no leg leaves its tier, f is linear: root = -f(0) / slope, slope = exposure - sum(n_i *
  mmr_i). The root is that one when every leg's notional n_i * (1 + root) stays in its tier.
Accounts where a leg would leave its tier first (or a table is not convex) go to the exact Decimal
function instead; the kernel returns them so the caller can.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from tracker.risk import perps as risk
from tracker.risk.live.columns import Bools, Floats, Ints, sum_by
from tracker.risk.live.tiers import TierArrays

MAX_UP = float(risk.MAX_SHOCK_UP)


def shocks(
    tiers: TierArrays,
    acct: Ints,
    tbl: Ints,
    size: Floats,
    mark: Floats,
    equity: Floats,
    offset: Floats,
    maintenance: Floats,
) -> tuple[Floats, Bools]:
    """Per slot: shock in % of mark (NaN = none) and whether it needs the exact path.

    acct/tbl/size/mark are the cross legs (rows); equity, offset and maintenance (ours, summed
    over the cross legs at today's marks) are per slot.
    """
    slots = len(equity)
    n = np.abs(size) * mark
    has_legs = np.bincount(acct, minlength=slots) > 0
    exposure = sum_by(acct, size * mark, slots)
    f0 = equity - maintenance - offset
    f_down_end = equity - exposure - offset
    mm_up_end = sum_by(acct, tiers.maintenance(tbl, n * (1 + MAX_UP)), slots)
    f_up_end = equity + MAX_UP * exposure - mm_up_end - offset

    tier_up = tiers.tier_of(tbl, n)
    tier_down = tiers.tier_of(tbl, n, strict=True)
    slope_up = exposure - sum_by(acct, n * tiers.mmr[tbl, tier_up], slots)
    slope_down = exposure - sum_by(acct, n * tiers.mmr[tbl, tier_down], slots)

    healthy = has_legs & (f0 > 0)
    down = healthy & (f_down_end <= 0)
    up = healthy & (f_up_end <= 0)
    x_down = np.maximum(-f0 / slope_down, -1.0)
    x_up = np.minimum(-f0 / slope_up, MAX_UP)

    floor = np.where(tier_down > 0, tiers.lower[tbl, tier_down], -np.inf)
    ceiling = tiers.lower[tbl, tier_up + 1]
    leaves_down = _any(acct, n * (1 + x_down[acct]) < floor, slots)
    leaves_up = _any(acct, n * (1 + x_up[acct]) > ceiling, slots)
    not_convex = _any(acct, ~tiers.convex[tbl], slots)
    fallback = (
        (down & ((slope_down <= 0) | leaves_down))
        | (up & ((slope_up >= 0) | leaves_up))
        | (healthy & not_convex)
    )

    x_down = np.where(down, x_down, np.nan)
    x_up = np.where(up, x_up, np.nan)
    # Nearest root to 0; a tie goes to the fall, as min(..., key=abs) over [down, up].
    nearest = np.where(np.isnan(x_up) | (np.abs(x_down) <= np.abs(x_up)), x_down, x_up)
    shock = np.where(has_legs & ~healthy, 0.0, nearest) * 100.0
    return shock, fallback


def _any(acct: Ints, flags: Bools, slots: int) -> Bools:
    return sum_by(acct, flags, slots) > 0


def exact_shock(
    legs: Sequence[tuple[Decimal, float, risk.Tiers]], equity: float, offset: float
) -> float:
    """risk.shock_to_liquidation_pct on (signed size, mark, tiers) legs, as a float (NaN = none).

    The offset is folded into equity: f(x) is the same function either way.
    """
    cross = [risk.CrossLeg(size, Decimal(mark), tiers) for size, mark, tiers in legs]
    shock = risk.shock_to_liquidation_pct(cross, Decimal(equity) - Decimal(offset))
    return np.nan if shock is None else float(shock)
