"""Issue 15 acceptance, end to end: a plain live `tracker run` finds liquidations of accounts on
no watchlist from the public tape, confirms them from their own fills, stores one episode each
and sends one `large_liquidation` webhook; ordinary flow, TWAP slices and a large ordinary
market order make no liquidation."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.conftest import run_cli, tracker_env
from tests.fakes.liquidations import Liquidated, Tape
from tests.test_liquidations import ETH_SIZE, WHALE, model_whale
from tests.test_live import start, status, stop, wait_for
from tests.test_snapshot import write_watchlist

BIG = "0x00000000000000000000000000000000000b1600"
SMALL = "0x000000000000000000000000000000000005a11e"
BUYER = "0x00000000000000000000000000000000000b0b0b"
TWAPPER = "0x0000000000000000000000000000000000007a77"
CHILD = "0xb0a55f13d22f66e6d495ac98113841b2326e9540"  # an HLP child vault (reference §3)
BTC_PX = Decimal(84_000)


async def test_tape_liquidations_of_strangers_end_to_end(hl_fake, alert_receiver, tmp_path):
    model_whale(hl_fake, ETH_SIZE)  # the watchlist holds neither liquidated account
    hl_fake.set_mark("BTC", str(BTC_PX))
    tape = Tape(hl_fake)
    tape.hlp_children([CHILD])
    db = tmp_path / "t.duckdb"
    watchlist = write_watchlist(tmp_path / "w.toml", WHALE)
    env = tracker_env(
        hl_fake.url,
        db,
        TRACKER_WEBHOOK_URL=f"{alert_receiver.url}/hook",
        TRACKER_FOLLOW_LIQUIDATORS="1",
    )
    daemon = await start(env, watchlist, "600")
    try:

        async def following_btc():
            doc = (await status(env)).get("daemon") or {}
            subscribed = hl_fake.ws.subscribers("trades", coin="BTC") > 0
            return subscribed and (doc.get("liquidations") or {}).get("hlp_children") == 1

        await wait_for(following_btc)

        tape.ordinary("BTC", BTC_PX, "0.5", n=20)
        tape.twap("BTC", BTC_PX, "4", TWAPPER, n=5)  # $336k each, all-zero hash
        ordinary_usd = tape.market_order("BTC", BTC_PX, "60", BUYER)  # $5.04M, not liquidated

        # $31.64M long: three 20 % market slices, then the backstop takes the last 40 %.
        size = Decimal("31640000") / BTC_PX
        big = Liquidated(user=BIG, coin="BTC", held=size)  # its fills carry startPosition
        for i in range(3):
            px = BTC_PX - 50 * i
            tape.slice(big, long=True, px=px, size=size / 5, mark_px=px, orders=4)
            tape.ordinary("BTC", px, "0.2", n=5)
        tape.backstop(big, long=True, px=BTC_PX - 200, size=size * 2 / 5, vault=CHILD)

        # $800k long: slices of $160k (under the candidate threshold), then the backstop.
        small_size = Decimal("800000") / BTC_PX
        small = Liquidated(user=SMALL, coin="BTC", held=small_size)
        tape.slice(small, long=True, px=BTC_PX, size=small_size / 5, mark_px=BTC_PX)
        tape.slice(small, long=True, px=BTC_PX, size=small_size / 5, mark_px=BTC_PX)
        tape.backstop(small, long=True, px=BTC_PX, size=small_size * 3 / 5, vault=CHILD)

        async def settled():
            doc = ((await status(env)).get("daemon") or {}).get("liquidations") or {}
            listing = await run_cli("liquidations", "--json", "--coin", "btc", env=env)
            rows = json.loads(listing.stdout)
            done = doc.get("pending") == 0 and doc.get("candidates", 0) >= 1
            whole = [r for r in rows if r["address"] == BIG and r["fills"] == 13]
            return done and whole and len(rows) >= 2 and (rows, doc)

        rows, doc = await wait_for(settled, timeout=60)
        assert abs(big.notional_usd - Decimal(31_640_000)) / Decimal(31_640_000) < Decimal("0.005")
        by_address = {r["address"]: r for r in rows}
        assert set(by_address) == {BIG, SMALL}, rows  # no TWAP, no market order, no maker
        large = by_address[BIG]
        assert abs(Decimal(large["notional_usd"]) - big.notional_usd) <= big.notional_usd / 200
        assert large["watched"] is False and "tape" in large["sources"]
        assert large["method"] == "backstop+market" and large["large"] is True
        assert Decimal(by_address[SMALL]["notional_usd"]) == small.notional_usd
        assert by_address[SMALL]["large"] is False
        # the position at stake: all of it at the first slice's mark (to the cent: the sizes
        # here have more decimals than the store keeps)
        cent = Decimal("0.01")
        assert Decimal(large["position_usd"]).quantize(cent) == (size * BTC_PX).quantize(cent)
        small_stake = Decimal(by_address[SMALL]["position_usd"]).quantize(cent)
        assert small_stake == (small_size * BTC_PX).quantize(cent)
        assert doc["rejected"] >= 1 and doc["dropped_for_budget"] == 0  # the market order
        # read from userFills snapshots (the engine hands them over), each counted by its read
        assert doc["confirmed_ws"] >= 1, doc
        assert doc["confirmed_ws"] + doc["confirmed_rest"] == doc["confirmed"], doc
        assert ordinary_usd > Decimal(5_000_000)

        async def delivered():
            return [r for r in alert_receiver.received("/hook")]

        hooks = await wait_for(delivered)
        alerts = json.loads((await run_cli("alerts", "--json", env=env)).stdout)
        large_alerts = [a for a in alerts if a["kind"] == "large_liquidation"]
        assert len(large_alerts) == 1 and large_alerts[0]["address"] == BIG
        assert Decimal(large_alerts[0]["notional_usd"]) == Decimal(large["notional_usd"])
        assert large_alerts[0]["delivered_to"]  # delivered, and not again after the update
        assert [h.body["kind"] for h in alert_receiver.received("/hook")] == ["large_liquidation"]
        assert hooks[0].body["address"] == BIG

        daily = json.loads((await run_cli("liquidations", "--daily", "--json", env=env)).stdout)
        (btc,) = [d for d in daily if d["coin"] == "BTC"]
        assert btc["count"] == 2 and btc["largest"]["address"] == BIG
        assert Decimal(btc["largest"]["notional_usd"]) == Decimal(large["notional_usd"])
        assert Decimal(btc["long_notional_usd"]) == Decimal(btc["notional_usd"])
        watched_only = await run_cli("liquidations", "--json", "--watched", env=env)
        assert json.loads(watched_only.stdout) == []
        shown = await run_cli("status", env=env)
        assert "0 dropped for lack of budget" in shown.stdout, shown.stdout
        assert "confirmed from WebSocket snapshots" in shown.stdout, shown.stdout
        budget = (await status(env))["daemon"]["budget"]
        assert budget["max_in_any_min"] <= 1200
    finally:
        await stop(daemon)
