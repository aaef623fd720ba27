"""Live mode end to end: `tracker run` streams marks and trades from the fake's WebSocket."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from decimal import Decimal

import duckdb

from tests.conftest import REPO, run_cli, start_cli, tracker_env
from tests.test_liquidations import ETH_SIZE, WHALE, crash_fills, model_whale
from tests.test_snapshot import write_watchlist

TRADER = "0x0000000000000000000000000000000000007ade"


async def start(env: dict[str, str], watchlist, interval: str) -> asyncio.subprocess.Process:
    return await start_cli("run", "-w", str(watchlist), "--interval", interval, env=env)


async def wait_for(predicate, timeout: float = 30.0, step: float = 0.2):
    async with asyncio.timeout(timeout):
        while True:
            value = await predicate()
            if value:
                return value
            await asyncio.sleep(step)


async def status(env) -> dict:
    result = await run_cli("status", "--json", env=env)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


async def read_all(db, sql: str, params: dict | None = None) -> list[tuple]:
    """Rows from the running daemon's database, waiting out the moments a pass holds it."""
    async with asyncio.timeout(20):
        while True:
            try:
                con = duckdb.connect(str(db), read_only=True)
            except duckdb.IOException as exc:
                if "lock" not in str(exc):
                    raise
                await asyncio.sleep(0.05)  # the pass's write lasts milliseconds
                continue
            try:
                return con.execute(sql, params or {}).fetchall()
            finally:
                con.close()


async def read_one(db, sql: str, params: dict) -> tuple | None:
    """One row from the running daemon's database (None when there is none)."""
    rows = await read_all(db, sql, params)
    return rows[0] if rows else None


async def stop(proc) -> str:
    proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(10):
        _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    return err.decode()


async def test_live_mode_refreshes_traders_and_warns_from_marks(hl_fake, tmp_path):
    model_whale(hl_fake, ETH_SIZE)
    hl_fake.put_model_account(
        TRADER,
        "100000",
        positions=[
            {"coin": "ETH", "size": "10", "entry_px": "2900", "leverage": 5, "margin_mode": "cross"}
        ],
    )
    db = tmp_path / "t.duckdb"
    watchlist = write_watchlist(tmp_path / "w.toml", WHALE, TRADER)
    env = tracker_env(hl_fake.url, db)  # the WebSocket URL is derived from the API URL
    # REST refreshes only when due by trade or after 10 minutes: anything sooner is the streams.
    daemon = await start(env, watchlist, "600")
    try:

        async def connected():
            doc = await status(env)
            daemon_status = doc.get("daemon") or {}
            return daemon_status.get("stream", {}).get("state") == "connected" and daemon_status

        first = await wait_for(connected)
        assert first["mode"] == "live" and first["running"]
        assert first["budget"]["per_min"] == 1200

        # A trade naming a watched account on the public feed: that account is refreshed now.
        before = len([r for r in hl_fake.requests if r.user == TRADER])
        hl_fake.ws.trade("ETH", "2899", "1.5", buyer=TRADER, seller="0x" + "55" * 20)

        async def refreshed():
            return (
                len(
                    [
                        r
                        for r in hl_fake.requests
                        if r.user == TRADER and r.type == "clearinghouseState"
                    ]
                )
                > before // 3
            )

        await wait_for(refreshed, timeout=10)

        # The crash: marks fall on the WebSocket only; the whale nears liquidation.
        (liq,) = await read_one(
            db, "select liquidation_px from latest_positions where address = $a", {"a": WHALE}
        )
        hl_fake.set_mark("ETH", str(liq * Decimal("1.03")))

        async def warned():
            doc = await status(env)
            return (doc.get("daemon") or {}).get("alerts_from_marks", 0) >= 1

        await wait_for(warned, timeout=15)
        alerts = json.loads((await run_cli("alerts", "--json", env=env)).stdout)
        near = [a for a in alerts if a["kind"] in ("near_liquidation", "account_near_liquidation")]
        assert near and all(a["address"] == WHALE for a in near)

        # Then the liquidation fills arrive (the whale's own user feed names it): one episode.
        fills, _, eth_notional, _ = crash_fills()
        hl_fake.put_fills(WHALE, list(reversed(fills)))
        hl_fake.put_model_account(WHALE, "1000", positions=[])
        hl_fake.ws.trade("ETH", "2380", "18000", buyer="0x" + "66" * 20, seller=WHALE)

        async def episode():
            listing = await run_cli("liquidations", "--json", "--address", WHALE, env=env)
            rows = [r for r in json.loads(listing.stdout) if r["coin"] == "ETH"]
            return rows

        rows = await wait_for(episode, timeout=20)
        assert len(rows) == 1 and Decimal(rows[0]["notional_usd"]) == eth_notional
        final = (await status(env))["daemon"]
        assert final["budget"]["max_in_any_min"] <= 1200
        assert final["trade_to_refresh_p99_s"] is not None
        assert final["mark_to_risk_p99_ms"] is not None and final["mark_updates"] > 0
    finally:
        err = await stop(daemon)
    assert "Traceback" not in err
    alerts = json.loads((await run_cli("alerts", "--json", env=env)).stdout)
    near_ts = min(a["created_at"] for a in alerts if "near_liquidation" in a["kind"])
    large = [a for a in alerts if a["kind"] == "large_liquidation"]
    assert len(large) == 1 and large[0]["created_at"] > near_ts  # warned before it happened


