"""Whale transfers on a real anvil: ERC-20 Transfer logs of watched addresses and ETH balance
changes between polls, valued in USD, stored once, behind the confirmation buffer."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from eth_typing import ChecksumAddress

from tests.chain import aave_scenario as scenario
from tests.chain.aave import AaveMarket
from tests.chain.anvil import Anvil
from tests.chain.contracts import send
from tests.chain.tracker_settings import tracker_settings
from tracker.app.ethereum_poll import ethereum_session, poll_ethereum, write_ethereum
from tracker.app.log_scans import scan_transfers
from tracker.store import open_store

pytestmark = pytest.mark.aave

TS = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
WETH = 10**18
USDC = 10**6


def _transfer(
    chain: Anvil, token: ChecksumAddress, sender: ChecksumAddress, to: str, amount: int
) -> int:
    call = scenario.erc20(chain, token).functions.transfer(to, amount)
    return int(send(chain.w3, call, sender)["blockNumber"])


async def test_large_erc20_transfers_of_watched_addresses_are_stored_once(
    chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    whale, friend, stranger = chain.accounts[4], chain.accounts[5], chain.accounts[6]
    scenario.mint(chain, aave.usdc, whale, 2_000_000 * USDC)  # in: $2M, from 0x0
    scenario.mint(chain, aave.weth, whale, 1_000 * WETH)  # in: $3M
    weth_out = _transfer(chain, aave.weth, whale, stranger, 400 * WETH)  # out: $1.2M
    _transfer(chain, aave.usdc, whale, friend, 500 * USDC)  # $500: under the minimum
    _transfer(chain, aave.weth, stranger, friend, 400 * WETH)  # neither side watched
    settings = tracker_settings(
        chain, aave, tmp_path / "t.duckdb", eth_confirmations=2, eth_log_chunk_blocks=5
    )
    chain.mine(2)

    scan = await scan_transfers(settings, settings.db_path, [whale.lower()])
    again = await scan_transfers(settings, settings.db_path, [whale])
    with open_store(settings.db_path) as store:
        rows = store.con.execute(
            "SELECT address, kind, direction, counterparty, asset, amount, usd_value, "
            "block_number FROM whale_transfers ORDER BY block_number, direction"
        ).fetchall()

    assert scan.stored == 3 and again.stored == 0 and again.from_block is None
    zero = "0x" + "00" * 20
    w = whale.lower()
    assert [r[:7] for r in rows] == [
        (w, "erc20_transfer", "in", zero, "USDC", Decimal(2_000_000), Decimal(2_000_000)),
        (w, "erc20_transfer", "in", zero, "WETH", Decimal(1_000), Decimal(3_000_000)),
        (w, "erc20_transfer", "out", stranger.lower(), "WETH", Decimal(400), Decimal(1_200_000)),
    ]
    assert rows[2][7] == weth_out

    # A newly watched address gets its own cursor and starts at the lookback.
    both = await scan_transfers(settings, settings.db_path, [whale, stranger])
    with open_store(settings.db_path) as store:
        cursors = store.con.execute(
            "SELECT stream, last_block FROM chain_cursors ORDER BY stream"
        ).fetchall()
    assert [(t.address, t.direction, t.amount) for t in both.transfers] == [
        (stranger.lower(), "in", Decimal(400)),
        (stranger.lower(), "out", Decimal(400)),
    ]
    assert {block for _, block in cursors} == {chain.w3.eth.block_number - 2}


async def test_eth_balance_change_between_polls_is_a_whale_transfer(
    chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    whale = chain.accounts[7]
    chain.set_balance(whale, 1_000 * WETH)
    settings = tracker_settings(chain, aave, tmp_path / "t.duckdb")

    async with ethereum_session(settings) as session:
        first = await poll_ethereum(settings, [whale], TS, session=session)
        chain.set_balance(whale, 1_600 * WETH)  # +600 ETH = $1.8M
        chain.mine(1)
        second = await poll_ethereum(settings, [whale], TS + timedelta(seconds=5), session=session)
        chain.set_balance(whale, 1_500 * WETH)  # -100 ETH = $300k: under the minimum
        chain.mine(1)
        third = await poll_ethereum(settings, [whale], TS + timedelta(seconds=10), session=session)

    with open_store(settings.db_path) as store:
        assert write_ethereum(store, first) == ()  # nothing to compare with yet
        [move] = write_ethereum(store, second)
        assert write_ethereum(store, third) == ()
        assert write_ethereum(store, second) == (move,)  # same rows again: stored once
        rows = store.con.execute(
            "SELECT kind, direction, amount, usd_value, transfer_key, counterparty "
            "FROM whale_transfers"
        ).fetchall()

    assert (move.direction, move.amount, move.usd_value) == ("in", Decimal(600), Decimal(1_800_000))
    key = f"eth:{first.block_number}-{second.block_number}"
    assert rows == [("eth_balance_change", "in", Decimal(600), Decimal(1_800_000), key, None)]
