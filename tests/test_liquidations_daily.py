"""`tracker liquidations`: every account by default, --watched, --coin, labels from the
leaderboard, and --daily per UTC day and coin with the day's largest single liquidation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from tests.conftest import run_cli, tracker_env
from tracker.alerts import store as alert_store
from tracker.records import LiquidationEpisode
from tracker.store import open_store

A = "0x" + "a1" * 20
B = "0x" + "b2" * 20
C = "0x" + "c3" * 20
HOSTILE = "[bold red]Whale[/] <script>alert(1)</script> @everyone"


def episode(address: str, coin: str, side: str, usd: int, start: datetime, watched: bool):
    return LiquidationEpisode(
        venue="hyperliquid",
        address=address,
        coin=coin,
        side="long" if side == "long" else "short",
        start=start,
        end=start,
        fills=3,
        size=Decimal(1),
        notional_usd=Decimal(usd),
        methods=("market",),
        mark_px=Decimal(1),
        realized_loss_usd=None,
        ledger_notional_usd=None,
        sources=("fills", "tape"),
        watched=watched,
    )


def seed(db) -> None:
    late = datetime(2026, 1, 29, 23, 59, tzinfo=UTC)
    early = datetime(2026, 1, 30, 0, 1, tzinfo=UTC)
    episodes = [
        episode(A, "BTC", "long", 31_640_000, late, False),
        episode(B, "BTC", "short", 900_000, late, True),
        episode(C, "BTC", "long", 5_000_000, early, False),  # the next UTC day
        episode(C, "ETH", "long", 2_000_000, late, False),
    ]
    with open_store(db) as store, store.transaction():
        alert_store.replace_episodes(store, [A, B, C], episodes, Decimal(1_000_000), "hyperliquid")
        store.con.execute(
            "insert into leaderboard (ts, address, account_value_usd, display_name) values "
            "($t, $a, 1, $n), ($t2, $a, 1, 'older name')",
            {"t": late, "t2": datetime(2026, 1, 1, tzinfo=UTC), "a": A, "n": HOSTILE},
        )


async def test_every_episode_by_default_with_watched_and_coin_filters(tmp_path):
    db = tmp_path / "t.duckdb"
    seed(db)
    env = tracker_env("http://127.0.0.1:9", db)
    rows = json.loads((await run_cli("liquidations", "--json", env=env)).stdout)
    assert [(r["address"], r["coin"]) for r in rows] == [
        (A, "BTC"),
        (C, "BTC"),
        (C, "ETH"),
        (B, "BTC"),
    ]
    by = {(r["address"], r["coin"]): r for r in rows}
    assert by[(A, "BTC")]["label"] == HOSTILE  # the newest leaderboard name, as data
    assert by[(A, "BTC")]["watched"] is False and by[(A, "BTC")]["sources"] == ["fills", "tape"]
    assert by[(B, "BTC")]["label"] is None
    watched = json.loads((await run_cli("liquidations", "--json", "--watched", env=env)).stdout)
    assert [r["address"] for r in watched] == [B]
    eth = json.loads((await run_cli("liquidations", "--json", "--coin", "eth", env=env)).stdout)
    assert [(r["address"], r["coin"]) for r in eth] == [(C, "ETH")]


async def test_daily_sums_per_utc_day_and_coin_and_names_the_largest(tmp_path):
    db = tmp_path / "t.duckdb"
    seed(db)
    env = tracker_env("http://127.0.0.1:9", db)
    days = json.loads((await run_cli("liquidations", "--daily", "--json", env=env)).stdout)
    assert [(d["day"], d["coin"], d["count"]) for d in days] == [
        ("2026-01-30", "BTC", 1),
        ("2026-01-29", "BTC", 2),
        ("2026-01-29", "ETH", 1),
    ]
    btc = days[1]
    assert Decimal(btc["notional_usd"]) == 32_540_000
    assert Decimal(btc["long_notional_usd"]) == 31_640_000
    assert Decimal(btc["short_notional_usd"]) == 900_000
    assert btc["largest"]["address"] == A and btc["largest"]["label"] == HOSTILE
    assert Decimal(btc["largest"]["notional_usd"]) == 31_640_000
    assert btc["largest"]["method"] == "market" and btc["largest"]["watched"] is False
    only = await run_cli("liquidations", "--daily", "--json", "--coin", "BTC", "--watched", env=env)
    (one,) = json.loads(only.stdout)
    assert one["largest"]["address"] == B and one["count"] == 1
    table = await run_cli("liquidations", "--daily", env=env)
    assert table.code == 0
    assert "[bold red]Whale[/]" in table.stdout  # strangers' text printed as is, not as markup
