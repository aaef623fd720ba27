"""Ethereum holdings on a real anvil: exact balances, USD via the Aave oracle, clear failures."""

import socket
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.chain import aave_scenario as scenario
from tests.chain.aave import AaveMarket
from tests.chain.anvil import Anvil
from tests.chain.multicall3 import MULTICALL3_ADDRESS
from tests.chain.tracker_settings import tracker_settings
from tracker.app.ethereum_poll import ethereum_session, poll_ethereum, write_ethereum
from tracker.errors import VenueUnavailable
from tracker.jsonable import jsonable
from tracker.redact import Secret
from tracker.sources.ethereum.rpc import ChainMismatch, EthereumNotConfigured
from tracker.store import open_store

pytestmark = pytest.mark.aave

TS = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
WETH = 10**18
USDC = 10**6


async def test_198000_eth_is_a_holding_of_exactly_198000(
    chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    whale = chain.accounts[3]
    chain.set_balance(whale, 198_000 * WETH)
    settings = tracker_settings(chain, aave, tmp_path / "t.duckdb")

    result = await poll_ethereum(settings, [whale], TS)

    [report] = result.reports
    assert report.errors == ()
    assert report.address == whale.lower()
    [eth] = report.holdings  # no token balances: ETH only
    assert (eth.venue, eth.asset, eth.token_address) == ("ethereum", "ETH", None)
    assert eth.amount == Decimal(198_000)
    assert eth.price_usd == Decimal(3000)  # the Aave oracle's WETH price
    assert eth.usd_value == Decimal(594_000_000)
    assert (eth.chain_id, eth.block_number) == (1, chain.w3.eth.block_number)
    shape = {k: jsonable(getattr(eth, k)) for k in ("venue", "asset", "amount", "usd_value")}
    assert shape == {
        "venue": "ethereum",
        "asset": "ETH",
        "amount": "198000",
        "usd_value": "594000000",
    }

    with open_store(settings.db_path) as store:
        write_ethereum(store, result)
        write_ethereum(store, result)  # idempotent
        rows = store.con.execute(
            "SELECT address, asset, amount, usd_value FROM holdings"
        ).fetchall()
    assert rows == [(whale.lower(), "ETH", Decimal(198_000), Decimal(594_000_000))]


async def test_erc20_balances_after_minting(chain: Anvil, aave: AaveMarket, tmp_path: Path) -> None:
    holder, other = chain.accounts[4], chain.accounts[5]
    scenario.mint(chain, aave.usdc, holder, 1_234_500_000)  # 1,234.5 USDC
    scenario.mint(chain, aave.weth, holder, 10 * WETH + 1)  # 10 WETH and one wei
    settings = tracker_settings(chain, aave, tmp_path / "t.duckdb")

    async with ethereum_session(settings) as session:
        result = await poll_ethereum(settings, [holder, other.lower()], TS, session=session)
        again = await poll_ethereum(settings, [holder], TS, session=session)

    mine, theirs = result.reports
    by_asset = {h.asset: h for h in mine.holdings}
    assert set(by_asset) == {"ETH", "WETH", "USDC"}
    assert by_asset["USDC"].amount == Decimal("1234.5")
    assert by_asset["USDC"].usd_value == Decimal("1234.5")
    assert by_asset["USDC"].token_address == aave.usdc.lower()
    assert by_asset["WETH"].amount == Decimal("10.000000000000000001")  # decimals() read on chain
    assert by_asset["WETH"].usd_value == Decimal("30000.000000000000003")
    assert [h.asset for h in theirs.holdings] == ["ETH"]  # zero token balances are left out
    assert {h.asset: h.amount for h in again.reports[0].holdings} == {
        k: v.amount for k, v in by_asset.items()
    }


async def test_without_rpc_url_the_ethereum_side_is_skipped(tmp_path: Path) -> None:
    from tracker.config import Settings

    settings = Settings(db_path=tmp_path / "t.duckdb")
    with pytest.raises(EthereumNotConfigured, match="TRACKER_ETH_RPC_URL is not set"):
        await poll_ethereum(settings, ["0x" + "ab" * 20], TS)


async def test_chain_id_mismatch_is_a_clear_error(
    chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    settings = tracker_settings(chain, aave, tmp_path / "t.duckdb", eth_chain_id=5)
    with pytest.raises(
        ChainMismatch, match=r"serves chain id 1, expected 5 .*TRACKER_ETH_CHAIN_ID"
    ):
        await poll_ethereum(settings, [chain.accounts[1]], TS)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_rpc_down_raises_venue_unavailable_with_redacted_url(tmp_path: Path) -> None:
    from tracker.config import Settings

    key = "k3y0123456789abcdefSECRET"
    url = f"http://127.0.0.1:{_closed_port()}/v2/{key}"
    settings = Settings(db_path=tmp_path / "t.duckdb", eth_rpc_url=Secret(url), http_retries=1)

    with pytest.raises(VenueUnavailable) as caught:
        await poll_ethereum(settings, ["0x" + "ab" * 20], TS)

    message = str(caught.value)
    assert key not in message
    assert "/v2/***" in message and "unreachable" in message
    assert caught.value.venue == "ethereum"


async def test_without_multicall3_reads_go_one_by_one_with_the_same_results(
    chain: Anvil, aave: AaveMarket, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    whale = chain.accounts[2]
    chain.set_balance(whale, 198_000 * WETH)
    settings = tracker_settings(chain, aave, tmp_path / "t.duckdb")
    batched = await poll_ethereum(settings, [whale], TS)
    chain.set_code(MULTICALL3_ADDRESS, b"")  # a bare local node; the fixture reverts this
    direct = await poll_ethereum(settings, [whale], TS)
    assert "Multicall3 is not deployed at 0xcA11" in caplog.text
    assert [(h.asset, h.amount) for h in direct.holdings] == [
        (h.asset, h.amount) for h in batched.holdings
    ]
    assert ("ETH", Decimal(198_000)) in [(h.asset, h.amount) for h in direct.holdings]
    assert direct.failed == ()


async def test_a_token_without_a_contract_is_left_out_not_failing_the_address(
    chain: Anvil, aave: AaveMarket, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An address without code answers eth_call with empty data: it must not read as a 0 balance,
    # nor fail the address's other holdings; it is left out once, with one warning.
    nowhere = "0x" + "12" * 20
    tokens = (("GHOST", nowhere, 18), ("WETH", aave.weth.lower(), 18))
    settings = tracker_settings(chain, aave, tmp_path / "t.duckdb", eth_tokens=tokens)
    result = await poll_ethereum(settings, [chain.accounts[1]], TS)
    [report] = result.reports
    assets = [h.asset for h in report.holdings]
    assert "ETH" in assets and "GHOST" not in assets
    assert report.errors == ()
    assert "for GHOST: not valued" in caplog.text


async def test_unresolvable_aave_market_keeps_holdings_without_failing_the_address(
    chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    nowhere = "0x" + "99" * 20
    settings = tracker_settings(
        chain, aave, tmp_path / "t.duckdb", aave_pool_addresses_provider=nowhere
    )
    whale = chain.accounts[2]
    chain.set_balance(whale, 5 * WETH)
    result = await poll_ethereum(settings, [whale], TS)
    [report] = result.reports
    [eth] = report.holdings
    assert eth.amount == 5 and eth.price_usd is None and eth.usd_value is None  # nothing prices it
    # No market on this chain is a fact about the chain, not a failure of this address.
    assert report.errors == ()
    assert report.accounts == ()
