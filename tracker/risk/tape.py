"""A position moved by one public trade, as the venue moves it (pure, exact Decimal).

The `trades` tape names both parties of every trade but carries no fee, no leverage and no
margin mode, so the size moves exactly and everything else is the venue's documented rule
applied to the last exact state (shared/reference/hyperliquid.md §3.1, §4.7; venue pages
trading/entry-price-and-pnl and trading/margining). With `d` the signed size bought (+) or sold
(-) at price `px`, `m` the mark and `fee` the estimated fee:

- size' = size + d (exact);
- entry: an increase moves it to (|size| * entry + |d| * px) / |size'|, a reduction keeps it, a
  close drops the position, a flip opens the remainder at `px`; a new position opens at `px`;
- realized PnL of the closed part: (px - entry) * closed * side (fee excluded, like `closedPnl`);
- cross: account value += d * (m - px) - fee (cash pays d * px and the fee; the position is
  worth d * m more at the mark: realized PnL and the change of unrealized PnL in one term);
- isolated: an increase moves |d| * px / leverage from cross into the position's margin, a
  reduction gives back that share of the margin plus the realized PnL;
- fee: the venue's base tier, 0.045 % of the notional for the aggressor and 0.015 % for the
  resting side, an estimate (an account's own fee tier is not public) until the next refresh;
- a new position takes the coin's max leverage in cross mode (the venue's default is not on the
  tape; cross liquidation prices do not depend on it).

`remark` first brings the other positions to the book's current marks, so one trade never
moves them back to the marks of the last refresh.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from tracker.records import VenueAccount, VenuePosition
from tracker.risk import perps as risk

TAKER_FEE_RATE = Decimal("0.00045")  # base tier, perps; an estimate
MAKER_FEE_RATE = Decimal("0.00015")
ZERO = Decimal(0)

TiersOf = Callable[[VenuePosition], risk.Tiers]


@dataclass(frozen=True, slots=True, kw_only=True)
class TapeFill:
    """One party's side of a public trade: signed coins at a price, with an estimated fee."""

    coin: str
    delta: Decimal  # > 0 bought, < 0 sold
    px: Decimal
    fee_usd: Decimal

    @classmethod
    def of(cls, coin: str, delta: Decimal, px: Decimal, *, taker: bool) -> TapeFill:
        """With the base-tier fee of a taker (the trade's aggressor) or a maker."""
        rate = TAKER_FEE_RATE if taker else MAKER_FEE_RATE
        return cls(coin=coin, delta=delta, px=px, fee_usd=abs(delta) * px * rate)


def fill_of(coin: str, delta: Decimal, px: Decimal, fee_usd: Decimal) -> TapeFill:
    """A TapeFill from its four values: the live book and tape keep a fill per trade side as the
    first four of a plain tuple (`tracker.risk.live.book._Pending`,
    `tracker.app.live.tape._Applied`), and rebuild it with `fill_of(*entry[:4])`."""
    return TapeFill(coin=coin, delta=delta, px=px, fee_usd=fee_usd)


@dataclass(frozen=True, slots=True, kw_only=True)
class FillEffect:
    """The account after one fill, and what the fill did to the position."""

    account: VenueAccount
    size_before: Decimal
    size_after: Decimal
    realized_pnl_usd: Decimal  # fee excluded


_FIELDS: dict[type, tuple[str, ...]] = {}
_R = TypeVar("_R", VenuePosition, VenueAccount)


def _with(record: _R, **changes: object) -> _R:
    """A copy of a frozen record with some fields changed (dataclasses.replace, 5x cheaper: the
    tape calls it per position per trade)."""
    cls = type(record)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))
    values = {name: getattr(record, name) for name in names}
    values.update(changes)
    return cls(**values)


def mark_of(position: VenuePosition) -> Decimal:
    """The mark the venue valued a position at: positionValue / |size|."""
    return position.position_value_usd / abs(position.size)


