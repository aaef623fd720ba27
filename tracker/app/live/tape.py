"""The tape-driven book: public trades move tracked positions at once; refreshes reconcile.

A trade naming a tracked account whose state on the coin's dex the book holds moves that
position through `tracker.risk.tape` (size exact; entry, realized PnL, margin and fee as the
venue computes them, the fee estimated) and the book recomputes its liquidation price, distance
and the account's shock. Each move is a `PositionChange` (source "tape", ref the trade hash).
An account the book does not hold on that dex yet is only made due: its size before is unknown.

A refresh must never undo trades already applied: a `clearinghouseState` can be in flight when a
trade lands, and the answer can lag the tape. So `tokens` are taken before the request (trades
applied per address), and `reconcile` accepts a state only if no trade was applied since, or its
venue time is at or after the last applied trade on that dex; otherwise the book keeps the tape's
figures and the account is refreshed again (a state is accepted after `MAX_REJECTIONS`, so a
venue clock behind the tape cannot starve an account). An accepted state of an account the tape
moved records the drift of the estimate (size, entry, liquidation price at the venue's marks),
and a size the refresh corrects is a `PositionChange` with source "refresh".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tracker.records import MarketMeta, Trade, VenueAccount, VenuePosition
from tracker.records.events import PositionChange, TapeDrift
from tracker.risk.assess import assess_account, position_tiers
from tracker.risk.live.book import LiveBook
from tracker.risk.perps import Tiers
from tracker.risk.tape import TapeFill, apply_fill, mark_of, remark

log = logging.getLogger(__name__)
MAX_REJECTIONS = 3  # stale answers refused in a row before one is taken as the truth
ZERO = Decimal(0)


def dex_of(coin: str) -> str:
    """The dex of a perp coin name: `xyz:XYZ100` -> `xyz`, `ETH` -> `` (the main dex)."""
    return coin.split(":", 1)[0] if ":" in coin else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconciled:
    """What a refreshed state does to the book."""

    accept: bool
    changes: tuple[PositionChange, ...] = ()
    drift: tuple[TapeDrift, ...] = ()


class TapeBook:
    """Applies trades to the live book and reconciles refreshes with them (module docstring)."""

    def __init__(
        self,
        book: LiveBook,
        meta_for: Callable[[str], MarketMeta | None],
        tracked: Callable[[str], bool],
    ) -> None:
        self.book, self.meta_for, self.tracked = book, meta_for, tracked
        self.mids: dict[str, dict[str, Decimal]] = {}  # dex -> coin -> latest mid
        self.applied = 0  # trade sides applied to the book
        self.unknown = 0  # trade sides of tracked accounts the book did not hold yet
        self.stale_refreshes = 0  # refreshed states refused as older than the tape
        self._epoch: dict[str, int] = {}  # address -> trade sides applied, ever
        self._last_ms: dict[tuple[str, str], int] = {}  # (address, dex) -> last applied trade
        # (address, dex) -> coin -> trades applied since the last accepted refresh
        self._moved: dict[tuple[str, str], dict[str, int]] = {}
        self._rejected: dict[str, int] = {}

    def on_mids(self, dex: str, mids: Mapping[str, Decimal]) -> None:
        """Remember the latest mid per coin (the mark of a coin an account did not hold)."""
        self.mids.setdefault(dex, {}).update(mids)

    # -- trades --------------------------------------------------------------------------------

    def apply(self, trade: Trade) -> list[PositionChange]:
        """Move the tracked parties of one trade; the changes it made. Their liquidation prices,
        distances and shock are recomputed by `book.settle()` (or any query of the book), once
        for a burst of trades."""
        if trade.buyer is not None and trade.buyer == trade.seller:
            return []  # a self-trade moves nothing
        changes = []
        dex = dex_of(trade.coin)
        sides = ((trade.buyer, trade.size, "buy"), (trade.seller, -trade.size, "sell"))
        for user, delta, side in sides:
            if user is None or not self.tracked(user):
                continue
            change = self._apply_side(trade, dex, user, delta, taker=trade.side == side)
            if change is not None:
                changes.append(change)
        return changes

    def _apply_side(
        self, trade: Trade, dex: str, user: str, delta: Decimal, *, taker: bool
    ) -> PositionChange | None:
        held = self.book.state(user, dex)
        meta = self.meta_for(dex)
        market = meta.markets.get(trade.coin) if meta is not None else None
        if held is None or market is None:
            self.unknown += 1
            return None
        account, marks = held
        mark = marks.get(trade.coin) or self.mids.get(dex, {}).get(trade.coin)
        mark = mark or market.mark_px or trade.px
        effect = apply_fill(
            account,
            TapeFill.of(trade.coin, delta, trade.px, taker=taker),
            mark=mark,
            marks=marks,
            max_leverage=market.max_leverage,
            tiers_of=position_tiers_of(meta),
            ts=trade.ts,
        )
        self.book.upsert(effect.account, meta, ts=trade.ts)
        self.applied += 1
        self._epoch[user] = self._epoch.get(user, 0) + 1
        key = (user, dex)
        self._last_ms[key] = max(self._last_ms.get(key, 0), trade.time_ms)
        moved = self._moved.setdefault(key, {})
        moved[trade.coin] = moved.get(trade.coin, 0) + 1
        return PositionChange(
            venue=account.venue,
            address=user,
            dex=dex,
            coin=trade.coin,
            ts=trade.ts,
            size_before=effect.size_before,
            size_after=effect.size_after,
            price=trade.px,
            source="tape",
            ref=trade.hash or f"tid:{trade.tid}",
        )

    # -- refreshes -----------------------------------------------------------------------------

    def tokens(self, addresses: Iterable[str]) -> dict[str, int]:
        """Per address, the trades applied so far: take them before a refresh's request."""
        return {a: self._epoch.get(a, 0) for a in addresses}

    def reconcile(self, account: VenueAccount, token: int, ts: datetime) -> Reconciled:
        """Whether this refreshed state may replace the book's, and what it changes and drifts."""
        address, dex = account.address.lower(), account.dex
        key = (address, dex)
        last = self._last_ms.get(key)
        venue_ms = None if account.venue_time is None else account.venue_time.timestamp() * 1000
        if last is None:  # the tape never moved this account on this dex
            fresh = True
        elif venue_ms is not None:
            fresh = venue_ms >= last
        else:  # no time on the answer: only a state no trade overtook in flight
            fresh = self._epoch.get(address, 0) == token
        if not fresh:
            rejected = self._rejected.get(address, 0) + 1
            if rejected <= MAX_REJECTIONS:
                self._rejected[address] = rejected
                self.stale_refreshes += 1
                return Reconciled(accept=False)
            log.warning("%s: taking a state %d times older than the tape", address, rejected)
        self._rejected.pop(address, None)
        held = self.book.state(address, dex)
        if held is None:
            return Reconciled(accept=True)
        meta = self.meta_for(dex)
        estimate = remark(held[0], held[1], position_tiers_of(meta))
        changes = _corrections(estimate, account, ts)
        moved = self._moved.pop(key, {})
        drift = _drift(estimate, account, meta, moved, ts) if moved else ()
        return Reconciled(accept=True, changes=changes, drift=drift)