async def test_live_mode_without_a_websocket_falls_back_to_rest(hl_fake, tmp_path):
    db = tmp_path / "t.duckdb"
    watchlist = write_watchlist(tmp_path / "w.toml", TRADER)
    hl_fake.put_model_account(
        TRADER,
        "100000",
        positions=[
            {"coin": "ETH", "size": "10", "entry_px": "2900", "leverage": 5, "margin_mode": "cross"}
        ],
    )
    env = tracker_env(hl_fake.url, db, TRACKER_HL_WS_URL="ws://127.0.0.1:9/ws")
    daemon = await start(env, watchlist, "1")
    try:

        async def two_passes():
            if not db.exists():
                return False
            result = await run_cli(
                "query", "select count(*) from snapshot_runs", "--format", "csv", env=env
            )
            return result.code == 0 and int(result.stdout.splitlines()[1]) >= 2

        await wait_for(two_passes, timeout=30)
    finally:
        err = await stop(daemon)
    assert "Traceback" not in err


async def test_a_book_warmed_from_the_store_matches_one_from_the_venue(hl_fake, tmp_path):
    from datetime import UTC, datetime

    import aiohttp

    from tests.fakes import seed
    from tracker.app.live.warm import stored_accounts
    from tracker.app.poller import HyperliquidPoller
    from tracker.net.http import RetryPolicy
    from tracker.net.limiter import WeightLimiter
    from tracker.risk.live.book import LiveBook
    from tracker.sources.hyperliquid.client import HyperliquidClient

    addresses = [seed.CROSS_SHORT_SOL, seed.ISOLATED_SHORT_HYPE, seed.HIP3_FLX, TRADER]
    hl_fake.put_model_account(
        TRADER,
        "100000",
        positions=[
            {
                "coin": "ETH",
                "size": "10",
                "entry_px": "2900",
                "leverage": 5,
                "margin_mode": "cross",
            },
            {
                "coin": "SOL",
                "size": "-50",
                "entry_px": "140",
                "leverage": 3,
                "margin_mode": "isolated",
            },
        ],
    )
    db = tmp_path / "t.duckdb"
    watchlist = write_watchlist(tmp_path / "w.toml", *addresses)
    assert (
        await run_cli("snapshot", "-w", str(watchlist), env=tracker_env(hl_fake.url, db))
    ).code == 0
    async with aiohttp.ClientSession() as session:
        client = HyperliquidClient(
            session, hl_fake.url, limiter=WeightLimiter(0), policy=RetryPolicy()
        )
        poller = HyperliquidPoller(client)
        result = await poller.poll(addresses, datetime.now(UTC))
        fresh, warm = LiveBook(), LiveBook()
        for report in result.reports:
            for account in report.venue_accounts:
                fresh.upsert(account, poller.meta_for(account.dex))
        for account, _ in stored_accounts(db, addresses):
            warm.upsert(account, poller.meta_for(account.dex))
    marks = {"ETH": 2500.0, "SOL": 150.0, "HYPE": 45.0}
    fresh.apply_marks(marks)
    warm.apply_marks(marks)
    by_key = {(p.address, p.dex, p.coin): p for p in fresh.positions()}
    warmed = warm.positions()
    assert len(warmed) == len(by_key) >= 5
    for p in warmed:
        f = by_key[(p.address, p.dex, p.coin)]
        assert (p.liquidation_px is None) == (f.liquidation_px is None)
        if p.liquidation_px is not None:
            assert abs(p.liquidation_px / f.liquidation_px - 1) < Decimal("1e-9")
        assert abs(p.unrealized_pnl_usd - f.unrealized_pnl_usd) <= Decimal("1e-6")