def _at(p: VenuePosition, mark: Decimal) -> VenuePosition:
    """A position re-valued at `mark`, everything else kept."""
    value = abs(p.size) * mark
    upnl = ZERO if p.entry_px is None else p.size * (mark - p.entry_px)
    if p.margin_mode == "isolated" and p.isolated_raw_usd is not None:
        margin = p.isolated_raw_usd + p.size * mark
    elif p.margin_mode == "cross":
        margin = value / p.leverage
    else:
        margin = p.margin_used_usd
    return _with(
        p,
        position_value_usd=value,
        unrealized_pnl_usd=upnl,
        return_on_equity=risk.roe(upnl, p.size, p.entry_px, p.leverage),
        margin_used_usd=margin,
    )


def remark(account: VenueAccount, marks: Mapping[str, Decimal], tiers_of: TiersOf) -> VenueAccount:
    """The account with its positions valued at these marks (coins not given keep theirs)."""
    positions, moved = [], False
    for p in account.positions:
        mark = marks.get(p.coin)
        if mark is not None and mark > 0 and mark != mark_of(p):
            positions.append(_at(p, mark))
            moved = True
        else:
            positions.append(p)
    return _totals(account, tuple(positions), tiers_of) if moved else account


def apply_fill(
    account: VenueAccount,
    fill: TapeFill,
    *,
    mark: Decimal,
    max_leverage: int,
    tiers_of: TiersOf,
    marks: Mapping[str, Decimal] | None = None,
    ts: datetime | None = None,
) -> FillEffect:
    """The account after `fill`, valued at `mark` for the traded coin and at `marks` for the
    others (those not given keep theirs); see the module docstring."""
    account = remark(account, {**(marks or {}), fill.coin: mark}, tiers_of)
    positions = list(account.positions)
    index = next((i for i, p in enumerate(positions) if p.coin == fill.coin), None)
    old = positions[index] if index is not None else None
    size = old.size if old is not None else ZERO
    new = size + fill.delta
    cash_move = -fill.fee_usd  # into (+) or out of (-) the cross account, beside d * (m - px)
    realized = ZERO
    if old is None:
        moved: VenuePosition | None = _opened(fill, new, mark, max_leverage)
        cash_move += fill.delta * (mark - fill.px)
    else:
        entry = old.entry_px if old.entry_px is not None else mark_of(old)
        side = 1 if size > 0 else -1
        closed = (
            ZERO
            if (new > 0) == (size > 0) and abs(new) > abs(size)
            else min(abs(fill.delta), abs(size))
        )
        realized = (fill.px - entry) * closed * side
        moved, cross_cash = _moved(old, entry, new, fill, realized, closed)
        cash_move += fill.delta * (mark - fill.px) if old.margin_mode == "cross" else cross_cash
    if index is None:
        if moved is not None:
            positions.append(moved)
    elif moved is None:
        del positions[index]
    else:
        positions[index] = moved
    after = tuple(_at(p, mark) if p.coin == fill.coin else p for p in positions)
    cross_value = account.cross_account_value_usd + cash_move
    # the traded position's change of value at the mark is already in cash_move: hold the
    # totals' mark-to-market of the other positions and recompute the sums below
    changed = _with(
        account,
        venue_time=ts if ts is not None else account.venue_time,
        cross_account_value_usd=cross_value,
    )
    return FillEffect(
        account=_totals(changed, after, tiers_of, cross_fixed=True),
        size_before=size,
        size_after=new,
        realized_pnl_usd=realized,
    )


def rebuilt(
    account: VenueAccount,
    positions: tuple[VenuePosition, ...],
    *,
    cross_value: Decimal,
    tiers_of: TiersOf,
    ts: datetime | None,
) -> VenueAccount:
    """The account with these positions and this cross account value, its sums recomputed as
    `apply_fill` recomputes them (the venue's maintenance offset kept)."""
    changed = _with(
        account,
        venue_time=ts if ts is not None else account.venue_time,
        cross_account_value_usd=cross_value,
    )
    return _totals(changed, positions, tiers_of, cross_fixed=True)


