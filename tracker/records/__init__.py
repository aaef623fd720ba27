"""Frozen records: data only, plain words with units, no I/O.

Venue wire shapes never travel past `sources/<venue>.parse_*`; these records do. Decimals are
`Decimal`, times are aware UTC `datetime`, Hyperliquid addresses are lower-case.
The bottom layer with `tracker.net`: imports only the base modules (`tracker.errors`, ...).
"""

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


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill:
    """One fill of a watched account (Hyperliquid `userFills`), liquidation fields kept."""

    venue: str
    address: str
    ts: datetime
    time_ms: int
    coin: str
    dex: str
    fill_key: str  # the venue's tid, or hash:oid:px:sz where an old answer has no tid
    side: Literal["buy", "sell"]
    px: Decimal
    size: Decimal  # coins, unsigned
    start_position: Decimal | None  # signed size before this fill
    direction: str | None
    closed_pnl_usd: Decimal | None
    fee: Decimal | None
    fee_token: str | None
    builder_fee: Decimal | None
    crossed: bool | None
    hash: str | None
    oid: int | None
    tid: int | None
    twap_id: int | None
    cloid: str | None
    liquidation_method: str | None  # market / backstop
    liquidated_user: str | None
    liquidation_mark_px: Decimal | None

    @property
    def notional_usd(self) -> Decimal:
        """px * size."""
        return self.px * self.size


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingPayment:
    """One funding payment (Hyperliquid `userFunding`), signed from the account's view."""

    venue: str
    address: str
    ts: datetime
    time_ms: int
    coin: str
    amount_usd: Decimal  # > 0 received, < 0 paid
    position_size: Decimal | None
    funding_rate: Decimal | None
    samples: int | None
    hash: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerEntry:
    """A non-funding ledger update: deposit, withdrawal, transfer, vault flow, liquidation."""

    venue: str
    address: str
    ts: datetime
    time_ms: int
    kind: str
    entry_key: str
    amount_usd: Decimal | None
    hash: str | None
    liquidated_notional_usd: Decimal | None
    account_value_usd: Decimal | None
    leverage_type: str | None
    liquidated_positions: str | None  # JSON text [{coin, szi}]
    delta: str  # the venue's delta as JSON text


@dataclass(frozen=True, slots=True, kw_only=True)
class Holding:
    """ETH or an ERC-20 held by a watched address on an EVM chain, valued in USD at one block."""

    ts: datetime
    venue: str  # "ethereum"
    address: str  # lower-case
    asset: str  # "ETH" or the token's configured symbol
    token_address: str | None  # lower-case; None for ETH
    amount: Decimal  # human units: raw / 10**decimals
    usd_value: Decimal | None  # amount * price_usd; None when no price is known
    price_usd: Decimal | None
    chain_id: int
    block_number: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AaveReserveBalance:
    """One reserve of an Aave v3 account, with the risk parameters that apply to this user."""

    asset: str  # underlying token, lower-case
    symbol: str
    supplied: Decimal  # aToken balance, human units
    borrowed: Decimal  # variable debt, human units
    collateral_enabled: bool
    price_usd: Decimal  # Aave oracle
    liquidation_threshold: Decimal  # fraction; the e-mode category's when the reserve is in it
    ltv: Decimal  # fraction; the e-mode category's when the reserve is in it
    in_emode: bool
    stable: bool  # a USD stablecoin: held still by the shock to liquidation


