"""A fake market that liquidates (issue 15): as the scripted mark moves, accounts cross their
liquidation price and are liquidated as the venue does it.

    market = LiquidatingMarket(Tape(fake), vault=CHILD, cooldown_s=0.05)
    market.open(USER, "BTC", size=Decimal(40), liq_px=Decimal(83_000))
    await market.path("BTC", [84_000, 81_000], steps=60, step_s=0.01)

A position worth more than $100k at the mark first loses 20 % of its size; if it is still under
water once the cooldown is over (the venue's is 30 s), the next market order is for everything
left. A smaller position goes at once. Every liquidation fill of the account carries its
`startPosition`. When the mark
passes the backstop price (by default 1 % beyond the liquidation price, standing for "below two
thirds of maintenance margin"), an HLP child vault takes whatever is left. Every slice and the
backstop go through `Tape` (trades on the WebSocket, fills with the `liquidation` object behind
them); what each account lost is in its `Liquidated` record. An account the venue models
(`put_model_account`) moves with them: a slice sells (or buys back) at its price, and the backstop
takes over its cross positions with their collateral, so its `clearinghouseState` says what the
tape did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from tracker.replay.liquidations import Liquidated, Tape
from tracker.replay.model import ModelAccount
from tracker.replay.tape import dex_of, move_account

SLICE = Decimal("0.2")
SLICED_FROM_USD = Decimal(100_000)
BACKSTOP_MOVE = Decimal("0.01")


@dataclass(slots=True)
class Account:
    """One position that will be liquidated when the mark crosses liq_px."""

    done: Liquidated
    size: Decimal  # signed coins at the start: > 0 long
    liq_px: Decimal
    backstop_px: Decimal
    remaining: Decimal = Decimal(0)  # unsigned coins still held
    last_slice_at: float = float("-inf")
    slices: int = 0
    finished: bool = False
    methods: list[str] = field(default_factory=list)

    @property
    def long(self) -> bool:
        return self.size > 0


class LiquidatingMarket:
    """Liquidates the accounts opened on it as `mark` (or `path`) moves each coin's mark."""

    def __init__(
        self,
        tape: Tape,
        *,
        vault: str,
        cooldown_s: float = 30.0,
    ) -> None:
        self.tape, self.vault, self.cooldown_s = tape, vault, cooldown_s
        self.time = 0.0  # the script's own seconds: `path` advances it, so cooldowns never
        # depend on how fast the machine runs the script
        self.accounts: list[Account] = []

    def open(
        self,
        user: str,
        coin: str,
        *,
        size: Decimal,
        liq_px: Decimal,
        backstop_px: Decimal | None = None,
    ) -> Account:
        """A position of `size` coins (signed) liquidated from `liq_px` on."""
        move = liq_px * BACKSTOP_MOVE
        default = liq_px - move if size > 0 else liq_px + move
        account = Account(
            done=Liquidated(user=user.lower(), coin=coin, held=abs(size)),
            size=size,
            liq_px=liq_px,
            backstop_px=backstop_px if backstop_px is not None else default,
            remaining=abs(size),
        )
        self.accounts.append(account)
        return account

    def mark(self, coin: str, px: Decimal) -> None:
        """Set the mark (REST and WebSocket see it) and liquidate what it has crossed."""
        self.tape.fake.set_mark(coin, px)
        for account in self.accounts:
            if account.finished or account.done.coin != coin:
                continue
            crossed = px <= account.liq_px if account.long else px >= account.liq_px
            if crossed:
                self._liquidate(account, px)

    def _liquidate(self, account: Account, px: Decimal) -> None:
        long, now = account.long, self.time
        past = px <= account.backstop_px if long else px >= account.backstop_px
        if past:
            self.tape.backstop(
                account.done, long=long, px=px, size=account.remaining, vault=self.vault
            )
            self._backstopped(account)
            account.methods.append("backstop")
            account.remaining, account.finished = Decimal(0), True
            return
        if now - account.last_slice_at < self.cooldown_s:
            return
        whole = account.slices > 0 or account.remaining * px <= SLICED_FROM_USD
        size = account.remaining if whole else abs(account.size) * SLICE
        orders = 1 if account.remaining * px <= SLICED_FROM_USD else 3
        self.tape.slice(account.done, long=long, px=px, size=size, mark_px=px, orders=orders)
        self._sliced(account, size, px)
        account.methods.append("market")
        account.slices += 1
        account.last_slice_at = now
        account.remaining -= size
        account.finished = account.remaining <= 0

    async def path(
        self, coin: str, prices: Sequence[Decimal | int | str], *, steps: int, step_s: float
    ) -> None:
        """Move the mark linearly through prices in `steps` ticks, `step_s` apart; ordinary
        trades at each tick."""
        points = [Decimal(str(p)) for p in prices]
        for i in range(steps + 1):
            t = Decimal(i) / steps * (len(points) - 1)
            k = min(int(t), len(points) - 2)
            px = (points[k] + (points[k + 1] - points[k]) * (t - k)).quantize(Decimal(1))
            self.mark(coin, px)
            self.tape.ordinary(coin, px, "0.3", n=3)
            self.time += step_s
            await asyncio.sleep(step_s)

    def _sliced(self, account: Account, size: Decimal, px: Decimal) -> None:
        """A modelled account sells (a long) or buys back (a short) `size` coins at px."""
        venue, coin = self.tape.fake, account.done.coin
        model = venue.model_account(account.done.user, dex_of(coin))
        held = next((p for p in model.positions if p.coin == coin), None) if model else None
        if model is None or held is None:
            return
        delta = -size if account.long else size
        moved = move_account(model, coin, delta, px, Decimal(0), leverage=held.leverage)
        venue.put_model_account(account.done.user, moved.cash_usd, moved.positions, dex_of(coin))

    def _backstopped(self, account: Account) -> None:
        """The backstop takes a modelled account's cross positions with their collateral (the
        venue's rule below two thirds of maintenance margin); isolated positions stay."""
        venue, coin = self.tape.fake, account.done.coin
        model: ModelAccount | None = venue.model_account(account.done.user, dex_of(coin))
        if model is None:
            return
        kept = tuple(p for p in model.positions if p.margin_mode == "isolated" and p.coin != coin)
        venue.put_model_account(account.done.user, Decimal(0), kept, dex_of(coin))
