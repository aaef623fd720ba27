"""Pure risk math: PnL, ROE, maintenance margin with tiers, liquidation price, shock to liquidation.

Formulas from Hyperliquid's docs (hyperliquid.gitbook.io/hyperliquid-docs):
- trading/liquidations:
    liq_price = price - side * margin_available / position_size / (1 - l * side)
    l = 1 / MAINTENANCE_LEVERAGE, maintenance leverage = 2 * max leverage (of the tier at liq price)
    margin_available (cross)    = account_value - maintenance_margin_required
    margin_available (isolated) = isolated_margin - maintenance_margin_required
- trading/margin-tiers:
    maintenance_margin = notional * mmr(tier) - deduction(tier), mmr(n) = 1 / (2 * maxLeverage(n)),
    deduction(0) = 0, deduction(n) = deduction(n-1) + lowerBound(n) * (mmr(n) - mmr(n-1))
- trading/entry-price-and-pnl: unrealized pnl = side * (mark - entry) * size.

Everything here is Decimal in, Decimal out, with no I/O; `shared/reference/hyperliquid.md` §3 shows
the interpretation that reproduces the venue's `liquidationPx` on recorded positions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from tracker.records import MarginTable

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
# How far up we look for a short-side shock to liquidation: marks x11 (+1,000 %).
MAX_SHOCK_UP = Decimal(10)


@dataclass(frozen=True, slots=True)
class Tier:
    """A margin tier ready for arithmetic: from lower_bound_usd, mm = notional * mmr - deduction."""

    lower_bound_usd: Decimal
    mmr: Decimal
    deduction_usd: Decimal


Tiers = tuple[Tier, ...]


def maintenance_rate(max_leverage: int) -> Decimal:
    """Maintenance margin rate for a max leverage: 1 / (2 * max_leverage)."""
    return ONE / (2 * Decimal(max_leverage))


@lru_cache(maxsize=1024)
def single_tier(max_leverage: int) -> Tiers:
    """Tiers of an asset with one tier at max_leverage."""
    return (Tier(ZERO, maintenance_rate(max_leverage), ZERO),)


def tiers_from_table(table: MarginTable) -> Tiers:
    """Tiers with deductions from a venue margin table (margin-tiers doc)."""
    tiers: list[Tier] = []
    for spec in table.tiers:
        rate = maintenance_rate(spec.max_leverage)
        if not tiers:
            tiers.append(Tier(spec.lower_bound_usd, rate, ZERO))
            continue
        prev = tiers[-1]
        deduction = prev.deduction_usd + spec.lower_bound_usd * (rate - prev.mmr)
        tiers.append(Tier(spec.lower_bound_usd, rate, deduction))
    return tuple(tiers)


def tiers_for(max_leverage: int, table: MarginTable | None) -> Tiers:
    """The tiers for a position: the venue's table when it agrees with the position's max leverage.

    The position's own `maxLeverage` is the venue's word for tier 0; a table whose first tier says
    otherwise (stale or foreign meta) is ignored in favour of a single tier.
    """
    if table is None or not table.tiers or table.tiers[0].max_leverage != max_leverage:
        return single_tier(max_leverage)
    return _cached_tiers(table)


@lru_cache(maxsize=256)
def _cached_tiers(table: MarginTable) -> Tiers:
    return tiers_from_table(table)


def tier_index(tiers: Tiers, notional_usd: Decimal) -> int:
    """Index of the tier whose notional range holds notional_usd."""
    index = 0
    for i, tier in enumerate(tiers):
        if notional_usd >= tier.lower_bound_usd:
            index = i
    return index


def maintenance_margin(tiers: Tiers, notional_usd: Decimal) -> Decimal:
    """Maintenance margin in USD for a position of this notional."""
    tier = tiers[tier_index(tiers, notional_usd)]
    return notional_usd * tier.mmr - tier.deduction_usd


def unrealized_pnl(size: Decimal, entry_px: Decimal, mark_px: Decimal) -> Decimal:
    """Unrealized PnL in USD of a signed size: size * (mark - entry)."""
    return size * (mark_px - entry_px)


def roe(pnl_usd: Decimal, size: Decimal, entry_px: Decimal | None, leverage: int) -> Decimal | None:
    """Return on equity as a fraction: pnl / (|size| * entry / leverage), the venue's definition."""
    if entry_px is None or entry_px == 0 or size == 0 or leverage <= 0:
        return None
    return pnl_usd / (abs(size) * entry_px / Decimal(leverage))


