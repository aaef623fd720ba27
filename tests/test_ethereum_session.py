"""One Ethereum session per command: the chain id, Multicall3, the token contracts and the Aave
configuration are read once however many passes follow, and what the chain lacks is warned
about once. A counting JSON-RPC proxy sits between the tracker (a real process) and anvil."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
from eth_utils.abi import function_signature_to_4byte_selector

from tests.chain import aave_scenario as scenario
from tests.chain.aave import AaveMarket
from tests.chain.anvil import Anvil
from tests.chain.rpc_proxy import RpcProxy, rpc_proxy
from tests.conftest import start_cli, tracker_env
from tests.test_loop_responsive import Output
from tracker.config import DEFAULT_ETH_TOKENS
from tracker.sources.ethereum.rpc import MULTICALL3

USDC = 10**6
DAI = "0x6b175474e89094c44da98b954eedeac495271d0f"  # mainnet DAI: no contract on a test chain
PASSES = 4


def get_code(proxy: RpcProxy, address: str) -> int:
    """eth_getCode requests for address."""
    return sum(
        1 for m, p in proxy.requests if m == "eth_getCode" and p[0].lower() == address.lower()
    )


def method(proxy: RpcProxy, name: str) -> int:
    """Requests of one JSON-RPC method."""
    return sum(1 for m, _ in proxy.requests if m == name)


def eth_calls(proxy: RpcProxy, signature: str) -> int:
    """eth_call requests reading `signature`, alone or inside a Multicall3 aggregate3 (where each
    call's calldata starts on a 32-byte word)."""
    selector = function_signature_to_4byte_selector(signature).hex()
    found = 0
    for name, params in proxy.requests:
        if name != "eth_call":
            continue
        body = str(params[0].get("data") or params[0].get("input")).removeprefix("0x")
        words = (body[i : i + 8] for i in range(8, len(body), 64))
        found += body.startswith(selector) or selector in words
    return found


def once(lines: list[str], text: str) -> int:
    """Log lines holding text."""
    return sum(1 for line in lines if text in line)


async def stop(proc: asyncio.subprocess.Process, output: Output, sig: int) -> None:
    proc.send_signal(sig)
    async with asyncio.timeout(20):
        await proc.wait()
        await output.close()
    assert proc.returncode == 0, "\n".join(output.stderr)[-3000:]


def eth_only(path: Path, *addresses: str) -> Path:
    """A watchlist of Ethereum addresses polled every second."""
    lines = ["interval = 1"]
    for i, a in enumerate(addresses):
        lines += [
            "[[address]]",
            f'address = "{a.lower()}"',
            f'label = "e{i}"',
            'venues = ["ethereum"]',
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.aave
async def test_a_daemon_reads_the_chain_setup_once_over_many_passes(
    hl_fake, chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    _, whale, lender = chain.accounts[:3]
    scenario.open_position(chain, aave, whale, lender, 1_000 * 10**18, 2_000_000 * USDC)
    watchlist = eth_only(tmp_path / "eth.toml", whale)
    async with rpc_proxy(chain.url) as proxy:
        env = tracker_env(
            hl_fake.url,
            tmp_path / "t.duckdb",
            TRACKER_ETH_RPC_URL=proxy.url,
            TRACKER_AAVE_POOL_ADDRESSES_PROVIDER=aave.pool_addresses_provider,
            # WETH's decimals are read on chain; DAI has no contract here
            TRACKER_ETH_TOKENS=f"WETH:{aave.weth},USDC:{aave.usdc}:6,DAI:{DAI}:18",
            TRACKER_ETH_CONFIRMATIONS="0",
        )
        proc = await start_cli("run", "-w", str(watchlist), "--no-live", env=env)
        output = Output(proc)
        try:
            for n in range(1, PASSES + 1):  # a transfer mined before each pass: logs to scan
                await asyncio.to_thread(scenario.mint, chain, aave.usdc, whale, 2_000_000 * USDC)
                await output.wait_for(lambda n=n: len(output.passes) >= n, timeout=30)
        finally:
            await stop(proc, output, signal.SIGTERM)

    summaries = [p["ethereum"] for _, p in output.passes]
    assert len(summaries) >= PASSES and not any(s["errors"] for s in summaries), summaries
    assert sum(s["aave_accounts"] for s in summaries) >= PASSES  # every pass read Aave
    assert sum(s["transfers_read"] for s in summaries) >= PASSES - 1  # and scanned the logs
    assert method(proxy, "eth_getLogs") >= PASSES  # liquidations and transfers, every pass
    assert eth_calls(proxy, "getUserAccountData(address)") >= PASSES
    # What a session learns once: the chain, Multicall3, the tokens, the Aave market.
    assert method(proxy, "eth_chainId") == 1
    assert get_code(proxy, MULTICALL3) == 1
    assert [get_code(proxy, t) for t in (aave.weth, aave.usdc, DAI)] == [1, 1, 1]
    assert eth_calls(proxy, "decimals()") == 1
    for read in ("getPool()", "getPriceOracle()", "getAllReservesTokens()"):
        assert eth_calls(proxy, read) == 1, read
    assert eth_calls(proxy, "getReserveData(address)") == 1  # every reserve in one multicall
    assert once(output.stderr, "no contract on chain 1 for DAI") == 1


def _bare_node_warnings(lines: list[str]) -> list[int]:
    return [
        once(lines, "serves chain id 31337, not mainnet"),
        once(lines, "Multicall3 is not deployed"),
        once(lines, "no contract on chain 31337 for WETH, stETH, wstETH, WBTC, USDC, USDT"),
        once(lines, "Aave v3 market unavailable"),
    ]


def _session_reads(proxy: RpcProxy) -> list[int]:
    """Requests that belong to opening a session on a bare node, one count each."""
    return [
        method(proxy, "eth_chainId"),
        get_code(proxy, MULTICALL3),
        *(get_code(proxy, address) for _, address, _ in DEFAULT_ETH_TOKENS),
        eth_calls(proxy, "getPool()"),  # the Aave provider, which does not answer here
    ]


async def test_on_a_bare_node_each_missing_piece_is_warned_about_once(hl_fake, tmp_path):
    """No Multicall3, no Aave, none of the default tokens, not mainnet: four warnings, once."""
    holder = "0x00000000000000000000000000000000001011aa"
    with Anvil(chain_id=31337) as node:
        node.set_balance(holder, 10**21)
        async with rpc_proxy(node.url) as proxy:
            env = tracker_env(hl_fake.url, tmp_path / "t.duckdb", TRACKER_ETH_RPC_URL=proxy.url)
            watchlist = eth_only(tmp_path / "eth.toml", holder)
            proc = await start_cli("run", "-w", str(watchlist), "--no-live", env=env)
            output = Output(proc)
            try:
                await output.wait_for(lambda: len(output.passes) >= PASSES, timeout=40)
            finally:
                await stop(proc, output, signal.SIGTERM)

    summaries = [p["ethereum"] for _, p in output.passes]
    assert all(s["holdings"] == 1 and not s["errors"] for s in summaries), summaries
    assert method(proxy, "eth_getBalance") >= PASSES
    assert _bare_node_warnings(output.stderr) == [1, 1, 1, 1]
    assert _session_reads(proxy) == [1] * (len(DEFAULT_ETH_TOKENS) + 3)


async def test_watch_keeps_one_ethereum_session_between_its_polls(hl_fake, tmp_path):
    """`tracker watch` polls Ethereum about every block (12 s): two polls, one session."""
    holder = "0x00000000000000000000000000000000001011aa"
    with Anvil(chain_id=31337) as node:
        node.set_balance(holder, 10**21)
        async with rpc_proxy(node.url) as proxy:
            env = tracker_env(hl_fake.url, tmp_path / "t.duckdb", TRACKER_ETH_RPC_URL=proxy.url)
            proc = await start_cli("watch", holder, "--interval", "1", "--json", env=env)
            output = Output(proc)
            started = time.monotonic()
            try:
                # each poll prints a line: the second Ethereum poll is seen at the next one
                await output.wait_for(lambda: method(proxy, "eth_blockNumber") >= 2, timeout=40)
            finally:
                await stop(proc, output, signal.SIGINT)

    assert time.monotonic() - started >= 12  # the second poll came a block later
    assert _bare_node_warnings(output.stderr) == [1, 1, 1, 1]
    assert _session_reads(proxy) == [1] * (len(DEFAULT_ETH_TOKENS) + 3)
