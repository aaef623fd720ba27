"""`tracker demo` end to end: the command as a real process, its page in headless Chromium.

The replay runs 8x faster than its scenario (about 20 s instead of 150 s). The page must show the
whales' positions, the cascade's liquidation and the whale opening a short, all computed by the
tracker from the replay; it must say it is a replay; no connection of the process may leave
127.0.0.1, even with an environment that names outside endpoints and an alert webhook; SIGINT
ends it with exit 0 and removes its temporary folder. And the venue side of the cascade, step by
step: the liquidated whale's state shrinks with each slice and the backstop empties it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import psutil
from playwright.async_api import expect

from tests.conftest import start_cli
from tests.test_web_browser import WAIT_MS, browser, keep, rows
from tracker.replay.cascade import LiquidatingMarket
from tracker.replay.liquidations import Tape
from tracker.replay.scenario import DOOMED, HLP_LIQUIDATOR, MOVER, WHALES, stage
from tracker.replay.server import ReplayServer
from tracker.replay.wire import as_bytes

SPEED = "8"
TIMEOUT_S = 90.0  # a ceiling for the replay's events to show, not a measured time
OUTSIDE = "http://192.0.2.1"  # TEST-NET-1: were it ever dialled, the connection check sees it


def demo_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose settings point away from the replay: the demo must ignore them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    (tmp_path / "tmp").mkdir()
    env.update(
        {
            "TMPDIR": str(tmp_path / "tmp"),
            "HOME": str(tmp_path / "home"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "TRACKER_ENV_FILE": str(tmp_path / "no.env"),
            "TRACKER_HL_API_URL": OUTSIDE,
            "TRACKER_HL_WS_URL": "ws://192.0.2.1/ws",
            "TRACKER_HL_STATS_URL": OUTSIDE,
            "TRACKER_WEBHOOK_URL": f"{OUTSIDE}/hook",
            "TRACKER_ETH_RPC_URL": f"{OUTSIDE}:8545",
            "NO_COLOR": "1",
        }
    )
    return env


async def address_of(proc: asyncio.subprocess.Process) -> str:
    """The page's address, from the line the demo prints once it listens."""
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    found = re.search(r"http://127\.0\.0\.1:\d+/", line.decode())
    assert found, line
    return found.group(0)


async def remote_ends(pid: int, seen: set[tuple[str, str]], stop: asyncio.Event) -> None:
    """Every (local ip, remote ip) of the process's TCP connections, sampled until stop."""
    process = psutil.Process(pid)
    while not stop.is_set():
        with contextlib.suppress(psutil.Error):
            for conn in process.net_connections(kind="inet"):
                seen.add((conn.laddr.ip, conn.raddr.ip if conn.raddr else ""))
        await asyncio.sleep(0.05)


