"""Ethereum JSON-RPC: one AsyncWeb3 per command, every read batched through Multicall3.

async I/O lives on `EthereumClient` (eth_call of Multicall3 `aggregate3`, eth_getLogs in chunks);
the pure side encodes calls, decodes their answers and turns them into records (`parse_*`,
`decode_*`; transfers in tracker.sources.ethereum.transfers). Addresses are EIP-55 for web3 calls
and lower-case in records. RPC URLs may hold API keys, so they appear only through `redact_url` and
error texts go through `redact_text`.

Errors, besides the tree in tracker.errors:
    ConfigError
    ├── EthereumNotConfigured   TRACKER_ETH_RPC_URL is unset: the Ethereum side is skipped
    └── ChainMismatch           the RPC serves another chain than TRACKER_ETH_CHAIN_ID
    VenueUnavailable            the RPC cannot be reached (after every retry of net.http's policy)
    VenueResponseError          an RPC error, a revert, or a call that returned nothing
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import aiohttp
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.exceptions import Web3Exception
from web3.types import FilterParams, RPCEndpoint

from tracker.config import Settings
from tracker.errors import ConfigError, VenueResponseError, VenueUnavailable
from tracker.net.http import GaveUp, Retryable, RetryPolicy, retry_after_s, with_retries
from tracker.redact import redact_text, redact_url, revealed
from tracker.sources.check import WireError, kind
from tracker.sources.ethereum import shapes
from tracker.sources.ethereum.calls import (
    MULTICALL3 as MULTICALL3,
)
from tracker.sources.ethereum.calls import (
    ONE as ONE,
)
from tracker.sources.ethereum.calls import (
    PRICE_DECIMALS as PRICE_DECIMALS,
)
from tracker.sources.ethereum.calls import (
    VENUE as VENUE,
)
from tracker.sources.ethereum.calls import (
    Call as Call,
)
from tracker.sources.ethereum.calls import (
    asset_price_call as asset_price_call,
)
from tracker.sources.ethereum.calls import (
    block_timestamp_call as block_timestamp_call,
)
from tracker.sources.ethereum.calls import (
    chainlink_call as chainlink_call,
)
from tracker.sources.ethereum.calls import (
    checksum as checksum,
)
from tracker.sources.ethereum.calls import (
    decode_aggregate3 as decode_aggregate3,
)
from tracker.sources.ethereum.calls import (
    decode_all as decode_all,
)
from tracker.sources.ethereum.calls import (
    decode_result as decode_result,
)
from tracker.sources.ethereum.calls import (
    encode_aggregate3 as encode_aggregate3,
)
from tracker.sources.ethereum.calls import (
    encode_call as encode_call,
)
from tracker.sources.ethereum.calls import (
    epoch_to_datetime as epoch_to_datetime,
)
from tracker.sources.ethereum.calls import (
    eth_balance_call as eth_balance_call,
)
from tracker.sources.ethereum.calls import (
    gather_all as gather_all,
)
from tracker.sources.ethereum.calls import (
    price_from_raw as price_from_raw,
)
from tracker.sources.ethereum.calls import (
    to_units as to_units,
)
from tracker.sources.ethereum.holdings import (
    CHAINLINK_USD_MAINNET as CHAINLINK_USD_MAINNET,
)
from tracker.sources.ethereum.holdings import (
    Token as Token,
)
from tracker.sources.ethereum.holdings import (
    balance_calls as balance_calls,
)
from tracker.sources.ethereum.holdings import (
    parse_holdings as parse_holdings,
)
from tracker.sources.ethereum.holdings import (
    parse_prices as parse_prices,
)
from tracker.sources.ethereum.holdings import (
    price_calls as price_calls,
)
from tracker.sources.ethereum.holdings import (
    resolve_tokens as resolve_tokens,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_CALLS_PER_BATCH = 200  # keeps one eth_call well under common node gas caps
BATCHES_IN_FLIGHT = 4
# Chainlink USD feeds on mainnet for what the Aave oracle does not price (evm.md §3.3).


class EthereumNotConfigured(ConfigError):
    """TRACKER_ETH_RPC_URL is not set, so the Ethereum side is skipped."""


class ChainMismatch(ConfigError):
    """The RPC serves a different chain than the one configured."""


# -- the client -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RawLog:
    """An eth_getLogs entry reduced to plain values (topics and data as bytes)."""

    address: str  # lower-case
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    tx_hash: str  # 0x-prefixed, lower-case
    log_index: int


DEFAULT_POLICY = RetryPolicy()  # frozen, so one shared default is safe


class EthereumClient:
    """One AsyncWeb3 over HTTP, for one command: chain checks, Multicall3 batches, log chunks."""

    def __init__(
        self,
        w3: AsyncWeb3[AsyncHTTPProvider],
        url: str,
        chain_id: int = 0,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.w3 = w3
        self.policy = policy
        self.chain_id = chain_id  # set by check() to what the node serves
        self.has_multicall3 = True
        self.rpc_label = redact_url(url)
        self._secrets = [url]
        self._slots = asyncio.Semaphore(BATCHES_IN_FLIGHT)

    async def _rpc(self, request: str, make: Callable[[], Awaitable[T]]) -> T:
        """Await one RPC read, retried by the one policy (tracker.net.http.with_retries) on
        network failures, 429 and 5xx; failures and RPC errors become VenueErrors."""
        failed: list[BaseException] = []

        async def attempt(_: int) -> T:
            try:
                return await make()
            except (aiohttp.ClientError, TimeoutError) as exc:  # the network or HTTP status
                failed.append(exc)
                headers = getattr(exc, "headers", None) or {}
                wait = retry_after_s(headers.get("Retry-After"))
                raise Retryable(type(exc).__name__, wait) from None

        label = f"Ethereum RPC {self.rpc_label} {request}"
        # TypeError too: web3's answer formatters raise it for a key of the wrong type ("Could not
        # format invalid type None as field 'topics'"), an answer of the wrong shape.
        try:
            return await with_retries(attempt, self.policy, label=label)
        except (GaveUp, OSError, Web3Exception, ValueError, TypeError) as exc:
            cause = failed[-1] if isinstance(exc, GaveUp) and failed else exc
            down = isinstance(cause, aiohttp.ClientError | TimeoutError | OSError)
            text = redact_text(str(cause) or type(cause).__name__, self._secrets)[:300]
            raise (VenueUnavailable if down else VenueResponseError)(
                f"Ethereum RPC {self.rpc_label} {'unreachable' if down else 'error'}: {text}",
                venue=VENUE,
                request=request,
            ) from None

    async def check(self, expected_chain_id: int | None) -> None:
        """Refuse a node of another chain than the one configured; see whether Multicall3 is there.

        Without TRACKER_ETH_CHAIN_ID any chain is accepted (a local node or a fork), with a
        warning when it is not mainnet, whose contract addresses the defaults name. Without
        Multicall3 (a bare local node) reads go one eth_call each: slower, same results.
        """
        served = int(await self._rpc("eth_chainId", lambda: self.w3.eth.chain_id))
        if expected_chain_id is not None and served != expected_chain_id:
            raise ChainMismatch(
                f"Ethereum RPC {self.rpc_label} serves chain id {served}, expected "
                f"{expected_chain_id} (TRACKER_ETH_CHAIN_ID)"
            )
        if expected_chain_id is None and served != 1:
            log.warning(
                "Ethereum RPC %s serves chain id %d, not mainnet: the default token and "
                "Aave addresses may not exist there",
                self.rpc_label,
                served,
            )
        self.chain_id = served
        code = await self._rpc("eth_getCode", lambda: self.w3.eth.get_code(MULTICALL3))
        self.has_multicall3 = bool(code)
        if not code:
            log.warning(
                "Multicall3 is not deployed at %s on chain %d: one eth_call per read",
                MULTICALL3,
                served,
            )

    async def has_code(self, address: str, block: int) -> bool:
        """True when a contract is deployed at address at that block."""
        code = await self._rpc(
            "eth_getCode", lambda: self.w3.eth.get_code(checksum(address), block_identifier=block)
        )
        return bool(code)

    async def head(self) -> int:
        """Latest block number."""
        return int(await self._rpc("eth_blockNumber", lambda: self.w3.eth.block_number))

    async def block_time(self, block: int) -> datetime:
        """A block's timestamp (eth_getBlockByNumber; any node serves it)."""
        header = await self._rpc("eth_getBlockByNumber", lambda: self.w3.eth.get_block(block))
        return epoch_to_datetime(parse_block_timestamp(header))

    async def block_hash(self, block: int) -> str:
        """A block's hash, 0x-hex (eth_getBlockByNumber)."""
        header = await self._rpc("eth_getBlockByNumber", lambda: self.w3.eth.get_block(block))
        return parse_block_hash(header)

    async def multicall(self, calls: Sequence[Call], block: int) -> list[tuple[bool, bytes]]:
        """Run calls through aggregate3 at one block, in batches; (success, data) per call."""
        if not self.has_multicall3:
            return await gather_all(*(self._direct(c, block) for c in calls))
        batches = [
            calls[i : i + MAX_CALLS_PER_BATCH] for i in range(0, len(calls), MAX_CALLS_PER_BATCH)
        ]

        async def run(batch: Sequence[Call]) -> list[tuple[bool, bytes]]:
            async with self._slots:
                data = await self._rpc(
                    "eth_call",
                    lambda: self.w3.eth.call(
                        {"to": MULTICALL3, "data": encode_aggregate3(batch)},
                        block_identifier=block,
                        ccip_read_enabled=False,
                    ),
                )
            return decode_aggregate3(bytes(data), len(batch))

        results = await gather_all(*(run(b) for b in batches))
        return [r for batch in results for r in batch]

    async def _direct(self, call: Call, block: int) -> tuple[bool, bytes]:
        """One read without Multicall3, answered in aggregate3's (success, data) shape."""
        async with self._slots:
            if call.target == MULTICALL3 and call.signature == "getEthBalance(address)":
                wei = await self._rpc(
                    "eth_getBalance",
                    lambda: self.w3.eth.get_balance(call.args[0], block_identifier=block),
                )
                return True, int(wei).to_bytes(32, "big")
            if call.target == MULTICALL3 and call.signature == "getCurrentBlockTimestamp()":
                header = await self._rpc(
                    "eth_getBlockByNumber", lambda: self.w3.eth.get_block(block)
                )
                return True, parse_block_timestamp(header).to_bytes(32, "big")
            try:
                data = await self._rpc(
                    "eth_call",
                    lambda: self.w3.eth.call(
                        {"to": call.target, "data": encode_call(call)},
                        block_identifier=block,
                        ccip_read_enabled=False,
                    ),
                )
            except VenueResponseError:  # a revert: what aggregate3 reports as success=False
                return False, b""
            return True, bytes(data)

    async def read(self, calls: Sequence[Call], block: int) -> list[Any]:
        """multicall + decode_all: values per call, raising on the first required failure."""
        return decode_all(calls, await self.multicall(calls, block))

    async def get_logs(self, params: FilterParams) -> list[RawLog]:
        """One eth_getLogs request (explicit fromBlock/toBlock expected)."""
        entries = await self._rpc("eth_getLogs", lambda: self.w3.eth.get_logs(params))
        return [parse_log(e) for e in entries]

    async def log_chunks(
        self, filters: Sequence[FilterParams], start: int, end: int, chunk: int
    ) -> AsyncIterator[tuple[int, int, str, list[RawLog]]]:
        """(from, to, hash of to, logs of every filter) per block range; a refused range is halved.

        The hash is read before the logs: if the chain is reorganised in between, the stored
        hash is the old one and the next scan sees the change (tracker.app.ethereum_poll rewinds).
        """
        size = max(chunk, 1)
        first = start
        while first <= end:
            last = min(end, first + size - 1)
            last_hash = await self.block_hash(last)
            try:
                found: list[RawLog] = []
                for f in filters:
                    found.extend(await self.get_logs({**f, "fromBlock": first, "toBlock": last}))
            except VenueResponseError:
                if last == first:
                    raise
                size = max((last - first + 1) // 2, 1)
                log.info("eth_getLogs refused %d blocks; retrying with %d", last - first + 1, size)
                continue
            found.sort(key=lambda e: (e.block_number, e.log_index))  # chain order across filters
            yield first, last, last_hash, found
            first = last + 1


def parse_block_timestamp(raw: object) -> int:
    """A block header's timestamp, epoch seconds (VenueResponseError on a bad shape)."""
    try:
        return shapes.whole(shapes.BLOCK_HEADER.of(raw, "the block")["timestamp"], "timestamp")
    except WireError as exc:
        raise shapes.unexpected("eth_getBlockByNumber", exc) from None


def parse_block_hash(raw: object) -> str:
    """A block header's hash, 0x-hex (VenueResponseError on a bad shape)."""
    try:
        header = shapes.BLOCK_HEADER.of(raw, "the block")
        return "0x" + shapes.raw_bytes(header["hash"], "hash").hex()
    except WireError as exc:
        raise shapes.unexpected("eth_getBlockByNumber", exc) from None


def parse_log(raw: object) -> RawLog:
    """An eth_getLogs entry to a RawLog (VenueResponseError on a bad shape)."""
    try:
        entry = shapes.LOG_ENTRY.of(raw, "a log")
        topics = entry["topics"]
        if not isinstance(topics, list | tuple):
            raise WireError(f"'topics' is {kind(topics)}, expected a list")
        return RawLog(
            address=shapes.text(entry["address"], "address").lower(),
            topics=tuple(shapes.raw_bytes(t, "topics") for t in topics),
            data=shapes.raw_bytes(entry["data"], "data"),
            block_number=shapes.whole(entry["blockNumber"], "blockNumber"),
            tx_hash="0x" + shapes.raw_bytes(entry["transactionHash"], "transactionHash").hex(),
            log_index=shapes.whole(entry["logIndex"], "logIndex"),
        )
    except WireError as exc:
        raise shapes.unexpected("eth_getLogs", exc) from None


@asynccontextmanager
async def open_ethereum(settings: Settings) -> AsyncIterator[EthereumClient]:
    """Connect to TRACKER_ETH_RPC_URL, check the chain id and Multicall3; close on exit."""
    url = revealed(settings.eth_rpc_url)
    if not url:
        raise EthereumNotConfigured("Ethereum skipped: TRACKER_ETH_RPC_URL is not set")
    provider = AsyncHTTPProvider(
        url,
        request_kwargs={"timeout": aiohttp.ClientTimeout(total=settings.http_timeout_s)},
        # web3 asks the chain id again before every eth_call (its validation middleware): the
        # provider answers those from the first, so a command reads it once.
        cache_allowed_requests=True,
        cacheable_requests={RPCEndpoint("eth_chainId")},
        request_cache_validation_threshold=None,  # else web3 asks the chain id to choose one
        # Retried by EthereumClient._rpc with the policy every venue read uses, not by web3.
        exception_retry_configuration=None,
    )
    policy = RetryPolicy(retries=settings.http_retries, timeout_s=settings.http_timeout_s)
    client = EthereumClient(AsyncWeb3(provider), url, policy=policy)
    try:
        await client.check(settings.eth_chain_id)
        yield client
    finally:
        await provider.disconnect()
