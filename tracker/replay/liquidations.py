"""The fake venue's market tape with liquidations in it (issue 15).

    tape = Tape(fake)                       # a ReplayServer, started
    tape.hlp_children([LIQUIDATOR_CHILD])   # vaultDetails of the HLP parent lists them
    episode = tape.liquidate(VICTIM, "BTC", side="long", px=84_000, size=376, slices=3,
                             backstop=LIQUIDATOR_CHILD)
    tape.ordinary("BTC", 84_000, 0.5); tape.twap(...); tape.market_order(...)

As the venue does it: a market liquidation is an order of the liquidated account, so each slice is
several trades sharing one real hash, one per resting order hit, with the liquidated account as
the taker; the fills of that account (and of the makers) carry `"liquidation": {"liquidatedUser",
"markPx", "method": "market"}`. The backstop is one trade with an HLP child vault; both fills
carry `method: "backstop"`. TWAP slices have the all-zero hash. A large ordinary market order is
one hash and one taker, like a slice, but its fills carry no `liquidation` object. Fills are in
place (`userFillsByTime`) before the trades are pushed on the WebSocket.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tracker.replay.server import ReplayServer
from tracker.replay.ws import _trades_frame

HLP_PARENT = "0xdfc24b077bc1425ad1dea75bcb6f8158e10df303"
ZERO_HASH = "0x" + "0" * 64
SIZE_STEP = Decimal("0.00001")  # sizes on the tape have the coin's szDecimals (BTC: 5)


def _s(value: Decimal) -> str:
    return format(value.normalize(), "f")


@dataclass(slots=True)
class Liquidated:
    """What one scripted liquidation sent: its notional (sum of px x size) and its trades.

    `held`: the coins the account still holds (unsigned), when the script says; each of the
    account's liquidation fills then carries it as its signed `startPosition` and takes its
    size off. Unset, the fills say "0.0" (a position the script did not describe).
    """

    user: str
    coin: str
    notional_usd: Decimal = Decimal(0)
    trades: list[dict[str, Any]] = field(default_factory=list)
    held: Decimal | None = None

    def start_position(self, size: str, *, long: bool) -> str:
        """The signed position before a fill of `size` coins, and that fill taken off."""
        if self.held is None:
            return "0.0"
        before = self.held
        self.held = max(self.held - Decimal(size), Decimal(0))
        return _s(before if long else -before)


class Tape:
    """Scripts public trades (and the fills behind them) on one fake venue."""

    def __init__(
        self, fake: ReplayServer, *, start_tid: int = 900_000_000_000_000, record: bool = True
    ) -> None:
        self.fake, self.record = fake, record
        self._tids = itertools.count(start_tid)
        self._hashes = itertools.count(0xABC0_0000)
        self._oids = itertools.count(5_000_000)
        self._makers = itertools.count(0x1000)
        self.sent: list[dict[str, Any]] = []  # every trade pushed, in order

    # -- the venue's side ------------------------------------------------------------------

    def hlp_children(self, children: list[str]) -> None:
        """`vaultDetails` of the HLP parent lists these child vaults."""
        self.fake.put_vault_details(
            HLP_PARENT,
            {
                "name": "Hyperliquidity Provider (HLP)",
                "vaultAddress": HLP_PARENT,
                "relationship": {"type": "parent", "data": {"childAddresses": children}},
            },
        )

    def add_fills(self, user: str, fills: list[dict[str, Any]]) -> None:
        """Append fills to `user`'s history (served by userFills and userFillsByTime)."""
        series = self.fake._fills.get(user.lower())
        self.fake.put_fills(user, [*(series.items if series else ()), *fills])

    def taker_fills(
        self, user: str, trades: list[dict[str, Any]], *, buys: bool, direction: str
    ) -> None:
        """`user`'s own fills behind trades it took (ordinary ones: no `liquidation` object)."""
        fills = [self._fill(t, user, buys=buys, crossed=True, direction=direction) for t in trades]
        self.add_fills(user, fills)

    def push(self, coin: str, items: list[dict[str, Any]]) -> None:
        """Send trades of one coin in one `trades` message, as the venue batches them."""
        if self.record:
            self.sent.extend(items)
        self.fake.ws._broadcast(lambda c: c.wants("trades", coin=coin), _trades_frame(items))

    # -- flow --------------------------------------------------------------------------------

    def _hash(self) -> str:
        return "0x" + format(next(self._hashes), "064x")

    def _maker(self) -> str:
        return "0x" + format(next(self._makers), "040x")

    def _trade(
        self,
        coin: str,
        px: Decimal,
        size: Decimal,
        taker: str,
        maker: str,
        taker_buys: bool,
        tx: str,
        time_ms: int,
    ) -> dict[str, Any]:
        buyer, seller = (taker, maker) if taker_buys else (maker, taker)
        return {
            "coin": coin,
            "side": "B" if taker_buys else "A",
            "px": _s(px),
            "sz": _s(size.quantize(SIZE_STEP)),
            "hash": tx,
            "time": time_ms,
            "tid": next(self._tids),
            "users": [buyer.lower(), seller.lower()],
        }

    def _fill(
        self,
        trade: dict[str, Any],
        user: str,
        *,
        buys: bool,
        crossed: bool,
        liquidation: dict[str, str] | None = None,
        direction: str = "Open Long",
        start_position: str = "0.0",
    ) -> dict[str, Any]:
        fill: dict[str, Any] = {
            "coin": trade["coin"],
            "px": trade["px"],
            "sz": trade["sz"],
            "side": "B" if buys else "A",
            "time": trade["time"],
            "startPosition": start_position,
            "dir": direction,
            "closedPnl": "0.0",
            "hash": trade["hash"],
            "oid": next(self._oids),
            "crossed": crossed,
            "fee": "0.0",
            "tid": trade["tid"],
            "feeToken": "USDC",
        }
        if liquidation is not None:
            fill["liquidation"] = liquidation
        return fill

    def ordinary(
        self, coin: str, px: Decimal | float | str, size: Decimal | float | str, n: int = 1
    ) -> None:
        """n small trades between fresh accounts, each its own real hash."""
        now = time.time_ns() // 1_000_000
        items = [
            self._trade(
                coin,
                Decimal(str(px)),
                Decimal(str(size)),
                self._maker(),
                self._maker(),
                i % 2 == 0,
                self._hash(),
                now,
            )
            for i in range(n)
        ]
        self.push(coin, items)

    def twap(
        self, coin: str, px: Decimal | float | str, size: Decimal | float | str, taker: str, n: int
    ) -> None:
        """n TWAP slices of one account, all with the all-zero hash (never a liquidation)."""
        now = time.time_ns() // 1_000_000
        items = [
            self._trade(
                coin,
                Decimal(str(px)),
                Decimal(str(size)),
                taker,
                self._maker(),
                False,
                ZERO_HASH,
                now,
            )
            for _ in range(n)
        ]
        self.push(coin, items)

    def market_order(
        self,
        coin: str,
        px: Decimal | float | str,
        size: Decimal | float | str,
        taker: str,
        *,
        orders: int = 4,
    ) -> Decimal:
        """A large ordinary market order: one hash, one taker, fills with no liquidation."""
        now = time.time_ns() // 1_000_000
        tx, part = self._hash(), Decimal(str(size)) / orders
        items = [
            self._trade(coin, Decimal(str(px)), part, taker, self._maker(), True, tx, now)
            for _ in range(orders)
        ]
        self.add_fills(taker, [self._fill(t, taker, buys=True, crossed=True) for t in items])
        self.push(coin, items)
        return sum((Decimal(t["px"]) * Decimal(t["sz"]) for t in items), Decimal(0))

    # -- liquidations ----------------------------------------------------------------------------

    def slice(
        self,
        done: Liquidated,
        *,
        long: bool,
        px: Decimal | float | str,
        size: Decimal | float | str,
        mark_px: Decimal | float | str,
        orders: int = 3,
    ) -> None:
        """One market slice: `orders` trades of one hash, the liquidated account the taker."""
        now = time.time_ns() // 1_000_000
        tx, part = self._hash(), Decimal(str(size)) / orders
        liq = {"liquidatedUser": done.user, "markPx": str(mark_px), "method": "market"}
        items, own = [], []
        for i in range(orders):
            price = Decimal(str(px)) * (
                1 - Decimal(i) / 10_000 if long else 1 + Decimal(i) / 10_000
            )
            maker = self._maker()
            trade = self._trade(done.coin, price, part, done.user, maker, not long, tx, now)
            items.append(trade)
            own.append(
                self._fill(
                    trade,
                    done.user,
                    buys=not long,
                    crossed=True,
                    liquidation=liq,
                    direction=f"Liquidated Cross {'Long' if long else 'Short'}",
                    start_position=done.start_position(trade["sz"], long=long),
                )
            )
            self.add_fills(
                maker, [self._fill(trade, maker, buys=long, crossed=False, liquidation=liq)]
            )
        self.add_fills(done.user, own)
        done.trades.extend(items)
        done.notional_usd += sum((Decimal(t["px"]) * Decimal(t["sz"]) for t in items), Decimal(0))
        self.push(done.coin, items)

    def backstop(
        self,
        done: Liquidated,
        *,
        long: bool,
        px: Decimal | float | str,
        size: Decimal | float | str,
        vault: str,
    ) -> None:
        """The backstop: the HLP child vault takes the rest over at the mark, one trade."""
        now = time.time_ns() // 1_000_000
        liq = {"liquidatedUser": done.user, "markPx": str(px), "method": "backstop"}
        trade = self._trade(
            done.coin,
            Decimal(str(px)),
            Decimal(str(size)),
            vault,
            done.user,
            long,
            self._hash(),
            now,
        )
        self.add_fills(
            done.user,
            [
                self._fill(
                    trade,
                    done.user,
                    buys=not long,
                    crossed=True,
                    liquidation=liq,
                    direction=f"Liquidated Cross {'Long' if long else 'Short'}",
                    start_position=done.start_position(trade["sz"], long=long),
                )
            ],
        )
        self.add_fills(vault, [self._fill(trade, vault, buys=long, crossed=True, liquidation=liq)])
        done.trades.append(trade)
        done.notional_usd += Decimal(trade["px"]) * Decimal(trade["sz"])
        self.push(done.coin, [trade])
