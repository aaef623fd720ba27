"""The Ethereum side of the account page: an Aave v3 account and holdings written by the tracker's
own Ethereum writer, served by the API under the keys of `tracker watch --json` and drawn on the
page (collateral, debt, health factor, liquidation price per leg)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.test_web_api import get, same
from tests.test_web_browser import WAIT_MS, browser, keep, rows
from tests.web_store import WebStore, served
from tracker.app.ethereum_poll import EthereumResult, insert_ethereum
from tracker.output.terminal import watch_json
from tracker.records import (
    AaveAccount,
    AaveReserveBalance,
    AccountReport,
    EthereumReport,
    Holding,
)
from tracker.risk.aave import assess_aave_account
from tracker.store import open_store

BORROWER = "0x" + "ab" * 20
TS = datetime(2026, 1, 31, 12, tzinfo=UTC)


def _reserve(symbol: str, supplied: str, borrowed: str, price: str, lt: str) -> AaveReserveBalance:
    return AaveReserveBalance(
        asset="0x" + symbol.encode().hex().ljust(40, "0")[:40],
        symbol=symbol,
        supplied=Decimal(supplied),
        borrowed=Decimal(borrowed),
        collateral_enabled=Decimal(supplied) > 0,
        price_usd=Decimal(price),
        liquidation_threshold=Decimal(lt),
        ltv=Decimal(lt) - Decimal("0.03"),
        in_emode=False,
        stable=symbol == "USDC",
    )


def _report() -> EthereumReport:
    """1,000 WETH at $3,000 against 2,000,000 USDC: health factor 3,000,000 × 0.83 / 2,000,000."""
    account = AaveAccount(
        venue="aave-v3",
        chain_id=1,
        pool="0x" + "87" * 20,
        address=BORROWER,
        block_number=100,
        block_ts=TS,
        emode_category=0,
        total_collateral_usd=Decimal(3_000_000),
        total_debt_usd=Decimal(2_000_000),
        available_borrows_usd=Decimal(400_000),
        liquidation_threshold=Decimal("0.83"),
        ltv=Decimal("0.80"),
        health_factor=Decimal("1.245"),
        reserves=(
            _reserve("WETH", "1000", "0", "3000", "0.83"),
            _reserve("USDC", "0", "2000000", "1", "0.78"),
        ),
    )
    holding = Holding(
        ts=TS,
        venue="ethereum",
        address=BORROWER,
        asset="ETH",
        token_address=None,
        amount=Decimal("12.5"),
        usd_value=Decimal(37_500),
        price_usd=Decimal(3000),
        chain_id=1,
        block_number=100,
    )
    return EthereumReport(
        address=BORROWER,
        ts=TS,
        holdings=(holding,),
        accounts=(assess_aave_account(account, TS),),
        aave=(account,),
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> WebStore:
    folder = tmp_path_factory.mktemp("aave")
    db = folder / "tracker.duckdb"
    report = _report()
    result = EthereumResult(
        ts=TS,
        chain_id=1,
        block_number=100,
        block_ts=TS,
        reports=(report,),
        transfer_min_usd=Decimal(1_000_000),
    )
    with open_store(db) as opened, opened.transaction():
        insert_ethereum(opened, result)
    doc = watch_json(AccountReport(address=BORROWER, ts=TS, accounts=(), spot=()), report)
    return WebStore(db, {}, folder, doc)


async def test_the_aave_account_is_the_watch_json_of_the_stored_state(store):
    async with served(store) as site:
        status, doc = await get(f"{site.url}api/accounts/{BORROWER}")
    assert status == 200
    cli = store.watch_doc
    assert doc.keys() == cli.keys()
    assert [a["venue"] for a in doc["accounts"]] == ["aave-v3"]
    assert [(p["coin"], p["side"]) for p in doc["positions"]] == [
        ("WETH", "long"),
        ("USDC", "short"),
    ]
    assert same(doc["accounts"], cli["accounts"]) and same(doc["positions"], cli["positions"])
    assert same(doc["holdings"], cli["holdings"])
    assert doc["positions"][0]["liquidation_px"] is not None


async def test_the_account_page_shows_collateral_debt_and_health_factor(store, tmp_path: Path):
    async with served(store) as site, browser(tmp_path) as (page, seen):
        await page.goto(f"{site.url}accounts/{BORROWER}")
        await rows(page, "#aave-legs", 2)
        fact = page.locator("#aave-summary .fact")
        assert await fact.filter(has_text="collateral").locator(".v").text_content() == "$3.00M"
        assert await fact.filter(has_text="debt").locator(".v").text_content() == "$2.00M"
        # Σ collateral × threshold / debt = 3,000,000 × 0.83 / 2,000,000
        health = fact.filter(has_text="health factor").locator(".v")
        assert await health.text_content() == "1.245"
        weth = page.locator('#aave-legs tr[data-coin="WETH"]')
        liq = Decimal(store.watch_doc["positions"][0]["liquidation_px"])
        assert await weth.locator("td.liq").text_content() == f"{liq:,.2f}"
        await rows(page, "#holdings", 1)
        assert await page.locator("#holdings td.value").text_content() == "$37.50K"
        await page.wait_for_selector("#live", timeout=WAIT_MS)
        await keep(page, "account-aave")
    assert not seen.errors and not seen.dialogs and not seen.outside
