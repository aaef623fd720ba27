"""Hyperliquid WebSocket events: mids, asset contexts, trades, a user's fills and liquidations,
the stream's status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from tracker.records.history import Fill


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
