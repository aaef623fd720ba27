"""`tracker serve`'s pages in a real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright; the README's test command installs it): they load with no console error and no request
leaving the machine, hostile labels show as text, the stream redraws a value in place after a new
snapshot, and the one-time link lets a browser in off loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.conftest import run_cli
from tests.fakes.hyperliquid import FakeHyperliquid
from tests.test_charts import WHALE, sql
from tests.test_snapshot import write_watchlist
from tests.web_store import (
    FUNDING_HOURS,
    HOSTILE,
    HOSTILE_KIND,
    HOSTILE_NAME,
    NAMED,
    WebStore,
    build,
    served,
    whale_venue,
)

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [  # the machine's closed network: nothing in the background, no QUIC
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 30_000  # a ceiling for a condition to hold, not a measured time
SHOTS = os.environ.get("WEB_SCREENSHOTS_DIR")  # when set: a screenshot of each page kept there


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> WebStore:
    return asyncio.run(build(tmp_path_factory.mktemp("web")))


@dataclass
class Seen:
    """What the browser reported: console errors, uncaught errors, dialogs, outside requests."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def browser(tmp_path: Path, *, bypass_csp: bool = False) -> AsyncIterator[tuple[Page, Seen]]:
    """A page in a fresh profile; bypass_csp: the page's CSP off, to test the escaping alone."""
    seen = Seen()
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            args=FLAGS,
            headless=True,
            viewport={"width": 1300, "height": 900},
            bypass_csp=bypass_csp,
        )
        try:
            page = chromium.pages[0] if chromium.pages else await chromium.new_page()
            page.on(
                "console",
                lambda m: seen.errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: seen.errors.append(str(e)))

            async def on_dialog(dialog):  # an executed alert(...) lands here
                seen.dialogs.append(dialog.message)
                await dialog.dismiss()

            page.on("dialog", on_dialog)

            def on_request(request):
                if urlsplit(request.url).hostname not in ("127.0.0.1", None):
                    seen.outside.append(request.url)

            page.on("request", on_request)
            yield page, seen
        finally:
            await chromium.close()


async def keep(page: Page, name: str) -> None:
    """A full-page screenshot under $WEB_SCREENSHOTS_DIR, when the run asks for them."""
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


async def rows(page: Page, table: str, count: int) -> None:
    await expect(page.locator(f"{table} tbody tr")).to_have_count(count, timeout=WAIT_MS)


def test_chromium_is_installed():
    # the README's test command installs Debian's chromium: a machine without it fails here
    assert CHROMIUM.exists(), "no /usr/bin/chromium: run the README's test command"


async def test_pages_load_with_the_stored_data_and_no_console_error(store, tmp_path):
    positions = sql(store.db, f"select count(*) from latest_positions where address = '{WHALE}'")
    alerts = sql(store.db, "select count(*) from alerts")[0][0]
    async with served(store) as site, browser(tmp_path) as (page, seen):
        await page.goto(site.url)
        await rows(page, "#accounts", 3)
        await page.wait_for_selector("#live.ok", timeout=WAIT_MS)
        whale = page.locator(f'#accounts tr[data-address="{WHALE}"]')
        assert await whale.locator("td.value").text_content() == "$320.00K"
        assert await whale.locator("td.distance").text_content() == "9.40%"
        assert "warn" in (await whale.locator("td.distance").get_attribute("class") or "")
        await keep(page, "overview")

        await page.goto(f"{site.url}accounts/{WHALE}")
        await rows(page, "#positions", positions[0][0])
        eth = page.locator('#positions tr[data-coin="ETH"]')
        assert await eth.locator("td.mark").text_content() == "2,700.00"
        assert await eth.locator("td.liq").text_content() == "2,446.15"
        # the charts come after the table: their title says the history was drawn
        title = page.locator("#price-title")
        await expect(title).to_have_text("ETH: mark and liquidation price", timeout=WAIT_MS)
        assert await page.locator("#value-chart canvas").count() > 0
        assert await page.locator("#price-chart canvas").count() > 0
        await keep(page, "account")

        await page.goto(f"{site.url}liquidations")
        await rows(page, "#liquidations", 1)
        assert "BTC" in (await page.locator("#liquidations tbody").text_content() or "")
        await rows(page, "#liquidations-daily", 1)  # the day's table, as --daily gives it
        daily = page.locator("#liquidations-daily tbody td")
        assert [await daily.nth(i).text_content() for i in (1, 2, 3)] == ["hyperliquid", "BTC", "1"]
        await keep(page, "liquidations")

        await page.goto(f"{site.url}alerts")
        await rows(page, "#alerts", alerts)
        await keep(page, "alerts")
    assert seen.errors == [] and seen.dialogs == [] and seen.outside == []


