"""Decimal records from the book's float columns, for display and storage (not the hot path).

Floats become Decimals through their shortest round-trip text (`repr`), so 0.1 stays 0.1 rather
than its binary expansion; NaN becomes None. Sizes, entry prices, leverages and the venue's own
figures (its liquidationPx and withdrawable at the refresh) come from the VenueAccount untouched.
Margin used and account totals move with the marks as in remark.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from tracker.records import AccountSnapshot, Position, VenueAccount, VenuePosition
from tracker.risk import perps as risk
from tracker.risk.live.columns import Columns


def dec(value: float) -> Decimal:
    """A float as the Decimal of its shortest repr."""
    return Decimal(repr(float(value)))


def opt_dec(value: float) -> Decimal | None:
    """dec, with NaN as None."""
    return None if math.isnan(value) else dec(value)


def account_snapshot(
    cols: Columns,
    slot: int,
    rows: Sequence[int],
    account: VenueAccount,
    venue_positions: Sequence[VenuePosition],
) -> AccountSnapshot:
    """The AccountSnapshot of one slot at its current marks, largest position first."""
    c, s = cols.row, cols.slot
    ts = datetime.fromtimestamp(float(s["ts"][slot]), UTC)
    equity = float(s["equity"][slot])
    positions, moves, notional_moves, margin_moves = [], 0.0, 0.0, 0.0
    for row, p in zip(rows, venue_positions, strict=True):
        size, mark, mark0 = float(c["size"][row]), float(c["mark"][row]), float(c["mark0"][row])
        move = size * (mark - mark0)
        follows = float(c["iso_follows"][row])
        used0 = float(c["margin_used0"][row])
        if p.margin_mode == "cross":
            backing, used = equity, used0 * mark / mark0
        else:
            backing, used = float(c["iso_equity0"][row]) + follows * move, used0 + follows * move
        pnl, notional = dec(c["pnl"][row]), dec(c["notional"][row])
        positions.append(
            Position(
                ts=ts,
                venue=account.venue,
                address=account.address,
                dex=account.dex,
                coin=p.coin,
                side="long" if p.size > 0 else "short",
                size=abs(p.size),
                entry_px=p.entry_px,
                mark_px=dec(mark),
                notional_usd=notional,
                unrealized_pnl_usd=pnl,
                roe=risk.roe(pnl, p.size, p.entry_px, p.leverage),
                leverage=p.leverage,
                effective_leverage=notional / dec(backing) if backing > 0 else None,
                margin_mode=p.margin_mode,
                margin_used_usd=dec(used),
                maintenance_margin_usd=dec(c["maintenance"][row]),
                liquidation_px=opt_dec(c["liq"][row]),
                venue_liquidation_px=p.liquidation_px,
                distance_to_liq_pct=opt_dec(c["distance"][row]),
                max_leverage=p.max_leverage,
                cum_funding_since_open_usd=p.cum_funding_since_open_usd,
            )
        )
        moves += move
        notional_moves += abs(size) * (mark - mark0)
        margin_moves += used - used0
    return AccountSnapshot(
        ts=ts,
        venue=account.venue,
        address=account.address,
        dex=account.dex,
        venue_time=account.venue_time,
        account_value_usd=dec(s["total_value0"][slot] + moves),
        cross_account_value_usd=dec(equity),
        notional_usd=dec(s["notional0"][slot] + notional_moves),
        margin_used_usd=dec(s["margin_used0"][slot] + margin_moves),
        maintenance_margin_usd=dec(s["cross_maintenance"][slot] + s["offset"][slot]),
        withdrawable_usd=account.withdrawable_usd,
        shock_to_liq_pct=opt_dec(s["shock"][slot]),
        positions=tuple(sorted(positions, key=lambda p: p.notional_usd, reverse=True)),
    )
