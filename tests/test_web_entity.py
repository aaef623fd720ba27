"""The entity view: /api/entities/NAME is `tracker entity show NAME --json` of the same file and
watchlists, the overview filters by entity (an unknown one: 400, one line), and the page, linked
from the overview's entity cells and the account page, shows a hostile entity name as text."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from playwright.async_api import expect

from tests.conftest import run_cli
from tests.test_charts import WHALE
from tests.test_web_api import get
from tests.test_web_browser import WAIT_MS, browser, keep, rows
from tests.web_store import HOSTILE, NAMED, WebStore, build, served

ENTITY = "<img src=x onerror=alert(1)>"  # an entity named by whoever wrote the watchlist


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> WebStore:
    return asyncio.run(build(tmp_path_factory.mktemp("web")))


@pytest.fixture(scope="module")
def lists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whale and the named account under the hostile entity, the whale's label hostile too."""
    folder = tmp_path_factory.mktemp("lists")
    (folder / "desk.toml").write_text(
        f"[[address]]\naddress = \"{WHALE}\"\nlabel = '{HOSTILE}'\nentity = '{ENTITY}'\n"
        f"[[address]]\naddress = \"{NAMED}\"\nlabel = 'second'\nentity = '{ENTITY}'\n"
    )
    return folder


async def test_entity_is_the_cli_entity_json(store, lists):
    env = {**store.env, "TRACKER_DB": str(store.db), "TRACKER_WATCHLISTS_DIR": str(lists)}
    cli = await run_cli("entity", "show", ENTITY.upper(), "--json", env=env)
    assert cli.code == 0, cli.stderr
    async with served(store, watchlists=lists) as site:
        status, doc = await get(f"{site.url}api/entities/{quote(ENTITY.upper(), safe='')}")
        _, listed = await get(f"{site.url}api/entities")
    assert status == 200
    assert doc == json.loads(cli.stdout)
    assert [a["address"] for a in doc["addresses"]] == [WHALE, NAMED]
    assert doc["positions"] and doc["nearest_liquidation"] is not None
    assert listed == [{"entity": ENTITY, "addresses": 2}]


async def test_overview_filters_by_entity_and_refuses_an_unknown_one(store, lists):
    async with served(store, watchlists=lists) as site:
        _, every = await get(f"{site.url}api/accounts")
        _, members = await get(f"{site.url}api/accounts?entity={quote(ENTITY, safe='')}")
        status, error = await get(f"{site.url}api/accounts?entity=nobody")
        missing, gone = await get(f"{site.url}api/entities/nobody")
    assert len(every) == 3 and sorted(r["address"] for r in members) == sorted([WHALE, NAMED])
    assert all(r["entity"] == ENTITY for r in members)
    assert status == 400 and list(error) == ["error"] and "\n" not in error["error"]
    assert error["error"].startswith("no entity 'nobody'")
    assert missing == 404 and list(gone) == ["error"]


async def test_entity_page_shows_the_hostile_name_as_text_and_links_both_ways(
    store, lists, tmp_path
):
    async with (
        served(store, watchlists=lists) as site,
        browser(tmp_path, bypass_csp=True) as (page, seen),
    ):
        _, doc = await get(f"{site.url}api/entities/{quote(ENTITY, safe='')}")
        await page.goto(site.url)
        await rows(page, "#accounts", 3)
        cell = page.locator(f'#accounts tr[data-address="{WHALE}"] td.entity a')
        await expect(cell).to_have_text(ENTITY, timeout=WAIT_MS)
        await cell.click()
        await page.wait_for_url(lambda url: "/entity/" in url, timeout=WAIT_MS)
        await expect(page.locator("#title")).to_have_text(ENTITY)
        assert await page.title() == f"{ENTITY} - tracker"
        await rows(page, "#members", 2)
        await rows(page, "#entity-positions", len(doc["positions"]))
        first = page.locator("#entity-positions tbody tr").first
        assert await first.locator("td.coin").text_content() == doc["positions"][0]["coin"]
        assert await page.locator("#main img, main img").count() == 0
        await keep(page, "entity")
        await page.locator(f'#members tr[data-address="{WHALE}"] a').click()
        await page.wait_for_url(f"**/accounts/{WHALE}", timeout=WAIT_MS)
        link = page.locator("#summary .fact.entity a")
        await expect(link).to_have_text(ENTITY, timeout=WAIT_MS)
        assert unquote(await link.get_attribute("href") or "") == "/entity/" + ENTITY
        await page.goto(f"{site.url}?entity={quote(ENTITY, safe='')}")
        await rows(page, "#accounts", 2)
        await expect(page.locator("#f-entity")).to_have_value(ENTITY)
    assert not seen.dialogs and not seen.errors and not seen.outside
