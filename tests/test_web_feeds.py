"""New alerts and liquidation episodes pushed on /api/stream?feeds=1 as `alert` and `liquidation`
events with the keys of `tracker alerts --json` and `tracker liquidations --json`, and shown on
top of the open alerts page without a re-read."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from tests.test_charts import WHALE
from tests.test_web_api import get
from tests.test_web_browser import WAIT_MS, browser, rows
from tests.web_store import HOSTILE, WebStore, build, served
from tracker.alerts.store import insert_alerts
from tracker.records import Alert
from tracker.store import open_store

WAIT_S = 30.0  # a ceiling for the events to arrive, not a measured time


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> WebStore:
    return asyncio.run(build(tmp_path_factory.mktemp("web")))


def store_alert(db: Path, message: str) -> None:
    """A new alert, through the alert engine's own writer."""
    alert = Alert(
        id=f"test:{message}",
        kind="near_liquidation",
        ts=datetime.now(UTC),
        venue="hyperliquid",
        address=WHALE,
        label=None,
        coin="ETH",
        notional_usd=Decimal(1_000_000),
        severity="critical",
        message=message,
    )
    with open_store(db) as opened, opened.transaction():
        assert insert_alerts(opened, [alert]) == [alert]


def extend_episode(db: Path) -> None:
    """The stored episode extended by one more fill, as the liquidation watch re-stores it."""
    with open_store(db) as opened:
        opened.con.execute("UPDATE liquidations SET fills = fills + 1, updated_at = now()")


async def events(url: str, wanted: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The stream's events by name until each name in wanted came at least once."""
    found: dict[str, list[dict[str, Any]]] = {}
    name = ""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        async with asyncio.timeout(WAIT_S):
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    found.setdefault(name, []).append(json.loads(line.removeprefix("data: ")))
                    if wanted <= found.keys():
                        return found
    return found


async def test_new_alerts_and_episodes_are_pushed_with_the_cli_keys(store, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(store.db, db)
    async with served(store, db=db) as site:
        listen = asyncio.create_task(
            events(f"{site.url}api/stream?feeds=1", {"alert", "liquidation"})
        )
        await asyncio.sleep(1.0)  # the stream's first `change`: what is stored already
        store_alert(db, HOSTILE)
        extend_episode(db)
        found = await listen
        _, cli_alerts = await get(f"{site.url}api/alerts")
        _, cli_episodes = await get(f"{site.url}api/liquidations")
    assert [a["message"] for a in found["alert"]] == [HOSTILE]
    assert found["alert"][0] == next(a for a in cli_alerts if a["message"] == HOSTILE)
    assert found["liquidation"] == cli_episodes  # the one stored episode, as now stored
    assert found["change"][0].get("alert_ts") != found["change"][-1]["alert_ts"]


async def test_the_alerts_page_shows_a_new_alert_on_top_without_a_reload(store, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(store.db, db)
    async with served(store, db=db) as site, browser(tmp_path) as (page, seen):
        await page.goto(f"{site.url}alerts")
        _, before = await get(f"{site.url}api/alerts")
        await rows(page, "#alerts", len(before))
        await page.wait_for_selector("#live.ok", timeout=WAIT_MS)
        await page.evaluate("window.notReloaded = true")
        store_alert(db, HOSTILE)
        first = page.locator("#alerts tbody tr").first
        await expect(first.locator("td.message")).to_have_text(HOSTILE, timeout=WAIT_MS)
        assert "new" in (await first.get_attribute("class") or "")
        assert await page.evaluate("window.notReloaded") is True
        await rows(page, "#alerts", len(before) + 1)
    assert not seen.errors and not seen.dialogs and not seen.outside
