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
    # The position the venue began to liquidate: its size before the first fill of the account's
    # own (startPosition) at that fill's mark, and never less than what was liquidated. A position
    # over $100k loses 20 % first, the rest only after a 30 s cooldown (if it is still under
    # water), so this is known at the first slice and the notional only later.
    position_usd: Decimal | None = None

    def at_stake_usd(self, basis: str) -> Decimal | None:
        """The figure the large threshold compares: `position` (the position at stake, else
        the notional) or `liquidated` (the notional liquidated so far)."""
        if basis == "position" and self.position_usd is not None:
            return self.position_usd
        return self.notional_usd

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


@dataclass(frozen=True, slots=True, kw_only=True)
class TapeDrift:
    """How far the tape-driven estimate of one position was from the exact refresh after it.

    Sizes are signed coins (None: no position on that side); the liquidation prices are ours at
    the venue's marks (estimate) and the venue's `liquidationPx`; drifts are relative,
    |estimate / venue - 1| (None when either side has no figure).
    """

    ts: datetime
    venue: str
    address: str
    dex: str
    coin: str
    trades: int  # tape trades applied to the account since its last refresh
    size_estimate: Decimal | None
    size_venue: Decimal | None
    entry_px_estimate: Decimal | None
    entry_px_venue: Decimal | None
    liquidation_px_estimate: Decimal | None
    liquidation_px_venue: Decimal | None

    @property
    def size_drift(self) -> Decimal:
        """Venue size minus estimated size (coins)."""
        return (self.size_venue or Decimal(0)) - (self.size_estimate or Decimal(0))

    @property
    def entry_px_drift(self) -> float | None:
        return _relative(self.entry_px_estimate, self.entry_px_venue)

    @property
    def liquidation_px_drift(self) -> float | None:
        return _relative(self.liquidation_px_estimate, self.liquidation_px_venue)


def _relative(estimate: Decimal | None, venue: Decimal | None) -> float | None:
    if estimate is None or venue is None or venue == 0:
        return None
    return abs(float(estimate / venue) - 1.0)