def liquidation_price(
    *,
    size: Decimal,
    mark_px: Decimal,
    equity_usd: Decimal,
    other_maintenance_usd: Decimal,
    tiers: Tiers,
) -> Decimal | None:
    """Price at which equity meets maintenance margin, other positions held fixed; None if <= 0.

    size is signed coins. equity_usd is the cross account value (cross) or the isolated margin
    (isolated); other_maintenance_usd is the maintenance margin of the other cross positions (0 for
    isolated). For each tier k the documented formula is solved with that tier's rate, and the one
    whose notional range holds |size| * price is kept ("the tier at the liquidation price").
    """
    if size == 0 or mark_px <= 0:
        return None
    side = ONE if size > 0 else -ONE
    qty = abs(size)
    notional = qty * mark_px
    chosen: Decimal | None = None
    for k, tier in enumerate(tiers):
        required = other_maintenance_usd + notional * tier.mmr - tier.deduction_usd
        price = mark_px - side * (equity_usd - required) / qty / (ONE - tier.mmr * side)
        upper = tiers[k + 1].lower_bound_usd if k + 1 < len(tiers) else None
        liq_notional = qty * price
        if liq_notional >= tier.lower_bound_usd and (upper is None or liq_notional < upper):
            chosen = price
            break
    if chosen is None:
        # Only reachable through rounding at a tier boundary: the tier of today's notional.
        tier = tiers[tier_index(tiers, notional)]
        required = other_maintenance_usd + notional * tier.mmr - tier.deduction_usd
        chosen = mark_px - side * (equity_usd - required) / qty / (ONE - tier.mmr * side)
    return chosen if chosen > 0 else None


def distance_to_liquidation_pct(
    size: Decimal, mark_px: Decimal, liq_px: Decimal | None
) -> Decimal | None:
    """How far, in % of mark, price must move against the position to reach liq_px."""
    if liq_px is None or mark_px <= 0 or size == 0:
        return None
    move = (mark_px - liq_px) if size > 0 else (liq_px - mark_px)
    return move / mark_px * HUNDRED


@dataclass(frozen=True, slots=True)
class CrossLeg:
    """A cross position for the shock computation: signed size, mark and its tiers."""

    size: Decimal
    mark_px: Decimal
    tiers: Tiers


def shock_to_liquidation_pct(
    legs: Sequence[CrossLeg], equity_usd: Decimal, maintenance_usd: Decimal | None = None
) -> Decimal | None:
    """The uniform % move of every mark at once that brings cross equity down to maintenance.

    Marks move as m_i * (1 + x). Equity is linear in x and maintenance margin piecewise linear
    (tiers), so f(x) = equity(x) - maintenance(x) is solved exactly between tier breakpoints. The
    root nearest to zero wins: negative for a fall, positive for a rise; 0 when already at or
    under maintenance; None when neither a fall to zero nor a rise of +1,000 % gets there.
    maintenance_usd, when given (the venue's figure), anchors f at x = 0 to the venue's number.
    """
    legs = [leg for leg in legs if leg.size != 0 and leg.mark_px > 0]
    if not legs:
        return None
    computed_now = sum((_leg_mm(leg, ZERO) for leg in legs), ZERO)
    offset = ZERO if maintenance_usd is None else maintenance_usd - computed_now

    def f(x: Decimal) -> Decimal:
        pnl = sum((leg.size * leg.mark_px * x for leg in legs), ZERO)
        mm = sum((_leg_mm(leg, x) for leg in legs), ZERO)
        return equity_usd + pnl - mm - offset

    if f(ZERO) <= 0:
        return ZERO
    breaks = _breakpoints(legs)
    down = _first_root(f, ZERO, -ONE, sorted((b for b in breaks if -ONE < b < 0), reverse=True))
    up = _first_root(f, ZERO, MAX_SHOCK_UP, sorted(b for b in breaks if 0 < b < MAX_SHOCK_UP))
    candidates = [r for r in (down, up) if r is not None]
    if not candidates:
        return None
    return min(candidates, key=abs) * HUNDRED


def _leg_mm(leg: CrossLeg, x: Decimal) -> Decimal:
    return maintenance_margin(leg.tiers, abs(leg.size) * leg.mark_px * (ONE + x))


def _breakpoints(legs: Sequence[CrossLeg]) -> list[Decimal]:
    points: list[Decimal] = []
    for leg in legs:
        base = abs(leg.size) * leg.mark_px
        points.extend(t.lower_bound_usd / base - ONE for t in leg.tiers if t.lower_bound_usd > 0)
    return points


def _first_root(
    f: Callable[[Decimal], Decimal], start: Decimal, end: Decimal, inner: Sequence[Decimal]
) -> Decimal | None:
    """First x from start towards end where the piecewise-linear f reaches 0."""
    a, fa = start, f(start)
    for b in [*inner, end]:
        fb = f(b)
        if fb <= 0:
            # Linear on [a, b]: interpolate exactly.
            return a + (b - a) * fa / (fa - fb)
        a, fa = b, fb
    return None
