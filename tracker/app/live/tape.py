"""The tape-driven book: public trades move tracked positions at once; refreshes reconcile.

A trade naming a tracked account whose state on the coin's dex the book holds moves that
position through `tracker.risk.tape` (size exact; entry, realized PnL, margin and fee as the
venue computes them, the fee estimated) and the book recomputes its liquidation price, distance
and the account's shock. Each move is a `PositionChange` (source "tape", ref the trade hash).
An account the book does not hold on that dex yet is only made due: its size before is unknown.

A refresh must never undo trades already applied: a `clearinghouseState` can be in flight when a
trade lands, and the answer can lag the tape. So every applied trade is kept per account and dex
until a refresh covers it, and `reconcile` rebases the book on the venue's state and replays onto
it the trades after the state's venue time (without a time on the answer: those applied after
`tokens` were taken, before the request went out). The position is never reverted, nor closed
and opened again. A state that covers every trade applied records the drift of the estimate
(size, entry, liquidation price at the venue's marks) for each coin the tape moved, and a size
the refresh corrects is a `PositionChange` with source "refresh".
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final, NamedTuple

from tracker.records import MarketMeta, Trade, VenueAccount, VenuePosition
from tracker.records.events import PositionChange, TapeDrift
from tracker.risk.assess import assess_account, coin_tiers, position_tiers
from tracker.risk.live.book import LiveBook, Side
from tracker.risk.perps import Tiers
from tracker.risk.tape import (
    MAKER_FEE_RATE,
    TAKER_FEE_RATE,
    TapeFill,
    apply_fill,
    fill_of,
    mark_of,
    remark,
)
from tracker.venues import HYPERLIQUID

log = logging.getLogger(__name__)
MAX_LOG = 2000  # trades kept per account and dex until a refresh covers them
# Trades older than this (venue time, behind the account's newest) are dropped from its log unless
# a refresh asked after them is still out: a `clearinghouseState` lags the tape by far less, and
# 50,000 busy accounts would otherwise keep every trade until their next refresh, minutes later.
LOG_KEEP_MS = 10_000
ZERO = Decimal(0)
# From this many trade sides read together, the book moves them in array operations
# (`LiveBook.move_many`); fewer go one by one (`LiveBook.move`), cheaper for a handful.
MANY = 16
TAKER_RATE, MAKER_RATE = float(TAKER_FEE_RATE), float(MAKER_FEE_RATE)


def dex_of(coin: str) -> str:
    """The dex of a perp coin name: `xyz:XYZ100` -> `xyz`, `ETH` -> `` (the main dex)."""
    return coin.split(":", 1)[0] if ":" in coin else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconciled:
    """What a refreshed state does to the book."""

    account: VenueAccount  # the book's new state: the venue's, with later trades replayed
    replayed: int  # trades applied that the state did not cover, replayed onto it
    changes: tuple[PositionChange, ...] = ()  # sizes the refresh corrected
    drift: tuple[TapeDrift, ...] = ()


class _Coin(NamedTuple):
    """What the trades of one coin in a lot share (`TapeBook._coin`)."""

    dex: str
    mid: Decimal | None  # the mark a new position opens at (else the trade's price)
    tiers: Tiers | None  # of a new position; None: the meta does not list the coin
    max_leverage: int


# One trade side the book applied, kept until a refresh covers it: (coin, delta, px, fee_usd,
# seq, time_ms, max_leverage), the fill first (`tracker.risk.tape.fill_of`), seq the address's
# count of applied trade sides, this one included.
# A plain tuple of plain values, as the book's pending fills (`tracker.risk.live.book._Pending`):
# the collector stops walking it after its first look, and 50,000 busy accounts keep ~10 s of
# them.
_Applied = tuple[str, Decimal, Decimal, Decimal, int, int, int]
A_SEQ: Final = 4
A_TIME_MS: Final = 5
A_MAX_LEVERAGE: Final = 6


@dataclass(slots=True)
class _Party:
    """What the tape keeps of one address across its dexes."""

    epoch: int = 0  # trade sides applied, ever
    asked: int | None = None  # its epoch when its last refresh was asked, while one is out


@dataclass(slots=True)
class _Ledger:
    """What the tape keeps of one address on one dex: everything a trade side reads or writes
    is here, found with one lookup per side (`TapeBook._sides`)."""

    party: _Party
    log: deque[_Applied]  # the trades applied that no accepted refresh has covered yet
    moved: dict[str, int]  # coin -> trades applied since the last accepted refresh
    # venue time (ms) of the last refreshed state: a trade at or before it is in that state
    # already (the tape can reach the book after the REST answer does)
    covered: int | None = None


class TapeBook:
    """Applies trades to the live book and reconciles refreshes with them (module docstring)."""

    def __init__(
        self,
        book: LiveBook,
        meta_for: Callable[[str], MarketMeta | None],
        tracked: Callable[[str], bool],
        behind: Callable[[], bool] = lambda: False,
        *,
        many: int = MANY,
    ) -> None:
        """`behind` tells whether messages wait unread on the stream (the book lags the tape);
        from `many` trade sides read together the book moves them in array operations
        (`apply_many`)."""
        self.book, self.meta_for, self.tracked, self.behind = book, meta_for, tracked, behind
        self.many = many
        self.mids: dict[str, dict[str, Decimal]] = {}  # dex -> coin -> latest mid
        # (dex, coin, max leverage, margin table) -> tiers of a position the tape opens
        self._tiers: dict[tuple[str, str, int, int | None], Tiers] = {}
        self.applied = 0  # trade sides applied to the book
        self.unknown = 0  # trade sides of tracked accounts the book did not hold yet
        self.replayed = 0  # trades replayed onto refreshed states that did not cover them
        self._parties: dict[str, _Party] = {}  # address -> its party
        self._ledgers: dict[tuple[str, str], _Ledger] = {}  # (address, dex) -> its ledger
        self.newest_ms = 0  # the newest trade time applied: the tape is read up to about here
        self.covered_skips = 0  # trade sides a refreshed state already held

    def on_mids(self, dex: str, mids: Mapping[str, Decimal]) -> None:
        """Remember the latest mid per coin (the mark of a coin an account did not hold)."""
        self.mids.setdefault(dex, {}).update(mids)

    # -- trades --------------------------------------------------------------------------------

    def apply(self, trade: Trade) -> list[PositionChange]:
        """Move the tracked parties of one trade; the changes it made (`apply_many`)."""
        return self.apply_many((trade,))

    def apply_many(self, trades: Iterable[Trade]) -> list[PositionChange]:
        """Move the tracked parties of trades read together, in tape order; the changes they
        made. Their liquidation prices, distances and shock are recomputed by `book.settle()`
        (or any query of the book), once for the lot.

        Cross positions move on the book's columns: side by side (`LiveBook.move`), or from
        `many` sides in array operations (`LiveBook.move_many`); the rest through the exact
        records. In a lot moved at once, a side on an isolated position comes after the lot's
        others, which touch none of its positions: the same changes, in tape order per account
        and coin."""
        sides, owners, ledgers = self._sides(trades)
        changes = []
        if len(sides) < self.many:
            for side, trade, ledger in zip(sides, owners, ledgers, strict=True):
                sizes = self.book.move(
                    side.address,
                    side.dex,
                    side.fill,
                    mark=side.mark,
                    max_leverage=side.max_leverage,
                    tiers=side.tiers,
                    ts=side.ts,
                )
                if sizes is None:  # isolated margin, no entry price, or an account not held
                    sizes = self._exact(side, trade)
                if sizes is not None:
                    changes.append(self._logged(trade, side, sizes, ledger))
            return changes
        exact: list[tuple[Side, Trade, _Ledger]] = []
        moved = self.book.move_many(sides)
        for side, trade, ledger, sizes in zip(sides, owners, ledgers, moved, strict=True):
            if sizes is None:
                exact.append((side, trade, ledger))
            else:
                changes.append(self._logged(trade, side, sizes, ledger))
        for side, trade, ledger in exact:  # isolated margin, no entry price, or not held
            sizes = self._exact(side, trade)
            if sizes is not None:
                changes.append(self._logged(trade, side, sizes, ledger))
        return changes

    def _sides(self, trades: Iterable[Trade]) -> tuple[list[Side], list[Trade], list[_Ledger]]:
        """The sides of tracked accounts to move, each with its trade and its account's ledger on
        the dex; the rest counted (coin unknown, or already in the refreshed state the book
        holds)."""
        sides: list[Side] = []
        owners: list[Trade] = []
        ledgers: list[_Ledger] = []
        coins: dict[str, _Coin] = {}
        tracked, known = self.tracked, self._ledgers
        for trade in trades:
            buyer, seller, coin = trade.buyer, trade.seller, trade.coin
            if buyer is not None and buyer == seller:
                continue  # a self-trade moves nothing
            info = coins.get(coin)
            if info is None:
                info = coins[coin] = self._coin(coin)
            size, px = float(trade.size), float(trade.px)
            for user, delta, taker in (
                (buyer, trade.size, trade.side == "buy"),
                (seller, -trade.size, trade.side == "sell"),
            ):
                if user is None or not tracked(user):
                    continue
                if info.tiers is None:  # a coin the meta does not list
                    self.unknown += 1
                    continue
                if trade.time_ms > self.newest_ms:
                    self.newest_ms = trade.time_ms
                ledger = known.get((user, info.dex))
                if ledger is None:
                    ledger = self._ledger(user, info.dex)
                elif ledger.covered is not None and trade.time_ms <= ledger.covered:
                    self.covered_skips += 1
                    continue  # the refreshed state the book holds has it already
                sides.append(
                    Side(
                        user,
                        info.dex,
                        TapeFill.of(coin, delta, trade.px, taker=taker),
                        info.mid or trade.px,
                        info.max_leverage,
                        info.tiers,
                        trade.ts,
                        size if delta > 0 else -size,
                        px,
                        size * px * (TAKER_RATE if taker else MAKER_RATE),
                    )
                )
                owners.append(trade)
                ledgers.append(ledger)
        return sides, owners, ledgers

    def _ledger(self, address: str, dex: str) -> _Ledger:
        """The ledger of an address on a dex, made on first need."""
        party = self._parties.get(address)
        if party is None:
            party = self._parties[address] = _Party()
        ledger = self._ledgers[(address, dex)] = _Ledger(party, deque(maxlen=MAX_LOG), {})
        return ledger

    def _coin(self, coin: str) -> _Coin:
        """What a lot's trades of one coin share (the meta and the mids do not move in a lot)."""
        dex = dex_of(coin)
        meta = self.meta_for(dex)
        market = meta.markets.get(coin) if meta is not None else None
        if market is None:
            return _Coin(dex, None, None, 0)
        mids = self.mids.get(dex)
        mid = (mids.get(coin) if mids else None) or market.mark_px
        spec = (dex, coin, market.max_leverage, market.margin_table_id)  # as meta says now
        tiers = self._tiers.get(spec)
        if tiers is None:
            tiers = self._tiers[spec] = coin_tiers(coin, market.max_leverage, meta)
        return _Coin(dex, mid, tiers, market.max_leverage)

    def _exact(self, side: Side, trade: Trade) -> tuple[Decimal, Decimal] | None:
        """One side through the exact records (`tracker.risk.tape.apply_fill` + upsert)."""
        held = self.book.state(side.address, side.dex)
        if held is None:
            self.unknown += 1
            return None
        account, marks = held
        meta = self.meta_for(side.dex)
        effect = apply_fill(
            account,
            side.fill,
            mark=marks.get(side.fill.coin) or side.mark,
            marks=marks,
            max_leverage=side.max_leverage,
            tiers_of=position_tiers_of(meta),
            ts=trade.ts,
        )
        self.book.upsert(effect.account, meta, ts=trade.ts)
        return effect.size_before, effect.size_after

    def _logged(
        self, trade: Trade, side: Side, sizes: tuple[Decimal, Decimal], ledger: _Ledger
    ) -> PositionChange:
        """Keep one applied side until a refresh covers it; its position change."""
        self.applied += 1
        party = ledger.party
        seq = party.epoch = party.epoch + 1
        fill, time_ms, log_ = side.fill, trade.time_ms, ledger.log
        log_.append((fill.coin, fill.delta, fill.px, fill.fee_usd, seq, time_ms, side.max_leverage))
        old = time_ms - LOG_KEEP_MS
        if log_[0][A_TIME_MS] < old:
            asked = seq if party.asked is None else party.asked
            while log_[0][A_TIME_MS] < old and log_[0][A_SEQ] <= asked:
                log_.popleft()
        moved = ledger.moved
        moved[trade.coin] = moved.get(trade.coin, 0) + 1
        return PositionChange(
            venue=HYPERLIQUID,
            address=side.address,
            dex=side.dex,
            coin=trade.coin,
            ts=trade.ts,
            size_before=sizes[0],
            size_after=sizes[1],
            price=trade.px,
            source="tape",
            ref=trade.hash or f"tid:{trade.tid}",
        )

    # -- refreshes -----------------------------------------------------------------------------

    def tokens(self, addresses: Iterable[str]) -> dict[str, int]:
        """Per address, the trades applied so far: take them before a refresh's request."""
        tokens = {}
        for address in addresses:  # the trades after these stay logged until it is answered
            party = self._parties.get(address)
            if party is None:
                party = self._parties[address] = _Party()
            tokens[address] = party.asked = party.epoch
        return tokens

    def reconcile(self, account: VenueAccount, token: int, ts: datetime) -> Reconciled:
        """The book's new state of one account from an exact refresh: the venue's, with the
        trades applied that it does not cover replayed onto it (see the module docstring)."""
        address, dex = account.address.lower(), account.dex
        party = self._parties.get(address)
        if party is not None:
            party.asked = None
        ledger = self._ledgers.get((address, dex))
        entries: Iterable[_Applied] = ()
        if ledger is not None:
            entries, ledger.log = ledger.log, deque(maxlen=MAX_LOG)
        venue_ms: float | None = None
        if account.venue_time is not None:
            venue_ms = account.venue_time.timestamp() * 1000
            later = [e for e in entries if e[A_TIME_MS] > venue_ms]
            if ledger is None:
                ledger = self._ledger(address, dex)
            ledger.covered = int(venue_ms)
        else:  # no time on the answer: what was applied after the request went out
            later = [e for e in entries if e[A_SEQ] > token]
        meta = self.meta_for(dex)
        tiers_of = position_tiers_of(meta)
        rebased = account
        for e in later:
            fill = fill_of(*e[:4])
            venue = next((p for p in rebased.positions if p.coin == fill.coin), None)
            mark = mark_of(venue) if venue is not None else None
            mark = mark or self.mids.get(dex, {}).get(fill.coin) or fill.px
            effect = apply_fill(
                rebased, fill, mark=mark, max_leverage=e[A_MAX_LEVERAGE], tiers_of=tiers_of
            )
            rebased = effect.account
        if later:
            assert ledger is not None  # `later` came from its log
            ledger.log = deque(later, maxlen=MAX_LOG)
            self.replayed += len(later)
        held = self.book.state(address, dex)
        if held is None:
            return Reconciled(account=rebased, replayed=len(later))
        estimate = remark(held[0], held[1], tiers_of)
        changes = _corrections(estimate, rebased, ts)
        drift: tuple[TapeDrift, ...] = ()
        caught_up = venue_ms is None or self.newest_ms >= venue_ms or not self.behind()
        if not later and caught_up and ledger is not None and ledger.moved:
            # the state covers every trade applied, and the book has read the tape up to the
            # state's time (else the state holds trades still on their way): compare
            moved, ledger.moved = ledger.moved, {}
            drift = _drift(estimate, account, meta, moved, ts)
        return Reconciled(account=rebased, replayed=len(later), changes=changes, drift=drift)


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
