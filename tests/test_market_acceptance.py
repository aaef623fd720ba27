"""Issue 14's acceptance, as a user runs it: `tracker run --discover 1000000` with a webhook sink;
an account from the leaderboard, on no watchlist, opens a large ETH long in several trades on the
public tape; one `position_open` alert reaches the webhook (raised from the tape, not a refresh),
`latest_positions` holds the tape's total size, and `tracker market ETH --json` lists it among
the largest positions under its leaderboard name."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from tests.conftest import run_cli, start_cli, tracker_env
from tests.fakes.leaderboard import leaderboard_row
from tests.fakes.tape import Tape
from tests.test_snapshot import write_watchlist
from tests.test_universe import query, stop, until

WATCHED = "0x" + "a1" * 20  # on a watchlist, small
WHALE = "0x" + "e1" * 20  # on the leaderboard only, $5M, flat at first
SELLERS = ["0x" + f"{i:02x}" * 20 for i in (0x51, 0x52, 0x53)]  # makers, not tracked
NAME = "Big Whale [red]x[/red] @everyone"  # an owner's display name: plain text everywhere
HOOK = "/hook"


async def test_a_leaderboard_whale_opening_on_the_tape_alerts_is_stored_and_listed(
    hl_fake, alert_receiver, tmp_path
):
    hl_fake.put_leaderboard(
        [
            leaderboard_row(WHALE, "5000000", NAME),
            leaderboard_row("0x" + "c1" * 20, "999999", "under the threshold"),
        ]
    )
    hl_fake.put_model_account(WHALE, "5000000", positions=[])
    btc = {"coin": "BTC", "size": "1", "entry_px": "60000", "leverage": 5}
    hl_fake.put_model_account(WATCHED, "100000", positions=[btc])
    watchlist = write_watchlist(tmp_path / "w.toml", WATCHED)
    db = tmp_path / "t.duckdb"
    env = tracker_env(
        hl_fake.url,
        db,
        TRACKER_HL_STATS_URL=hl_fake.url,
        TRACKER_WEBHOOK_URL=alert_receiver.url + HOOK,
    )
    daemon = await start_cli("run", "-w", str(watchlist), "--discover", "1000000", env=env)
    try:

        async def ready() -> bool:  # the whale swept (its flat state known) and ETH followed
            doc = json.loads((await run_cli("status", "--json", env=env)).stdout)
            universe = doc.get("universe") or {}
            return universe.get("seen") == 1 and hl_fake.ws.subscribers("trades", coin="ETH") > 0

        await until(ready)
        tape = Tape(hl_fake)
        mark = hl_fake.dex("").mark("ETH")
        sizes = [Decimal("150"), Decimal("200"), Decimal("100")]  # $1M+ only all together
        for size, seller in zip(sizes, SELLERS, strict=True):
            tape.trade("ETH", mark, size, WHALE, seller, side="B")
            await asyncio.sleep(0.2)
        total = sum(sizes)

        def opens() -> list[dict[str, Any]]:
            bodies = [r.body for r in alert_receiver.received(HOOK)]
            return [b for b in bodies if b and b.get("kind") == "position_open"]

        async def alerted() -> list[dict[str, Any]]:
            return opens()

        (alert,) = await until(alerted)
        assert alert["address"] == WHALE and alert["label"] == NAME
        assert alert["side"] == "long" and Decimal(str(alert["size_change"])) == total
        assert Decimal(str(alert["notional_usd"])) >= Decimal(1_000_000)
        details = alert["details"]
        assert (json.loads(details) if isinstance(details, str) else details)["source"] == "tape"

        async def stored() -> list[tuple[Any, ...]]:
            sql = (
                "select size, side from latest_positions "
                f"where address = '{WHALE}' and coin = 'ETH'"
            )
            rows = await query(db, sql)
            return rows if rows and Decimal(str(rows[0][0])) == total else []

        ((size, side),) = await until(stored)  # the refresh confirms the tape's total
        assert side == "long"
        market = await run_cli("market", "ETH", "--json", env=env)
        assert market.code == 0, market.stderr
        largest = json.loads(market.stdout)["largest_positions"]
        mine = [p for p in largest if p["address"] == WHALE]
        assert len(mine) == 1 and mine[0]["label"] == NAME
        assert Decimal(str(mine[0]["size"])) == total
        await asyncio.sleep(1.0)  # later refreshes confirm: still exactly one alert
        assert len(opens()) == 1
    finally:
        await stop(daemon)
