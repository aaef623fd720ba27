"""How an account moves between two refreshes when only marks change, in exact Decimal.

This is the model the float64 book follows; with it the exact path (`assess_account`) can be run
at any marks, which is how tests/test_live_book.py and bench/book.py check the book. Per moved
leg: positionValue = |size| * mark, unrealizedPnl += size * (mark - mark at refresh), cross
marginUsed scales with the mark (positionValue / leverage), isolated marginUsed follows
rawUsd + size * mark (held when rawUsd is unknown). Account totals move by the legs' changes;
crossMaintenanceMarginUsed moves by our maintenance change, so the venue's offset to ours at the
refresh is kept. Cash, funding and fills are what a refresh brings, not a mark.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from tracker.records import MarketMeta, VenueAccount, VenuePosition
from tracker.risk import perps as risk
from tracker.risk.assess import position_tiers

ZERO = Decimal(0)


def remark_account(
    account: VenueAccount, marks: Mapping[str, Decimal], meta: MarketMeta | None
) -> VenueAccount:
    """The account as the venue would report it at these marks (coins not in marks unmoved)."""
    legs: list[VenuePosition] = []
    all_move = cross_move = notional = used = cross_mm = ZERO
    for p in account.positions:
        if p.coin not in marks:
            legs.append(p)
            continue
        mark0 = p.position_value_usd / abs(p.size)
        mark = marks[p.coin]
        move = p.size * (mark - mark0)
        value = abs(p.size) * mark
        if p.margin_mode == "cross":
            margin = p.margin_used_usd * mark / mark0
            tiers = position_tiers(p, meta)
            cross_move += move
            cross_mm += risk.maintenance_margin(tiers, value) - risk.maintenance_margin(
                tiers, p.position_value_usd
            )
        else:
            margin = p.margin_used_usd + (move if p.isolated_raw_usd is not None else ZERO)
        all_move += move
        notional += value - p.position_value_usd
        used += margin - p.margin_used_usd
        legs.append(
            replace(
                p,
                position_value_usd=value,
                unrealized_pnl_usd=p.unrealized_pnl_usd + move,
                margin_used_usd=margin,
            )
        )
    return replace(
        account,
        positions=tuple(legs),
        account_value_usd=account.account_value_usd + all_move,
        cross_account_value_usd=account.cross_account_value_usd + cross_move,
        total_notional_usd=account.total_notional_usd + notional,
        margin_used_usd=account.margin_used_usd + used,
        cross_maintenance_margin_usd=account.cross_maintenance_margin_usd + cross_mm,
    )
