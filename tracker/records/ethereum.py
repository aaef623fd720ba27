"""The Ethereum side: holdings, Aave v3 accounts and liquidation calls, whale transfers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from tracker.records.positions import AccountSnapshot


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
