"""The fake market liquidates as the mark falls (slices, then backstop), and the watcher finds
every liquidation whose slices or backstop reach its thresholds, and nothing else."""

from __future__ import annotations

from decimal import Decimal

from tests.fakes.cascade import LiquidatingMarket
from tests.fakes.liquidations import Tape
from tests.test_liquidation_watch import Clock, rows, until, watching
from tracker.app import liquidation_watch as lw
from tracker.sources.hyperliquid.ws_parse import parse_trades

CHILD = "0x" + "9c" * 20
BIG = "0x" + "b1" * 20  # $3.36M long: sliced, then backstopped before the cooldown is over
WHOLE = "0x" + "a7" * 20  # $2.52M long: sliced, then the rest in one order after the cooldown
MID = "0x" + "3d" * 20  # $672k long: slices under the threshold, found by its backstop
TINY = "0x" + "71" * 20  # $42k long: one small market order, under every threshold
SHORT = "0x" + "5e" * 20  # short: never crossed while the mark falls


async def test_a_falling_mark_liquidates_in_slices_then_backstop(hl_fake, tmp_path):
    tape, clock = Tape(hl_fake), Clock()
    tape.hlp_children([CHILD])
    market = LiquidatingMarket(tape, vault=CHILD, cooldown_s=0.2)
    big = market.open(BIG, "BTC", size=Decimal(40), liq_px=Decimal(83_500))
    whole = market.open(
        WHOLE, "BTC", size=Decimal(30), liq_px=Decimal(83_900), backstop_px=Decimal(70_000)
    )
    mid = market.open(MID, "BTC", size=Decimal(8), liq_px=Decimal(83_000))
    tiny = market.open(TINY, "BTC", size=Decimal("0.5"), liq_px=Decimal(83_800))
    short = market.open(SHORT, "BTC", size=Decimal(-10), liq_px=Decimal(90_000))
    await market.path("BTC", [84_000, 81_500], steps=50, step_s=0.01)

    assert big.methods == ["market", "backstop"]
    assert whole.methods == ["market", "market"]
    # the first slice is 20 % of the position; after the cooldown the order is for all the rest
    first, rest = (
        sum(Decimal(t["sz"]) for t in whole.done.trades if t["hash"] == tx)
        for tx in dict.fromkeys(t["hash"] for t in whole.done.trades)
    )
    assert (first, rest) == (Decimal(6), Decimal(24))
    assert mid.methods[-1] == "backstop" and tiny.methods == ["market"]
    assert short.methods == [] and not short.done.trades
    assert all(a.remaining == 0 for a in (big, whole, mid, tiny))
    twap_free = [t for t in tape.sent if t["hash"] != "0x" + "0" * 64]
    assert len(twap_free) == len(tape.sent)

    async with watching(hl_fake, tmp_path / "w.duckdb", weight=300, clock=clock) as watch:
        await until(lambda: CHILD in watch.grouper.vaults)
        watch.on_trades(parse_trades(tape.sent))
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.status()["pending"] == 0 and watch.stats.confirm_calls >= 3)
        await until(lambda: watch.stats.episodes >= 3)
    stored = {
        a: (n, p)
        for a, n, p in rows(
            tmp_path / "w.duckdb", "select address, notional_usd, position_usd from liquidations"
        )
    }
    # the position at stake: the first fill's startPosition at its mark (the slice's first price)
    assert stored == {
        a.done.user: (a.done.notional_usd, abs(a.size) * Decimal(a.done.trades[0]["px"]))
        for a in (big, whole, mid)
    }