async def test_hostile_label_and_display_name_show_as_text(store, tmp_path):
    # the CSP is off here: the escaping alone must keep the markup inert
    async with served(store) as site, browser(tmp_path, bypass_csp=True) as (page, seen):
        await page.goto(site.url)
        await rows(page, "#accounts", 3)
        link = page.locator(f'#accounts tr[data-address="{WHALE}"] td.account a')
        assert await link.text_content() == HOSTILE
        name = page.locator(f'#accounts tr[data-address="{NAMED}"] td.name')
        assert await name.text_content() == HOSTILE_NAME
        assert await page.locator("main img, main script, main b").count() == 0

        await page.goto(f"{site.url}accounts/{WHALE}")
        await rows(page, "#positions", 2)
        assert await page.locator("#title").text_content() == HOSTILE
        await rows(page, "#ledger", 3)  # a venue string is data too
        assert await page.locator("#ledger td.kind").first.text_content() == HOSTILE_KIND
        assert await page.locator("main img, main script, main b, #ledger svg").count() == 0
        await page.goto(f"{site.url}liquidations")
        await rows(page, "#liquidations", 1)
        assert await page.locator("#liquidations tbody a").text_content() == HOSTILE
        await rows(page, "#liquidations-daily", 1)
        assert await page.locator("#liquidations-daily tbody a").text_content() == HOSTILE
        assert await page.locator("main img, main script, main b").count() == 0

        await page.goto(f"{site.url}market/ETH")  # the largest positions name their accounts
        await rows(page, "#largest", 2)
        whale = page.locator(f'#largest tr[data-address="{WHALE}"] a')
        assert await whale.text_content() == HOSTILE
        assert await page.locator("main img, main script, main b").count() == 0
    assert seen.dialogs == [] and seen.errors == []


async def submit_filters(page: Page, query: str, **chosen: str) -> None:
    """Pick the overview's filters (#f-NAME: value), submit, wait for query in the address."""
    for name, value in chosen.items():
        await page.select_option(f"#f-{name}", value)
    await page.click("#filters button[type=submit]")
    await page.wait_for_url(f"**/?*{query}*")


async def test_overview_filters_by_cohort_and_universe(store, tmp_path):
    async with served(store) as site, browser(tmp_path) as (page, seen):
        await page.goto(site.url)
        await rows(page, "#accounts", 3)
        await expect(page.locator("#f-cohort option")).to_have_count(14, timeout=WAIT_MS)
        await submit_filters(page, "cohort=", cohort="$100k to $1M")
        await rows(page, "#accounts", 1)
        assert await page.locator("#accounts tbody tr").get_attribute("data-address") == WHALE
        await expect(page.locator("#f-cohort")).to_have_value("$100k to $1M", timeout=WAIT_MS)

        await submit_filters(page, "scope=universe", cohort="", scope="universe")
        await rows(page, "#accounts", 1)
        assert await page.locator("#accounts tbody tr").get_attribute("data-address") == NAMED
        await expect(page.locator("#f-scope")).to_have_value("universe", timeout=WAIT_MS)

        await page.goto(f"{site.url}?scope=watched&cohort=nope")  # a bad link: said, not shown
        await expect(page.locator("#problem")).to_contain_text("no cohort named", timeout=WAIT_MS)
    assert seen.dialogs == [] and seen.outside == []
    # the only errors: the bad link's refused requests (the first draw, the stream's redraw)
    assert seen.errors and all("status of 400" in e for e in seen.errors), seen.errors


async def markers(page: Page) -> list[dict]:
    """The price chart's markers as lightweight-charts holds them (its plugin's own list)."""
    return await page.evaluate("charts.markers.markers()")


async def test_account_page_marks_events_and_liquidations_and_pages_its_history(store, tmp_path):
    events = sql(
        store.db,
        f"select coin, kind from position_events where address = '{WHALE}' order by ts",
    )
    async with served(store) as site, browser(tmp_path) as (page, seen):
        await page.goto(f"{site.url}accounts/{WHALE}")
        chart = page.locator("#price-chart")
        await expect(chart).to_have_attribute("data-markers", "2", timeout=WAIT_MS)
        eth = await markers(page)
        assert [m["text"] for m in eth] == [k for c, k in events if c == "ETH"]
        assert [m["shape"] for m in eth] == ["arrowUp", "arrowUp"]
        await page.select_option("#price-coin", "BTC")  # closed, but it was liquidated
        await expect(chart).to_have_attribute("data-markers", "3", timeout=WAIT_MS)
        btc = await markers(page)
        episodes = [m for m in btc if m["shape"] == "circle"]
        assert len(episodes) == 1 and episodes[0]["text"].startswith("liquidated $")
        # the whale's BTC was closed by the liquidation's own fills: those events say so
        assert sorted(m["text"] for m in btc if m["shape"] != "circle") == sorted(
            f"{k} (liq.)" for c, k in events if c == "BTC"
        )
        assert [m["time"] for m in btc] == sorted(m["time"] for m in btc)
        await expect(page.locator("#price-title")).to_have_text("BTC: mark and liquidation price")

        await rows(page, "#fills", 4)
        await rows(page, "#ledger", 3)
        await rows(page, "#funding", 25)
        older = page.locator('.pager[data-table="funding"] .older')
        newer = page.locator('.pager[data-table="funding"] .newer')
        assert await newer.is_disabled() and await older.is_enabled()
        first = await page.locator("#funding tbody tr").first.text_content()
        await older.click()
        await rows(page, "#funding", FUNDING_HOURS - 25)
        assert await older.is_disabled() and await newer.is_enabled()
        await newer.click()
        await rows(page, "#funding", 25)
        assert await page.locator("#funding tbody tr").first.text_content() == first
        assert await page.locator('.pager[data-table="fills"] .older').is_disabled()
        await keep(page, "account-history")
    assert seen.errors == [] and seen.dialogs == [] and seen.outside == []


