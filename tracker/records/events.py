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


MoveKind = Literal["open", "increase", "reduce", "close", "flip"]


def move_kind(size_before: Decimal, size_after: Decimal) -> MoveKind | None:
    """What a change of signed size is (the names of the `position_events` view); None if none."""
    if size_before == size_after:
        return None
    if size_before == 0:
        return "open"
    if size_after == 0:
        return "close"
    if (size_before > 0) != (size_after > 0):
        return "flip"
    return "increase" if abs(size_after) > abs(size_before) else "reduce"


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionChange:
    """A position of one account and coin moved: seen on the trades tape or found by a refresh.

    The tape gives it within a second of the trade (size exact, price the trades' average); a
    REST refresh confirms or corrects it. Sizes are signed (long > 0). `ref` names what it came
    from: the trade's hash (tape) or the refresh's time in ms (refresh).
    """

    venue: str
    address: str
    dex: str
    coin: str
    ts: datetime
    size_before: Decimal
    size_after: Decimal
    price: Decimal
    source: Literal["tape", "refresh"]
    ref: str

    @property
    def kind(self) -> MoveKind:
        kind = move_kind(self.size_before, self.size_after)
        if kind is None:
            raise ValueError("a PositionChange must change the size")
        return kind

    @property
    def size_change(self) -> Decimal:
        return self.size_after - self.size_before

    @property
    def notional_usd(self) -> Decimal:
        return abs(self.size_change) * self.price

    @property
    def side(self) -> Side:
        """The side of the position after the change (of the one closed, for a close)."""
        size = self.size_after if self.size_after != 0 else self.size_before
        return "long" if size > 0 else "short"