async def test_watch_re_marks_between_polls_from_the_websocket(hl_fake, tmp_path):
    from tests.fakes import seed

    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tracker",
        "watch",
        seed.CROSS_SHORT_SOL,
        "--json",
        "--interval",
        "60",
        env=env,
        cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(30):
            first = json.loads(await proc.stdout.readline())  # the first REST poll
            sol = next(p for p in first["positions"] if p["coin"] == "SOL")
            hl_fake.set_mark("SOL", "150")
            while True:  # the next lines come from the WebSocket, long before the next poll
                doc = json.loads(await proc.stdout.readline())
                moved = next(p for p in doc["positions"] if p["coin"] == "SOL")
                if Decimal(moved["mark_px"]) == Decimal(150):
                    break
        assert Decimal(sol["mark_px"]) != Decimal(150)
        assert Decimal(moved["liquidation_px"]) > Decimal(moved["mark_px"])  # a short
        assert (
            moved["liquidation_px"] != sol["liquidation_px"]
            or moved["unrealized_pnl"] != (sol["unrealized_pnl"])
        )
        polls = [
            r
            for r in hl_fake.requests
            if r.type == "clearinghouseState" and r.user == seed.CROSS_SHORT_SOL
        ]
        assert len(polls) <= 2  # main dex + flx, polled once: the re-mark needed no API call
    finally:
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            _, err = await proc.communicate()
    assert "Traceback" not in err.decode()


async def test_a_liquidation_during_a_websocket_outage_is_stored_once_after_reconnecting(
    hl_fake, tmp_path
):
    model_whale(hl_fake, ETH_SIZE)
    db = tmp_path / "t.duckdb"
    watchlist = write_watchlist(tmp_path / "w.toml", WHALE)
    env = tracker_env(hl_fake.url, db)
    daemon = await start(env, watchlist, "600")  # REST only when due: the outage must make it due
    try:

        async def following():
            doc = (await status(env)).get("daemon") or {}
            stream = doc.get("stream", {})
            return stream.get("state") == "connected" and WHALE in stream.get("users_followed", [])

        await wait_for(following)
        connects = hl_fake.ws.connects
        hl_fake.ws.refuse(3.0)
        hl_fake.ws.disconnect_all()
        # While the WebSocket is down the whale is liquidated; no frame will ever say so.
        fills, _, eth_notional, _ = crash_fills()
        hl_fake.put_fills(WHALE, list(reversed(fills)))
        hl_fake.put_model_account(WHALE, "1000", positions=[])

        async def episode():
            listing = await run_cli("liquidations", "--json", "--address", WHALE, env=env)
            return [r for r in json.loads(listing.stdout) if r["coin"] == "ETH"]

        rows = await wait_for(episode, timeout=40)
        assert len(rows) == 1 and Decimal(rows[0]["notional_usd"]) == eth_notional
        assert hl_fake.ws.connects > connects  # it came back over the WebSocket, too

        async def reconnect_reported():  # the status file is rewritten every 2 s
            doc = (await status(env)).get("daemon") or {}
            return doc.get("stream", {}).get("reconnects", 0) >= 1

        await wait_for(reconnect_reported, timeout=10)
    finally:
        err = await stop(daemon)
    assert "Traceback" not in err
    con = duckdb.connect(str(db), read_only=True)
    stored = con.execute("select count(*), count(distinct tid) from fills").fetchone()
    assert stored == (len(fills), len(fills))  # every fill, none twice
    alerts = json.loads((await run_cli("alerts", "--json", env=env)).stdout)
    assert len([a for a in alerts if a["kind"] == "large_liquidation"]) == 1
