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
BIG = "0x" + "b1" * 20  # $3.36M long: sliced, then backstopped
MID = "0x" + "3d" * 20  # $672k long: slices under the threshold, found by its backstop
TINY = "0x" + "71" * 20  # $42k long: one small market order, under every threshold
SHORT = "0x" + "5e" * 20  # short: never crossed while the mark falls


async def test_a_falling_mark_liquidates_in_slices_then_backstop(hl_fake, tmp_path):
    tape, clock = Tape(hl_fake), Clock()
    tape.hlp_children([CHILD])
    market = LiquidatingMarket(tape, vault=CHILD, cooldown_s=0.1)
    big = market.open(BIG, "BTC", size=Decimal(40), liq_px=Decimal(83_500))
    mid = market.open(MID, "BTC", size=Decimal(8), liq_px=Decimal(83_000))
    tiny = market.open(TINY, "BTC", size=Decimal("0.5"), liq_px=Decimal(83_800))
    short = market.open(SHORT, "BTC", size=Decimal(-10), liq_px=Decimal(90_000))
    await market.path("BTC", [84_000, 81_500], steps=50, step_s=0.01)

    assert big.methods[:2] == ["market", "market"] and big.methods[-1] == "backstop"
    assert mid.methods[-1] == "backstop" and tiny.methods == ["market"]
    assert short.methods == [] and not short.done.trades
    assert all(a.remaining == 0 for a in (big, mid, tiny))
    twap_free = [t for t in tape.sent if t["hash"] != "0x" + "0" * 64]
    assert len(twap_free) == len(tape.sent)

    async with watching(hl_fake, tmp_path / "w.duckdb", weight=300, clock=clock) as watch:
        await until(lambda: CHILD in watch.grouper.vaults)
        watch.on_trades(parse_trades(tape.sent))
        clock.now += lw.CONFIRM_DELAY_S
        await until(lambda: watch.status()["pending"] == 0 and watch.stats.confirm_calls >= 2)
        await until(lambda: watch.stats.episodes >= 2)
    stored = dict(rows(tmp_path / "w.duckdb", "select address, notional_usd from liquidations"))
    assert stored == {BIG: big.done.notional_usd, MID: mid.done.notional_usd}
