"""The fake venue as a market: trades on the tape move the fake's own modelled accounts.

`Tape(fake).trade(coin, px, size, buyer, seller, side="B")` moves every party that has a modelled
account on the coin's dex (`fake.put_model_account`) exactly as the venue does (reference §4.7,
trading/entry-price-and-pnl), then pushes the trade on the WebSocket `trades` channel of the coin
(`users: [buyer, seller]`, `side` the aggressor, `hash`, `tid`, `time`, `px`, `sz`). A
`clearinghouseState` read afterwards returns exactly what the tape implies:

- size: += size for the buyer, -= size for the seller;
- entry price: an increase moves it to the size-weighted average, a reduction keeps it, a close
  drops the position, a flip opens the remainder at `px`;
- cross cash (`totalRawUsd`) -= signed size * px + fee, so account value moves by the realized
  PnL, the fee and the change of unrealized PnL at the mark;
- isolated: an increase moves `size * px / leverage` from cross cash into the position's margin,
  a reduction gives back that share of the margin plus the realized PnL;
- fee: `taker_fee` of the notional for the aggressor, `maker_fee` for the other side (the venue's
  base tier); a new position takes `leverage` (default and cap: the coin's max) in cross mode.

Parties without a modelled account on that dex (market makers, strangers) are not moved.
`random_trades` draws a reproducible stream of trades among given accounts for benchmarks.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from tracker.replay.model import ModelAccount, ModelPosition, dec

TAKER_FEE = Decimal("0.00045")  # base tier, perps (fees page); the tracker estimates the same
MAKER_FEE = Decimal("0.00015")
ZERO = Decimal(0)


def dex_of(coin: str) -> str:
    """The dex a coin name belongs to: `xyz:XYZ100` -> `xyz`, `ETH` -> `` (main)."""
    return coin.split(":", 1)[0] if ":" in coin else ""


def move_account(
    account: ModelAccount,
    coin: str,
    delta: Decimal,
    px: Decimal,
    fee: Decimal,
    *,
    leverage: int,
) -> ModelAccount:
    """The account after a fill of signed `delta` coins at `px` paying `fee` USD."""
    cash = account.cash_usd - fee
    positions = list(account.positions)
    index = next((i for i, p in enumerate(positions) if p.coin == coin), None)
    old = positions[index] if index is not None else None
    size = old.size if old is not None else ZERO
    new = size + delta
    if old is None or size == 0:
        opened = ModelPosition(coin=coin, size=new, entry_px=px, leverage=leverage)
        positions.append(opened)
        return ModelAccount(cash_usd=cash - delta * px, positions=tuple(positions))
    assert index is not None
    if old.margin_mode == "cross":
        cash -= delta * px
        if new == 0:
            del positions[index]
        elif (new > 0) != (size > 0):  # flip: the remainder opens at px
            positions[index] = replace(old, size=new, entry_px=px)
        elif abs(new) > abs(size):
            entry = (abs(size) * old.entry_px + abs(delta) * px) / abs(new)
            positions[index] = replace(old, size=new, entry_px=entry)
        else:
            positions[index] = replace(old, size=new)
        return ModelAccount(cash_usd=cash, positions=tuple(positions))
    # isolated: the margin moves between cross cash and the position
    margin = old.allocated_margin()
    side = 1 if size > 0 else -1
    if (new > 0) == (size > 0) and new != 0 and abs(new) > abs(size):
        added = abs(delta) * px / old.leverage
        entry = (abs(size) * old.entry_px + abs(delta) * px) / abs(new)
        positions[index] = replace(old, size=new, entry_px=entry, isolated_margin=margin + added)
        return ModelAccount(cash_usd=cash - added, positions=tuple(positions))
    closed = min(abs(delta), abs(size))
    released = margin * closed / abs(size)
    cash += released + (px - old.entry_px) * closed * side
    if new == 0:
        del positions[index]
    elif (new > 0) != (size > 0):
        added = abs(new) * px / old.leverage
        cash -= added
        positions[index] = replace(old, size=new, entry_px=px, isolated_margin=added)
    else:
        positions[index] = replace(old, size=new, isolated_margin=margin - released)
    return ModelAccount(cash_usd=cash, positions=tuple(positions))


class Tape:
    """Trades that move the fake's modelled accounts, then go out on its WebSocket."""

    def __init__(
        self,
        fake: Any,  # a ReplayServer (typed loosely: server.py imports this module's peers)
        *,
        taker_fee: Decimal = TAKER_FEE,
        maker_fee: Decimal = MAKER_FEE,
        leverage: int | None = None,
    ) -> None:
        self.fake = fake
        self.taker_fee, self.maker_fee, self.leverage = taker_fee, maker_fee, leverage
        self.trades = 0

    def trade(
        self,
        coin: str,
        px: Decimal | str | float,
        size: Decimal | str | float,
        buyer: str,
        seller: str,
        *,
        side: str = "B",
        time_ms: int | None = None,
    ) -> dict[str, Any]:
        """One trade of `size` coins at `px`: both parties move, then it is published."""
        if side not in ("A", "B"):
            raise ValueError(f"side must be 'A' or 'B', got {side!r}")
        price, qty = dec(px), dec(size)
        if price <= 0 or qty <= 0:
            raise ValueError("a trade needs a positive price and size")
        dex = dex_of(coin)
        market = self.fake.dex(dex)
        if coin not in market:
            raise KeyError(f"coin {coin!r} is not listed on dex {dex or '(main)'!r}")
        max_leverage = market.asset_info(coin).max_leverage
        leverage = max_leverage if self.leverage is None else min(self.leverage, max_leverage)
        notional = price * qty
        for user, delta, taker in ((buyer, qty, side == "B"), (seller, -qty, side == "A")):
            key = (user.lower(), dex)
            account = self.fake._models.get(key)
            if account is None:
                continue
            fee = notional * (self.taker_fee if taker else self.maker_fee)
            moved = move_account(account, coin, delta, price, fee, leverage=leverage)
            self.fake._models[key] = moved
            self.fake._rendered.pop(key, None)
        self.trades += 1
        item: dict[str, Any] = self.fake.ws.trade(
            coin, price, qty, buyer, seller, side=side, time_ms=time_ms
        )
        return item

    def position(self, user: str, coin: str) -> ModelPosition | None:
        """The modelled position of `user` in `coin` now (None when flat or not modelled)."""
        account = self.fake._models.get((user.lower(), dex_of(coin)))
        if account is None:
            return None
        return next((p for p in account.positions if p.coin == coin), None)


def random_trades(
    accounts: Sequence[str],
    coins: Sequence[tuple[str, Decimal]],
    *,
    seed: int = 1,
    max_notional_usd: float = 200_000.0,
) -> Iterator[tuple[str, Decimal, Decimal, str, str, str]]:
    """Endless reproducible (coin, px, size, buyer, seller, side) among `accounts`, around the
    given (coin, mark) pairs (px within 0.1 % of the mark)."""
    rng = random.Random(seed)
    while True:
        coin, mark = coins[rng.randrange(len(coins))]
        buyer = accounts[rng.randrange(len(accounts))]
        seller = accounts[rng.randrange(len(accounts))]
        if buyer == seller:
            continue
        px = (mark * Decimal(1 + rng.uniform(-0.001, 0.001))).quantize(Decimal("0.01"))
        size = Decimal(rng.uniform(100, max_notional_usd) / float(px)).quantize(Decimal("0.0001"))
        yield coin, px, size, buyer, seller, rng.choice("AB")