async def until(session: aiohttp.ClientSession, url: str, test: Any) -> Any:
    """GET url (JSON) until test(doc) holds; the doc then."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        async with session.get(url) as response:
            doc = await response.json()
        if test(doc):
            return doc
        assert time.monotonic() < deadline, f"{url} never showed it: {str(doc)[:500]}"
        await asyncio.sleep(0.3)


def moved(alerts: list[dict[str, Any]]) -> bool:
    return any(a["kind"] == "position_open" and a["address"] == MOVER.address for a in alerts)


def told_large(alerts: list[dict[str, Any]]) -> bool:
    return any(a["kind"] == "large_liquidation" and a["address"] == DOOMED.address for a in alerts)


def liquidated(episodes: list[dict[str, Any]]) -> bool:
    return any(e["address"] == DOOMED.address and e["coin"] == "ETH" for e in episodes)


async def test_demo_serves_a_replayed_cascade_offline_and_stops_on_sigint(tmp_path):
    env = demo_env(tmp_path)
    proc = await start_cli("demo", "--port", "0", "--speed", SPEED, env=env)
    seen: set[tuple[str, str]] = set()
    stop = asyncio.Event()
    watcher = asyncio.create_task(remote_ends(proc.pid, seen, stop))
    try:
        url = await address_of(proc)
        async with aiohttp.ClientSession() as session:
            accounts = await until(session, f"{url}api/accounts", lambda d: len(d) == len(WHALES))
            assert {a["address"] for a in accounts} == {w.address for w in WHALES}
            await until(session, f"{url}api/alerts", moved)
            episodes = await until(session, f"{url}api/liquidations", liquidated)
            await until(session, f"{url}api/alerts", told_large)
            mover = await until(
                session,
                f"{url}api/accounts/{MOVER.address}",
                lambda d: any(p["coin"] == "ETH" for p in d["positions"]),
            )
        episode = next(e for e in episodes if e["address"] == DOOMED.address)
        assert "market" in episode["method"] and episode["large"] is True
        assert float(episode["notional_usd"]) > 2_000_000  # a slice is 1,000 ETH at ~2,518
        short = next(p for p in mover["positions"] if p["coin"] == "ETH")
        assert short["side"] == "short" and float(short["size"]) > 0

        async with browser(tmp_path) as (page, browsed):
            await page.goto(url)
            await expect(page.locator("#banner")).to_contain_text("Replay", timeout=WAIT_MS)
            await rows(page, "#accounts", len(WHALES))
            assert "ethmaxi.hl" in (await page.locator("#accounts tbody").text_content() or "")
            await keep(page, "demo-overview")

            await page.goto(f"{url}accounts/{MOVER.address}")
            await expect(page.locator('#positions tr[data-coin="ETH"]')).to_have_count(
                1, timeout=WAIT_MS
            )
            await expect(page.locator("#banner")).to_be_visible()

            await page.goto(f"{url}liquidations")
            await rows(page, "#liquidations", len(episodes))
            shown = await page.locator("#liquidations tbody").inner_text()
            assert DOOMED.name in shown and "ETH" in shown and "market" in shown

            await page.goto(f"{url}alerts")
            await expect(page.locator("#alerts tbody")).to_contain_text(
                "WHALE OPEN", timeout=WAIT_MS
            )
            await keep(page, "demo-alerts")
        assert browsed.errors == [] and browsed.outside == []

        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        stop.set()
        await watcher
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert seen, "the connection check saw no connection at all"
    assert {ip for pair in seen for ip in pair if ip} == {"127.0.0.1"}, seen
    assert list((tmp_path / "tmp").iterdir()) == []  # the database folder is gone


def eth_of(venue: ReplayServer, user: str) -> dict[str, Any] | None:
    state = venue.clearinghouse_state(user)
    return next(
        (p["position"] for p in state["assetPositions"] if p["position"]["coin"] == "ETH"), None
    )


def test_the_venue_liquidates_the_doomed_whale_in_slices_then_backstop():
    """What the demo's venue answers as the cascade goes: the position shrinks by the first
    slice, the backstop takes the rest, and the account's fills carry the `liquidation` objects
    and the position before each fill."""
    venue = ReplayServer()
    stage(venue)
    held = eth_of(venue, DOOMED.address)
    assert held is not None and held["szi"] == "5000.0" and held["liquidationPx"] == "2520.0"
    market = LiquidatingMarket(Tape(venue, record=False), vault=HLP_LIQUIDATOR)
    market.open(DOOMED.address, "ETH", size=Decimal(5000), liq_px=Decimal(2520))
    market.mark("ETH", Decimal(2530))
    assert eth_of(venue, DOOMED.address)["szi"] == "5000.0"  # not crossed yet
    market.mark("ETH", Decimal(2515))
    assert eth_of(venue, DOOMED.address)["szi"] == "4000.0"
    market.mark("ETH", Decimal(2512))  # within the venue's 30 s: no second order yet
    assert eth_of(venue, DOOMED.address)["szi"] == "4000.0"
    market.mark("ETH", Decimal(2490))  # 1 % past the liquidation price: the backstop
    state = venue.clearinghouse_state(DOOMED.address)
    assert state["assetPositions"] == [] and state["marginSummary"]["accountValue"] == "0.0"
    body = {"type": "userFillsByTime", "user": DOOMED.address, "startTime": 0}
    fills = sorted(orjson.loads(as_bytes(venue.answer(body).data)), key=lambda f: f["tid"])
    methods = [f["liquidation"]["method"] for f in fills]
    assert methods == ["market"] * 3 + ["backstop"]
    assert sum(Decimal(f["sz"]) for f in fills) == Decimal("4999.99999")  # 3 orders a slice
    assert [f["startPosition"] for f in fills] == ["5000", "4666.66667", "4333.33334", "4000.00001"]


def test_after_the_cooldown_the_venue_sends_the_whole_rest():
    """Still under water once the 30 s are over: the next market order is for all the rest."""
    venue = ReplayServer()
    stage(venue)
    market = LiquidatingMarket(Tape(venue, record=False), vault=HLP_LIQUIDATOR)
    market.open(DOOMED.address, "ETH", size=Decimal(5000), liq_px=Decimal(2520))
    market.mark("ETH", Decimal(2515))
    assert eth_of(venue, DOOMED.address)["szi"] == "4000.0"
    market.time += 30
    market.mark("ETH", Decimal(2512))
    assert eth_of(venue, DOOMED.address) is None
    body = {"type": "userFillsByTime", "user": DOOMED.address, "startTime": 0}
    fills = sorted(orjson.loads(as_bytes(venue.answer(body).data)), key=lambda f: f["tid"])
    assert [f["liquidation"]["method"] for f in fills] == ["market"] * 6
    assert sum(Decimal(f["sz"]) for f in fills[3:]) == Decimal("3999.99999")
