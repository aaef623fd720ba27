"""Faults on the Ethereum side, on a real anvil: a provider failing requests, and reorganisations
inside and below the confirmation buffer. Each time the stored data must end as a fault-free
run over the same chain leaves it: nothing lost, nothing duplicated, nothing orphaned."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from eth_typing import ChecksumAddress

from tests.chain import aave_scenario as scenario
from tests.chain.aave import AaveMarket
from tests.chain.anvil import Anvil
from tests.chain.contracts import send
from tests.chain.rpc_proxy import rpc_proxy
from tests.chain.tracker_settings import tracker_settings
from tests.conftest import run_cli, tracker_env
from tracker.app.log_scans import scan_liquidations, scan_transfers
from tracker.config import Settings

pytestmark = pytest.mark.aave

WETH = 10**18
USDC = 10**6

# What a run leaves behind, without the poll times: equal for equal chains.
STORED = {
    "whale_transfers": "select * from whale_transfers order by all",
    "aave_liquidation_calls": "select * from aave_liquidation_calls order by all",
    "chain_cursors": "select chain_id, stream, last_block, last_block_hash from chain_cursors "
    "order by all",
    "holdings": "select address, asset, block_number, amount, price_usd, usd_value "
    "from holdings where ts = (select max(ts) from holdings) order by all",
    "aave_positions": "select address, coin, side, size, entry_px, mark_px, liquidation_px, "
    "notional_usd from positions where venue = 'aave-v3' "
    "and ts = (select max(ts) from positions where venue = 'aave-v3') order by all",
    "aave_accounts": "select address, account_value_usd, notional_usd, maintenance_margin_usd "
    "from account_snapshots where venue = 'aave-v3' "
    "and ts = (select max(ts) from account_snapshots where venue = 'aave-v3') order by all",
}


def stored(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in STORED.items()}
    finally:
        con.close()


def _mint_transfer(chain: Anvil, token: ChecksumAddress, to: ChecksumAddress, amount: int) -> int:
    """Mint `amount` of a test token to `to` (a Transfer from 0x0); the block it landed in."""
    scenario.mint(chain, token, to, amount)
    return int(chain.w3.eth.block_number)


async def test_a_failing_rpc_provider_leaves_the_store_as_a_clean_run(
    hl_fake, chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    _, whale, lender, liquidator, borrower = chain.accounts[:5]
    scenario.open_position(chain, aave, whale, lender, 1_000 * WETH, 2_000_000 * USDC)
    scenario.open_position(chain, aave, borrower, lender, 100 * WETH, 240_000 * USDC)
    scenario.mint(chain, aave.usdc, whale, 5_000_000 * USDC)  # a $5M transfer in
    scenario.set_price(chain, aave.weth_feed, Decimal(2800))  # the borrower's HF 0.97
    scenario.liquidate(chain, aave, liquidator, borrower)
    chain.mine(3)
    watchlist = tmp_path / "w.toml"
    watchlist.write_text(
        "\n".join(
            f'[[address]]\naddress = "{a}"\nlabel = "{n}"\nvenues = ["ethereum"]\n'
            for n, a in (("whale", whale), ("borrower", borrower))
        )
    )

    async with rpc_proxy(chain.url) as proxy:

        def env(db: Path) -> dict[str, str]:
            return tracker_env(
                hl_fake.url,
                db,
                TRACKER_ETH_RPC_URL=proxy.url,
                TRACKER_ETH_CHAIN_ID=str(chain.chain_id),
                TRACKER_AAVE_POOL_ADDRESSES_PROVIDER=aave.pool_addresses_provider,
                TRACKER_ETH_TOKENS=f"WETH:{aave.weth}:18,USDC:{aave.usdc}:6",
                TRACKER_ETH_CONFIRMATIONS="1",
                TRACKER_ETH_LOG_CHUNK_BLOCKS="50",
                TRACKER_HTTP_RETRIES="3",
                TRACKER_HTTP_TIMEOUT="2",
            )

        clean = await run_cli("snapshot", "-w", str(watchlist), "--json", env=env(tmp_path / "a"))
        assert clean.code == 0, clean.stderr
        assert not proxy.fired

        faulty = tmp_path / "b"
        proxy.fail_every = 3
        runs = [
            await run_cli("snapshot", "-w", str(watchlist), "--json", env=env(faulty))
            for _ in range(2)
        ]
        fired = {fault for fault, _ in proxy.fired}
        proxy.fail_every = 0
        runs.append(await run_cli("snapshot", "-w", str(watchlist), "--json", env=env(faulty)))

    assert fired == {"429", "502", "reset", "rpc-error", "truncated"}
    for run in runs:
        assert run.code in (0, 1) and "Traceback" not in run.stderr, run.stderr
    # The faults not retried (an RPC error, a truncated answer) fail that pass, and say so.
    failed = [r for r in runs if r.code == 1]
    assert failed and all("Ethereum RPC" in r.stderr for r in failed)
    assert runs[-1].code == 0, runs[-1].stderr
    expected = stored(tmp_path / "a")
    assert expected["whale_transfers"] and expected["aave_liquidation_calls"]
    assert expected["holdings"] and expected["aave_positions"]
    assert stored(faulty) == expected


async def _scan_both(settings: Settings, whale: str) -> tuple[int, int, int]:
    """One scan of each stream: (transfers stored, liquidations stored, reorganisations seen)."""
    transfers = await scan_transfers(settings, settings.db_path, [whale])
    liquidations = await scan_liquidations(settings, settings.db_path)
    return transfers.stored, liquidations.stored, transfers.reorgs + liquidations.reorgs


async def test_a_reorganisation_inside_the_confirmation_buffer_never_reaches_the_store(
    chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    whale = chain.accounts[5]
    settings = tracker_settings(chain, aave, tmp_path / "t.duckdb", eth_confirmations=3)
    before = chain.snapshot()
    orphan = _mint_transfer(chain, aave.weth, whale, 1_000 * WETH)
    chain.mine(1)  # the orphan is one block deep: inside the buffer of 3
    assert await _scan_both(settings, whale) == (0, 0, 0)

    chain.revert(before)  # the reorganisation: another block at the orphan's height
    canonical = _mint_transfer(chain, aave.usdc, whale, 2_000_000 * USDC)
    assert canonical == orphan
    chain.mine(4)
    assert await _scan_both(settings, whale) == (1, 0, 0)

    reference = tracker_settings(chain, aave, tmp_path / "ref.duckdb", eth_confirmations=3)
    assert await _scan_both(reference, whale) == (1, 0, 0)
    ours, clean = stored(settings.db_path), stored(reference.db_path)
    assert ours == clean
    assert [r[6] for r in ours["whale_transfers"]] == ["USDC"]  # asset: the WETH one never was


async def test_a_reorganisation_below_the_buffer_is_found_and_repaired(
    chain: Anvil, aave: AaveMarket, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, whale, lender, liquidator = chain.accounts[:4]
    scenario.open_position(chain, aave, whale, lender, 1_000 * WETH, 2_000_000 * USDC)
    settings = tracker_settings(chain, aave, tmp_path / "t.duckdb", eth_confirmations=0)
    assert await _scan_both(settings, whale) == (3, 0, 0)  # its WETH in, supplied; USDC borrowed

    before = chain.snapshot()
    scenario.set_price(chain, aave.weth_feed, Decimal(2400))  # HF 0.996
    scenario.liquidate(chain, aave, liquidator, whale)
    _mint_transfer(chain, aave.weth, whale, 777 * WETH)
    assert await _scan_both(settings, whale) == (1, 1, 0)  # stored: no buffer at all

    chain.revert(before)  # those blocks are gone, and the chain is shorter than the cursors
    caplog.set_level(logging.WARNING, logger="tracker.app.chain_cursors")
    _, _, reorgs = await _scan_both(settings, whale)
    assert reorgs == 2  # both streams rewound and rescanned
    assert sum("was reorganised under block" in r.message for r in caplog.records) == 2
    assert stored(settings.db_path)["aave_liquidation_calls"] == []

    usdc = scenario.erc20(chain, aave.usdc)
    send(chain.w3, usdc.functions.transfer(lender, 1_000_000 * USDC), whale)
    chain.mine(2)
    assert await _scan_both(settings, whale) == (1, 0, 0)

    reference = tracker_settings(chain, aave, tmp_path / "ref.duckdb", eth_confirmations=0)
    assert (await _scan_both(reference, whale))[2] == 0
    ours, clean = stored(settings.db_path), stored(reference.db_path)
    assert ours == clean
    moves = sorted((r[4], r[6], r[8]) for r in ours["whale_transfers"])  # direction, asset, amount
    assert moves == [
        ("in", "USDC", 2_000_000),
        ("in", "WETH", 1_000),  # not the orphan's 777
        ("out", "USDC", 1_000_000),
        ("out", "WETH", 1_000),
    ]