@dataclass(frozen=True, slots=True, kw_only=True)
class AaveAccount:
    """An address's Aave v3 account as the chain reports it at one block."""

    venue: str  # "aave-v3"
    chain_id: int
    pool: str  # lower-case
    address: str  # lower-case
    block_number: int
    block_ts: datetime
    emode_category: int  # 0 = none
    total_collateral_usd: Decimal  # getUserAccountData, base currency USD
    total_debt_usd: Decimal
    available_borrows_usd: Decimal
    liquidation_threshold: Decimal  # collateral-weighted average, fraction
    ltv: Decimal  # collateral-weighted average, fraction
    health_factor: Decimal | None  # the chain's; None without debt
    reserves: tuple[AaveReserveBalance, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EthereumReport:
    """What one Ethereum poll learnt about one address: holdings, Aave account, failures."""

    address: str
    ts: datetime
    holdings: tuple[Holding, ...]
    accounts: tuple[AccountSnapshot, ...]  # Aave v3, as stored (venue "aave-v3")
    aave: tuple[AaveAccount, ...]  # the chain's figures behind `accounts` (health factor ...)
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AaveLiquidationCall:
    """One Aave v3 `LiquidationCall` event, valued in USD at its own block."""

    chain_id: int
    pool: str  # lower-case
    block_number: int
    block_ts: datetime
    tx_hash: str  # 0x-prefixed, lower-case
    log_index: int
    user: str  # the liquidated borrower, lower-case
    collateral_asset: str
    collateral_symbol: str
    debt_asset: str
    debt_symbol: str
    debt_to_cover: Decimal  # debt repaid, debt-asset units
    liquidated_collateral: Decimal  # collateral sent to the liquidator, collateral units
    collateral_price_usd: Decimal | None  # Aave oracle at block_number
    debt_price_usd: Decimal | None
    collateral_usd: Decimal | None
    debt_usd: Decimal | None
    liquidator: str
    receive_a_token: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class WhaleTransfer:
    """A large move of a watched address: an ERC-20 Transfer log or an ETH balance change."""

    chain_id: int
    kind: Literal["erc20_transfer", "eth_balance_change"]
    transfer_key: str  # "tx_hash:log_index", or "eth:FROM_BLOCK-TO_BLOCK" for a balance change
    address: str  # the watched address, lower-case
    direction: Literal["in", "out"]
    counterparty: str | None  # None for a balance change (internal transfers need traces)
    asset: str
    token_address: str | None  # None for ETH
    amount: Decimal  # human units, unsigned
    price_usd: Decimal | None
    usd_value: Decimal
    block_number: int
    block_ts: datetime | None
    tx_hash: str | None
    log_index: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """Something a person should be told once: its id is stable across passes and restarts."""

    id: str
    kind: str  # large_liquidation, near_liquidation, account_near_liquidation, adl, ...
    ts: datetime  # when the event happened
    venue: str
    address: str
    label: str | None
    coin: str | None
    notional_usd: Decimal | None
    severity: Literal["info", "warning", "critical"]
    message: str  # one line for people
    details: str = "{}"  # JSON object text with the figures behind the message


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationEpisode:
    """One economic liquidation of one account and coin: market slices and backstop merged."""

    venue: str
    address: str  # the liquidated account
    coin: str
    side: Side | None
    start: datetime
    end: datetime
    fills: int
    size: Decimal | None
    notional_usd: Decimal | None
    methods: tuple[str, ...]  # market, backstop, ledger
    mark_px: Decimal | None
    realized_loss_usd: Decimal | None
    ledger_notional_usd: Decimal | None
    sources: tuple[str, ...]  # fills, liquidator, ledger
    watched: bool

    @property
    def episode_id(self) -> str:
        """Stable id: venue, account, coin and the first fill's time."""
        return f"{self.venue}:{self.address}:{self.coin}:{int(self.start.timestamp() * 1000)}"

    @property
    def method(self) -> str:
        """market, backstop, market+backstop, or ledger when no fill was seen."""
        return "+".join(self.methods)


@dataclass(frozen=True, slots=True, kw_only=True)
class MidsUpdate:
    """Mid price per coin of one perp dex, from the WebSocket `allMids` feed."""

    ts: datetime  # when received: the feed carries no time
    dex: str  # "" = main dex
    mids: dict[str, Decimal]  # coin -> mid (USD)


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetCtxUpdate:
    """One coin's exact mark and context, from the WebSocket `activeAssetCtx` feed."""

    ts: datetime  # when received: the feed carries no time
    coin: str
    mark_px: Decimal
    mid_px: Decimal | None  # None when the book is empty
    oracle_px: Decimal | None
    funding_rate: Decimal | None  # per hour, fraction
    open_interest: Decimal | None  # coins


@dataclass(frozen=True, slots=True, kw_only=True)
class Trade:
    """One public trade (WebSocket `trades`); (coin, tid, time_ms) is its natural key."""

    ts: datetime
    time_ms: int
    coin: str
    side: Literal["buy", "sell"]  # the taker's side
    px: Decimal
    size: Decimal  # coins, unsigned
    tid: int  # the venue's 50-bit hash of the two order ids: unique only with coin and time
    hash: str | None
    buyer: str | None  # lower-case; None where the feed names no users
    seller: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class UserFills:
    """Fills of one watched account pushed by the WebSocket `userFills` feed."""

    user: str  # lower-case
    fills: tuple[Fill, ...]
    snapshot: bool  # the replay sent on (re)subscribing: already-seen fills, dedupe by key


@dataclass(frozen=True, slots=True, kw_only=True)
class UserLiquidation:
    """A liquidation of a watched account (WebSocket `userEvents` -> `liquidation`)."""

    user: str  # the liquidated account, lower-case
    ts: datetime  # when received: the event carries no time
    liquidation_id: int
    liquidator: str  # lower-case
    liquidated_notional_usd: Decimal  # the account's notional liquidated in this event
    liquidated_account_value_usd: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamStatus:
    """A change of the WebSocket connection; after `connected` with reconnects > 0, backfill."""

    ts: datetime
    state: Literal["connected", "disconnected", "reconnecting"]
    reason: str | None  # why it disconnected, or what the retry waits for
    reconnects: int  # successful connections after the first
