"""Liquidation candidates from the public `trades` tape (pure).

A market liquidation is an order of the liquidated account sent through the book: on the tape it
is ordinary trades, one per resting order it hits, all sharing one transaction hash, with the
liquidated account as the taker (the side named by `side`: "buy" = the buyer took). Trades are
grouped by (coin, hash, taker) and a group becomes a candidate once its notional reaches the
threshold. An all-zero hash marks TWAP slices, never a liquidation, and a missing hash gives
nothing to group on: both are skipped. A backstop lands on a child vault of HLP: a trade with
one of them on either side makes the account on the other side the candidate, from a tenth of the
threshold (the backstop of a position under $1M is smaller than one slice of the threshold's size,
and it is the only trace such a liquidation may leave above the threshold). A candidate is only a
reason to look: the venue's own fills confirm or reject it (`tracker.app.liquidation_watch`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from tracker.records import Trade

MAX_GROUPS = 20_000  # open (coin, hash, taker) groups kept; the oldest are forgotten first
VAULT_FRACTION = Decimal("0.1")  # trades against an HLP child: candidates from this x threshold


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """An account that may have been liquidated on a coin, and the tape's evidence."""

    address: str  # lower-case: the taker (or a backstop vault's counterparty)
    coin: str
    first_ms: int  # time of the group's first trade
    last_ms: int
    notional_usd: Decimal  # sum of px * size over the group's trades so far
    hash: str | None  # None for a candidate from a crossed liquidation price
    source: str  # tape, crossed


def is_zero_hash(tx: str | None) -> bool:
    """True for a missing hash or the all-zero hash of TWAP slices."""
    return tx is None or tx.removeprefix("0x").strip("0") == ""


def taker_of(trade: Trade, vaults: frozenset[str] = frozenset()) -> tuple[str | None, bool]:
    """The account a trade may liquidate, and whether a vault was the other side: the taker, or
    the account trading with a vault (None when both or neither side is known)."""
    taker, maker = (
        (trade.buyer, trade.seller) if trade.side == "buy" else (trade.seller, trade.buyer)
    )
    if taker is not None and taker in vaults:
        return (maker, True) if maker is not None and maker not in vaults else (None, False)
    if maker is not None and maker in vaults:
        return taker, True
    return taker, False


@dataclass(slots=True)
class _Group:
    first_ms: int
    last_ms: int
    notional_usd: Decimal
    floor: Decimal = Decimal(0)


class CandidateGrouper:
    """Groups trades as they stream in; a group is emitted when it reaches min_usd and again,
    with its new total, each time it grows after that (the caller updates what it queued).

    Trades of one hash may arrive in several messages, so groups stay open (bounded by
    MAX_GROUPS, oldest forgotten first).
    """

    def __init__(self, min_usd: Decimal, vaults: frozenset[str] = frozenset()) -> None:
        self.min_usd = min_usd
        self.vaults = vaults
        self._groups: OrderedDict[tuple[str, str, str], _Group] = OrderedDict()

    def add(self, trades: Iterable[Trade]) -> list[Candidate]:
        """Candidates that these trades make or grow; cheap, no I/O."""
        out: dict[tuple[str, str, str], Candidate] = {}
        for trade in trades:
            if is_zero_hash(trade.hash):
                continue
            account, via_vault = taker_of(trade, self.vaults)
            if account is None:
                continue
            floor = self.min_usd * VAULT_FRACTION if via_vault else self.min_usd
            key = (trade.coin, str(trade.hash), account)
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(trade.time_ms, trade.time_ms, Decimal(0))
                if len(self._groups) > MAX_GROUPS:
                    self._groups.popitem(last=False)
            group.notional_usd += trade.px * trade.size
            group.first_ms = min(group.first_ms, trade.time_ms)
            group.last_ms = max(group.last_ms, trade.time_ms)
            if group.notional_usd >= floor:
                out[key] = Candidate(
                    address=account,
                    coin=trade.coin,
                    first_ms=group.first_ms,
                    last_ms=group.last_ms,
                    notional_usd=group.notional_usd,
                    hash=trade.hash,
                    source="tape",
                )
        return list(out.values())


def group_trades(
    trades: Iterable[Trade], min_usd: Decimal, vaults: frozenset[str] = frozenset()
) -> list[Candidate]:
    """Every (coin, hash, taker) group of these trades whose notional reaches min_usd."""
    sums: dict[tuple[str, str, str], _Group] = {}
    for trade in trades:
        account, via_vault = taker_of(trade, vaults)
        if is_zero_hash(trade.hash) or account is None:
            continue
        key = (trade.coin, str(trade.hash), account)
        floor = min_usd * VAULT_FRACTION if via_vault else min_usd
        group = sums.setdefault(key, _Group(trade.time_ms, trade.time_ms, Decimal(0), floor))
        group.notional_usd += trade.px * trade.size
        group.first_ms = min(group.first_ms, trade.time_ms)
        group.last_ms = max(group.last_ms, trade.time_ms)
    return [
        Candidate(
            address=address,
            coin=coin,
            first_ms=g.first_ms,
            last_ms=g.last_ms,
            notional_usd=g.notional_usd,
            hash=tx,
            source="tape",
        )
        for (coin, tx, address), g in sums.items()
        if g.notional_usd >= g.floor
    ]
