"""The demo's cascade, played on a staged replay venue (scenario.py) in two and a half minutes.

Scenario seconds from the moment the tracker is listening (`speed` compresses them):

    0-20    marks slide (ETH 2,700 -> 2,650); ordinary trades on every coin
    20-24   macro_shorts sells 2,000 ETH in eight trades: a whale opening a short
    24-60   ETH falls to 2,515, crossing ethmaxi.hl's liquidation price (2,520): a first slice
            of 20 % of the position goes to the book, with the `liquidation` objects on its fills
    60-90   a bounce and a second leg down: the next slice, 30 s after the first
    90-125  ETH breaks 1 % below the liquidation price: the HLP liquidator vault takes the rest
            (the backstop); BTC, SOL and HYPE fall with it
    125-150 a partial recovery; then the marks stay where they are and the venue keeps serving

Every trade moves the modelled accounts on it (tape.py) and liquidations move the liquidated
one (cascade.py); what the tracker shows it computes from those answers and trades.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from decimal import Decimal

from tracker.replay.cascade import LiquidatingMarket
from tracker.replay.liquidations import Tape as LiquidationTape
from tracker.replay.scenario import DOOMED, HLP_LIQUIDATOR, MOVER, WHALES, address_of
from tracker.replay.server import ReplayServer
from tracker.replay.tape import Tape
from tracker.replay.ws import interpolate

log = logging.getLogger(__name__)

STEP_S = 1.0  # scenario seconds between two ticks of the marks
LIQUIDATION_COOLDOWN_S = 30.0  # the venue's, between two market slices of one account
READY_TIMEOUT_S = 60.0  # start anyway when no tracker has looked by then (wall seconds)
PATHS: dict[str, list[tuple[float, str]]] = {
    "ETH": [
        (0, "2700"),
        (20, "2650"),
        (45, "2560"),
        (60, "2515"),
        (75, "2528"),
        (90, "2511"),
        (105, "2470"),
        (125, "2440"),
        (150, "2530"),
    ],
    "BTC": [(0, "84000"), (60, "83100"), (105, "81500"), (125, "81200"), (150, "82600")],
    "SOL": [(0, "118"), (60, "113.5"), (105, "108.2"), (125, "107.5"), (150, "111.9")],
    "HYPE": [(0, "29"), (60, "28.1"), (105, "26.9"), (125, "26.8"), (150, "27.6")],
}
SHORT_AT_S = 20.0
SHORT_TRADES = 8
SHORT_SIZE = Decimal(250)  # ETH per trade
MAKER = address_of("market-maker")


async def ready(venue: ReplayServer, timeout_s: float = READY_TIMEOUT_S) -> bool:
    """Wait until a tracker has read every whale's state and follows ETH's trades."""
    whales = {w.address for w in WHALES}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        asked = {r.user for r in venue.requests if r.type == "clearinghouseState"}
        if whales <= asked and venue.ws.subscribers("trades", coin="ETH"):
            return True
        await asyncio.sleep(0.2)
    log.warning("no tracker followed the replay within %.0f s: playing it anyway", timeout_s)
    return False


async def play(venue: ReplayServer, *, speed: float = 1.0) -> None:
    """Play the cascade on a staged venue, `speed` times faster than its scenario seconds."""
    tape = Tape(venue)
    liquidations = LiquidationTape(venue, record=False)
    market = LiquidatingMarket(
        liquidations, vault=HLP_LIQUIDATOR, cooldown_s=LIQUIDATION_COOLDOWN_S
    )
    held = venue.clearinghouse_state(DOOMED.address)["assetPositions"][0]["position"]
    market.open(
        DOOMED.address, "ETH", size=Decimal(held["szi"]), liq_px=Decimal(held["liquidationPx"])
    )
    end = max(points[-1][0] for points in PATHS.values())
    shorts = 0
    while market.time <= end:
        t = market.time
        for coin, points in PATHS.items():
            px = _price(points, t, coin)
            if coin == "ETH":
                market.mark(coin, px)
            else:
                venue.set_mark(coin, px)
            liquidations.ordinary(coin, px, _small(px), n=2)
        while shorts < SHORT_TRADES and t >= SHORT_AT_S + shorts * 0.5:
            _sell(tape, liquidations, _price(PATHS["ETH"], t, "ETH"))
            shorts += 1
        market.time += STEP_S
        await asyncio.sleep(STEP_S / speed)
    log.info("the replay's cascade is over; the venue keeps serving its last state")


def _sell(tape: Tape, liquidations: LiquidationTape, px: Decimal) -> None:
    """One of MOVER's sells: it moves the account and is in its fills, as the venue keeps them."""
    trade = tape.trade("ETH", px, SHORT_SIZE, MAKER, MOVER.address, side="A")
    liquidations.taker_fills(MOVER.address, [trade], buys=False, direction="Open Short")


def _price(points: Sequence[tuple[float, str]], t: float, coin: str) -> Decimal:
    decimals = 1 if coin in ("BTC", "ETH") else 3
    return interpolate(points, t).quantize(Decimal(1).scaleb(-decimals))


def _small(px: Decimal) -> Decimal:
    """A few thousand USD of the coin: ordinary flow, far under any liquidation threshold."""
    return (Decimal(5000) / px).quantize(Decimal("0.0001"))