def position_tiers_of(meta: MarketMeta | None) -> Callable[[VenuePosition], Tiers]:
    """The tiers function `tracker.risk.tape` needs, for one dex's meta."""
    return lambda p: position_tiers(p, meta)


def _sizes(account: VenueAccount) -> dict[str, VenuePosition]:
    return {p.coin: p for p in account.positions}


def _corrections(
    estimate: VenueAccount, exact: VenueAccount, ts: datetime
) -> tuple[PositionChange, ...]:
    ours, theirs = _sizes(estimate), _sizes(exact)
    ref = str(round((exact.venue_time or ts).timestamp() * 1000))
    out = []
    for coin in sorted(ours.keys() | theirs.keys()):
        before = ours[coin].size if coin in ours else ZERO
        after = theirs[coin].size if coin in theirs else ZERO
        if before != after:
            price = mark_of(theirs[coin] if coin in theirs else ours[coin])
            out.append(
                PositionChange(
                    venue=exact.venue,
                    address=exact.address.lower(),
                    dex=exact.dex,
                    coin=coin,
                    ts=exact.venue_time or ts,
                    size_before=before,
                    size_after=after,
                    price=price,
                    source="refresh",
                    ref=ref,
                )
            )
    return tuple(out)


def _drift(
    estimate: VenueAccount,
    exact: VenueAccount,
    meta: MarketMeta | None,
    trades: Mapping[str, int],
    ts: datetime,
) -> tuple[TapeDrift, ...]:
    """The estimate at the venue's marks against the venue's figures, per coin the tape moved."""
    theirs = _sizes(exact)
    marks = {c: mark_of(p) for c, p in theirs.items()}
    at_marks = remark(estimate, marks, position_tiers_of(meta))
    ours = {p.coin: p for p in assess_account(at_marks, meta, ts).positions}
    sizes = _sizes(at_marks)
    out = []
    for coin in sorted(trades):
        mine, venue = ours.get(coin), theirs.get(coin)
        out.append(
            TapeDrift(
                ts=exact.venue_time or ts,
                venue=exact.venue,
                address=exact.address.lower(),
                dex=exact.dex,
                coin=coin,
                trades=trades[coin],
                size_estimate=sizes[coin].size if coin in sizes else None,
                size_venue=None if venue is None else venue.size,
                entry_px_estimate=None if mine is None else mine.entry_px,
                entry_px_venue=None if venue is None else venue.entry_px,
                liquidation_px_estimate=None if mine is None else mine.liquidation_px,
                liquidation_px_venue=None if venue is None else venue.liquidation_px,
            )
        )
    return tuple(out)
