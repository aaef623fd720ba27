"""Markets and account state: margin tables, the venue's positions and accounts, ours assessed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

MarginMode = Literal["cross", "isolated"]
Side = Literal["long", "short"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginTier:
    """One tier of a margin table: from lower_bound_usd of notional, this max leverage applies."""

    lower_bound_usd: Decimal
    max_leverage: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginTable:
    """A venue margin table (Hyperliquid `meta.marginTables`), tiers sorted by lower bound."""

    id: int
    tiers: tuple[MarginTier, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Market:
    """Per-coin market context at one moment (Hyperliquid `metaAndAssetCtxs`)."""

    venue: str
    dex: str
    coin: str
    ts: datetime
    mark_px: Decimal | None
    oracle_px: Decimal | None
    mid_px: Decimal | None
    funding_rate: Decimal | None  # per hour, fraction
    open_interest: Decimal | None  # coins
    max_leverage: int
    margin_table_id: int | None
    day_notional_volume_usd: Decimal | None
    prev_day_px: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketMeta:
    """What the venue says about one dex's perps: coins, their markets and margin tables."""

    dex: str
    markets: dict[str, Market]
    margin_tables: dict[int, MarginTable]


@dataclass(frozen=True, slots=True, kw_only=True)
class VenuePosition:
    """A perp position as the venue reports it (Hyperliquid `assetPositions[].position`)."""

    coin: str
    size: Decimal  # signed coins: > 0 long, < 0 short
    entry_px: Decimal | None
    position_value_usd: Decimal  # abs(size) * mark, as the venue computed it
    unrealized_pnl_usd: Decimal
    return_on_equity: Decimal | None  # fraction
    liquidation_px: Decimal | None
    margin_mode: MarginMode
    leverage: int  # the user's setting
    isolated_raw_usd: Decimal | None  # isolated only: margin - size * mark
    margin_used_usd: Decimal
    max_leverage: int
    cum_funding_all_time_usd: Decimal | None
    cum_funding_since_open_usd: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueAccount:
    """One account's perp state on one dex as the venue reports it (`clearinghouseState`)."""

    venue: str
    address: str
    dex: str
    venue_time: datetime | None
    account_value_usd: Decimal  # incl. isolated
    cross_account_value_usd: Decimal
    total_notional_usd: Decimal
    total_raw_usd: Decimal
    margin_used_usd: Decimal
    cross_maintenance_margin_usd: Decimal
    withdrawable_usd: Decimal
    positions: tuple[VenuePosition, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """A position with every figure the tracker shows and stores, ours next to the venue's."""

    ts: datetime
    venue: str
    address: str
    dex: str
    coin: str
    side: Side
    size: Decimal  # coins, unsigned
    entry_px: Decimal | None
    mark_px: Decimal
    notional_usd: Decimal
    unrealized_pnl_usd: Decimal
    roe: Decimal | None  # fraction of initial margin
    leverage: int  # the user's setting on the venue
    effective_leverage: Decimal | None  # notional / the equity that backs it
    margin_mode: MarginMode
    margin_used_usd: Decimal
    maintenance_margin_usd: Decimal
    liquidation_px: Decimal | None  # ours, from the venue's documented formula
    venue_liquidation_px: Decimal | None  # as the venue reported it
    distance_to_liq_pct: Decimal | None  # % of mark the price must move to reach liquidation
    max_leverage: int
    cum_funding_since_open_usd: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSnapshot:
    """One account on one dex at one poll, with its positions and account-level risk."""

    ts: datetime
    venue: str
    address: str
    dex: str
    venue_time: datetime | None
    account_value_usd: Decimal
    cross_account_value_usd: Decimal
    notional_usd: Decimal
    margin_used_usd: Decimal
    maintenance_margin_usd: Decimal  # cross maintenance margin
    withdrawable_usd: Decimal
    shock_to_liq_pct: Decimal | None  # uniform % move of all marks that brings cross to maintenance
    positions: tuple[Position, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SpotBalance:
    """A spot balance on the venue."""

    ts: datetime
    venue: str
    address: str
    coin: str
    total: Decimal
    hold: Decimal
    entry_notional_usd: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountReport:
    """Everything one poll learned about one address across dexes, plus what failed."""

    address: str
    ts: datetime
    accounts: tuple[AccountSnapshot, ...]
    spot: tuple[SpotBalance, ...]
    errors: tuple[str, ...] = ()
    venue_accounts: tuple[VenueAccount, ...] = ()  # what the venue said, for the live book

    @property
    def positions(self) -> tuple[Position, ...]:
        """Every position across dexes."""
        return tuple(p for a in self.accounts for p in a.positions)
