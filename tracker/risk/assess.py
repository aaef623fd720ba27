"""Turn what the venue reported into the positions and account figures we show and store (pure)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tracker.records import AccountSnapshot, MarketMeta, Position, VenueAccount, VenuePosition
from tracker.risk import perps as risk

ZERO = Decimal(0)


def assess_account(account: VenueAccount, meta: MarketMeta | None, ts: datetime) -> AccountSnapshot:
    """Compute PnL, ROE, leverage, maintenance, liquidation prices and shock for one account."""
    tiers = {p.coin: position_tiers(p, meta) for p in account.positions}
    cross = [p for p in account.positions if p.margin_mode == "cross"]
    cross_mm_ours = {
        p.coin: risk.maintenance_margin(tiers[p.coin], p.position_value_usd) for p in cross
    }
    positions = tuple(
        _assess_position(account, p, tiers[p.coin], cross_mm_ours, ts) for p in account.positions
    )
    legs = [risk.CrossLeg(p.size, _mark(p), tiers[p.coin]) for p in cross]
    shock = risk.shock_to_liquidation_pct(
        legs, account.cross_account_value_usd, account.cross_maintenance_margin_usd
    )
    return AccountSnapshot(
        ts=ts,
        venue=account.venue,
        address=account.address,
        dex=account.dex,
        venue_time=account.venue_time,
        account_value_usd=account.account_value_usd,
        cross_account_value_usd=account.cross_account_value_usd,
        notional_usd=account.total_notional_usd,
        margin_used_usd=account.margin_used_usd,
        maintenance_margin_usd=account.cross_maintenance_margin_usd,
        withdrawable_usd=account.withdrawable_usd,
        shock_to_liq_pct=shock,
        positions=tuple(sorted(positions, key=lambda p: p.notional_usd, reverse=True)),
    )


def position_tiers(position: VenuePosition, meta: MarketMeta | None) -> risk.Tiers:
    """The margin tiers that apply to a position, given its dex's meta."""
    return coin_tiers(position.coin, position.max_leverage, meta)


def coin_tiers(coin: str, max_leverage: int, meta: MarketMeta | None) -> risk.Tiers:
    """The margin tiers of a position on `coin` whose max leverage is `max_leverage`."""
    table = None
    if meta is not None:
        market = meta.markets.get(coin)
        if market is not None and market.margin_table_id is not None:
            table = meta.margin_tables.get(market.margin_table_id)
    return risk.tiers_for(max_leverage, table)


def _mark(position: VenuePosition) -> Decimal:
    # The venue's positionValue is |size| * mark at the state's own time: using it keeps our
    # figures consistent with the venue's liquidationPx (a separately fetched mark would drift).
    return position.position_value_usd / abs(position.size)


def _assess_position(
    account: VenueAccount,
    p: VenuePosition,
    tiers: risk.Tiers,
    cross_mm: dict[str, Decimal],
    ts: datetime,
) -> Position:
    mark = _mark(p)
    notional = p.position_value_usd
    mm = risk.maintenance_margin(tiers, notional)
    if p.margin_mode == "cross":
        equity = account.cross_account_value_usd
        other = account.cross_maintenance_margin_usd - cross_mm[p.coin]
    else:
        raw = p.isolated_raw_usd
        equity = raw + p.size * mark if raw is not None else p.margin_used_usd
        other = ZERO
    liq = risk.liquidation_price(
        size=p.size, mark_px=mark, equity_usd=equity, other_maintenance_usd=other, tiers=tiers
    )
    pnl = (
        risk.unrealized_pnl(p.size, p.entry_px, mark)
        if p.entry_px is not None
        else p.unrealized_pnl_usd
    )
    return Position(
        ts=ts,
        venue=account.venue,
        address=account.address,
        dex=account.dex,
        coin=p.coin,
        side="long" if p.size > 0 else "short",
        size=abs(p.size),
        entry_px=p.entry_px,
        mark_px=mark,
        notional_usd=notional,
        unrealized_pnl_usd=pnl,
        roe=risk.roe(pnl, p.size, p.entry_px, p.leverage),
        leverage=p.leverage,
        effective_leverage=notional / equity if equity > 0 else None,
        margin_mode=p.margin_mode,
        margin_used_usd=p.margin_used_usd,
        maintenance_margin_usd=mm,
        liquidation_px=liq,
        venue_liquidation_px=p.liquidation_px,
        distance_to_liq_pct=risk.distance_to_liquidation_pct(p.size, mark, liq),
        max_leverage=p.max_leverage,
        cum_funding_since_open_usd=p.cum_funding_since_open_usd,
    )
