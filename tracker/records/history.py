"""Account history on Hyperliquid: fills, funding payments, ledger updates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal


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