async def test_market_page_from_the_overview_coin_cell(store, tmp_path):
    async with served(store) as site, browser(tmp_path) as (page, seen):
        await page.goto(site.url)
        await rows(page, "#accounts", 3)
        await page.locator(f'#accounts tr[data-address="{WHALE}"] td.coin a').click()
        await page.wait_for_url(f"{site.url}market/ETH")  # its nearest liquidation is ETH's
        await expect(page.locator("#title")).to_have_text("ETH market", timeout=WAIT_MS)
        await expect(page.locator("#market-summary .mark .v")).to_have_text(
            "2,700.00", timeout=WAIT_MS
        )
        held = sql(store.db, "select count(*) from latest_positions where coin = 'ETH'")[0][0]
        await rows(page, "#largest", held)
        whale = page.locator(f'#largest tr[data-address="{WHALE}"]')
        assert await whale.locator("td.liq").text_content() == "2,446.15"
        # the map: 40 buckets and the mark's line; the whale's long, the largest, below the mark
        await rows(page, "#liqmap", 41)
        assert await page.locator("#liqmap tr.mark-row").text_content() == "mark 2,700.00"
        filled = await page.locator("#liqmap tbody tr").evaluate_all(
            """rows => rows.filter(r => r.querySelector("td.long")?.textContent)
                .map(r => [r.cells[0].textContent, r.cells[1].textContent,
                           r.querySelector(".bar.long").style.width])"""
        )
        assert len(filled) == 1 and filled[0][1:] == ["$2.43M", "100%"]
        low, high = (Decimal(p.replace(",", "")) for p in filled[0][0].split(" – "))
        assert low <= Decimal("2446.15") <= high < Decimal(2700)
        await rows(page, "#cohorts", 13)
        await keep(page, "market")
    assert seen.errors == [] and seen.dialogs == [] and seen.outside == []


async def test_a_new_snapshot_redraws_the_open_page_in_place(store, tmp_path):
    db = tmp_path / "live.duckdb"
    shutil.copy(store.db, db)
    solo = write_watchlist(tmp_path / "solo.toml", WHALE)
    async with browser(tmp_path) as (page, seen):
        async with served(store, db=db) as site:
            await page.goto(f"{site.url}accounts/{WHALE}")
            await rows(page, "#positions", 2)
            eth_mark = page.locator('#positions tr[data-coin="ETH"] td.mark')
            assert await eth_mark.text_content() == "2,700.00"
            await page.evaluate("window.sameDocument = 42")
            async with FakeHyperliquid.seeded() as fake:
                whale_venue(fake, "2600")
                env = {**store.env, "TRACKER_HL_API_URL": fake.url, "TRACKER_DB": str(db)}
                result = await run_cli("snapshot", "-w", str(solo), env=env)
                assert result.code == 0, result.stderr
            await expect(eth_mark).to_have_text("2,600.00", timeout=WAIT_MS)
            assert await page.evaluate("window.sameDocument") == 42  # no reload
            assert await page.locator("#live.ok").count() == 1
            assert seen.errors == []
        # the server is gone: the page says so instead of showing old numbers as live
        await page.wait_for_selector("#live.down", timeout=WAIT_MS)
        assert "reconnecting" in (await page.locator("#live").text_content() or "")
    # after the stop, only the stream's failed reconnections
    assert all(e.startswith("Failed to load resource: net::ERR_") for e in seen.errors)


async def test_off_loopback_a_browser_needs_the_one_time_link(store, tmp_path):
    token = "a-browser-test-token-0123456789"
    async with served(store, host="0.0.0.0", token=token) as site, browser(tmp_path) as (page, _):
        port = urlsplit(site.url).port
        refused = await page.goto(f"http://127.0.0.1:{port}/")
        assert refused is not None and refused.status == 401
        assert site.login_url is not None
        await page.goto(site.login_url.replace("0.0.0.0", "127.0.0.1"))
        await rows(page, "#accounts", 3)  # the cookie opens the API and the stream as well
        await page.wait_for_selector("#live.ok", timeout=WAIT_MS)
        assert token not in await page.content()