def _opened(fill: TapeFill, new: Decimal, mark: Decimal, max_leverage: int) -> VenuePosition:
    return _at(
        VenuePosition(
            coin=fill.coin,
            size=new,
            entry_px=fill.px,
            position_value_usd=abs(new) * mark,
            unrealized_pnl_usd=ZERO,
            return_on_equity=None,
            liquidation_px=None,
            margin_mode="cross",
            leverage=max_leverage,
            isolated_raw_usd=None,
            margin_used_usd=ZERO,
            max_leverage=max_leverage,
            cum_funding_all_time_usd=None,
            cum_funding_since_open_usd=None,
        ),
        mark,
    )


def _moved(
    old: VenuePosition,
    entry: Decimal,
    new: Decimal,
    fill: TapeFill,
    realized: Decimal,
    closed: Decimal,
) -> tuple[VenuePosition | None, Decimal]:
    """The position after the fill (None when closed) and, for isolated, the cash it moves."""
    size = old.size
    increase = (new > 0) == (size > 0) and abs(new) > abs(size)
    flip = new != 0 and (new > 0) != (size > 0)
    if increase:
        entry_after = (abs(size) * entry + abs(fill.delta) * fill.px) / abs(new)
    else:
        entry_after = fill.px if flip else entry
    base = _with(old, size=new, entry_px=entry_after, liquidation_px=None)
    if old.margin_mode != "isolated" or old.isolated_raw_usd is None:
        return (None if new == 0 else base), ZERO
    margin = old.isolated_raw_usd + size * entry  # allocated at entry: rawUsd + size * entry
    if increase:
        added = abs(fill.delta) * fill.px / old.leverage
        allocated = margin + added
        return _with(base, isolated_raw_usd=allocated - new * entry_after), -added
    released = margin * closed / abs(size)
    cash = released + realized
    if new == 0:
        return None, cash
    if flip:
        added = abs(new) * fill.px / old.leverage
        return _with(base, isolated_raw_usd=added - new * fill.px), cash - added
    allocated = margin - released
    return _with(base, isolated_raw_usd=allocated - new * entry_after), cash


def _totals(
    account: VenueAccount,
    positions: tuple[VenuePosition, ...],
    tiers_of: TiersOf,
    *,
    cross_fixed: bool = False,
) -> VenueAccount:
    """Account sums after its positions changed (cross value held when cross_fixed, else moved
    by the cross positions' change of value at their new marks)."""
    before = {p.coin: p for p in account.positions}
    cross_value = account.cross_account_value_usd
    mm = account.cross_maintenance_margin_usd
    for p in account.positions:
        if p.margin_mode == "cross":
            mm -= risk.maintenance_margin(tiers_of(p), p.position_value_usd)
    for p in positions:
        if p.margin_mode == "cross":
            mm += risk.maintenance_margin(tiers_of(p), p.position_value_usd)
            old = before.get(p.coin)
            if not cross_fixed and old is not None:
                cross_value += p.size * (mark_of(p) - mark_of(old))
    iso_margin = sum((p.margin_used_usd for p in positions if p.margin_mode != "cross"), ZERO)
    cross_margin = sum((p.margin_used_usd for p in positions if p.margin_mode == "cross"), ZERO)
    account_value = cross_value + iso_margin
    return _with(
        account,
        positions=positions,
        account_value_usd=account_value,
        cross_account_value_usd=cross_value,
        total_notional_usd=sum((p.position_value_usd for p in positions), ZERO),
        total_raw_usd=account_value - sum((p.size * mark_of(p) for p in positions), ZERO),
        margin_used_usd=cross_margin + iso_margin,
        cross_maintenance_margin_usd=mm,
        withdrawable_usd=max(ZERO, cross_value - cross_margin),
    )
