"""Warm the live book from the store, so a (re)started daemon streams at once.

The latest stored account and positions hold what re-marking needs: sizes, entries, the venue's
notional (mark), cross account value and maintenance, and for isolated positions the margin
(rawUsd = margin - size * mark). The scheduler then treats each account as refreshed when it was
stored, and refreshes by staleness and risk within the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from tracker import resources
from tracker.records import VenueAccount, VenuePosition
from tracker.store import open_store
from tracker.venues import HYPERLIQUID

VENUE = HYPERLIQUID


def stored_accounts(db: Path, addresses: Sequence[str]) -> list[tuple[VenueAccount, datetime]]:
    """(account as last stored, when it was stored) for the addresses the store knows.

    About 80 lines: one read of the stored rows and their plain mapping back to records, field
    by field; the mapping reads best in one place.
    """
    if not db.exists():
        return []
    params = {"addresses": list(addresses)}
    with open_store(db, read_only=True) as store:
        accounts = store.con.execute(resources.sql("reads", "warm_accounts"), params).fetchall()
        positions = store.con.execute(resources.sql("reads", "warm_positions"), params).fetchall()
    legs: dict[tuple[str, str], list[VenuePosition]] = {}
    for (
        address,
        dex,
        coin,
        side,
        size,
        entry,
        mark,
        notional,
        pnl,
        roe,
        venue_liq,
        mode,
        leverage,
        margin_used,
        max_leverage,
        funding,
    ) in positions:
        signed = size if side == "long" else -size
        legs.setdefault((address, dex), []).append(
            VenuePosition(
                coin=coin,
                size=signed,
                entry_px=entry,
                position_value_usd=notional,
                unrealized_pnl_usd=pnl,
                return_on_equity=roe,
                liquidation_px=venue_liq,
                margin_mode=mode,
                leverage=leverage,
                isolated_raw_usd=margin_used - signed * mark if mode == "isolated" else None,
                margin_used_usd=margin_used,
                max_leverage=max_leverage,
                cum_funding_all_time_usd=None,
                cum_funding_since_open_usd=funding,
            )
        )
    out = []
    for (
        address,
        dex,
        ts,
        venue_time,
        value,
        cross_value,
        notional,
        margin,
        maintenance,
        withdrawable,
    ) in accounts:
        held = tuple(legs.get((address, dex), ()))
        out.append(
            (
                VenueAccount(
                    venue=VENUE,
                    address=address,
                    dex=dex,
                    venue_time=venue_time,
                    account_value_usd=value,
                    cross_account_value_usd=cross_value,
                    total_notional_usd=notional,
                    total_raw_usd=value
                    - sum((p.size * p.position_value_usd / abs(p.size) for p in held), Decimal(0)),
                    margin_used_usd=margin,
                    cross_maintenance_margin_usd=maintenance,
                    withdrawable_usd=withdrawable,
                    positions=held,
                ),
                ts,
            )
        )
    return out
