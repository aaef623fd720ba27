"""`tracker watch` with both venues: Hyperliquid from the fake, Ethereum from a real anvil."""

from __future__ import annotations

import json

import pytest

from tests.chain.anvil import Anvil
from tests.conftest import run_cli, tracker_env
from tests.fakes import seed

WHALE = "0x00000000000000000000000000000000001011aa"


async def test_bare_local_node_lists_the_eth_holding(hl_fake, tmp_path):
    """Issue 5 acceptance: a plain anvil (chain 31337, no Multicall3, no Aave, no tokens)."""
    with Anvil(chain_id=31337) as node:
        node.set_balance(WHALE, 198_000 * 10**18)
        env = tracker_env(hl_fake.url, tmp_path / "t.duckdb", TRACKER_ETH_RPC_URL=node.url)
        result = await run_cli(
            "watch", WHALE.upper().replace("0X", "0x"), "--once", "--json", env=env
        )
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"venue": "ethereum", "asset": "ETH", "amount": "198000"}.items() <= (
        doc["holdings"][0].items()
    )
    assert doc["errors"] == []
    assert "Traceback" not in result.stderr


@pytest.mark.aave
async def test_both_venues_in_one_document(hl_fake, chain, aave, tmp_path):
    from tests.chain.aave_scenario import open_position  # the harness's supply-and-borrow

    whale, lender = chain.accounts[3], chain.accounts[4]
    open_position(chain, aave, whale, lender, 1_000 * 10**18, 2_000_000 * 10**6)
    env = tracker_env(
        hl_fake.url,
        tmp_path / "t.duckdb",
        TRACKER_ETH_RPC_URL=chain.url,
        TRACKER_AAVE_POOL_ADDRESSES_PROVIDER=aave.pool_addresses_provider,
        TRACKER_ETH_TOKENS=f"WETH:{aave.weth}:18,USDC:{aave.usdc}:6",
    )
    result = await run_cli("watch", whale, "--once", "--json", env=env)
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    venues = {p["venue"] for p in doc["positions"]}
    assert "aave-v3" in venues
    aave_long = [p for p in doc["positions"] if p["venue"] == "aave-v3" and p["side"] == "long"]
    assert aave_long and aave_long[0]["liquidation_px"] is not None
    assert any(a["venue"] == "aave-v3" for a in doc["accounts"])
    sql = await run_cli(
        "query", "select distinct venue from positions order by 1", "--format", "csv", env=env
    )
    assert sql.stdout.splitlines()[1:] == ["aave-v3"]  # the whale has no Hyperliquid positions


async def test_without_an_rpc_the_ethereum_side_is_skipped_with_one_line(hl_fake, tmp_path):
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb")
    result = await run_cli("watch", seed.CROSS_SHORT_SOL, "--once", "--json", env=env)
    assert result.code == 0
    assert result.stderr.strip() == "Ethereum skipped: TRACKER_ETH_RPC_URL is not set"
    assert json.loads(result.stdout)["holdings"] == []
