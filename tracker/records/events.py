"""What the tracker derives and tells: alerts and liquidation episodes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from tracker.records.positions import Side


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
