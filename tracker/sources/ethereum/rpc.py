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
    VenueUnavailable            the RPC cannot be reached (after web3's retries)
    VenueResponseError          an RPC error, a revert, or a call that returned nothing
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

import aiohttp
from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_typing import ChecksumAddress
from eth_utils.abi import function_signature_to_4byte_selector
from web3 import AsyncHTTPProvider, AsyncWeb3, Web3
from web3.exceptions import Web3Exception
from web3.types import FilterParams, LogReceipt, RPCEndpoint

from tracker.config import Settings
from tracker.errors import ConfigError, VenueResponseError, VenueUnavailable
from tracker.net.http import GaveUp, Retryable, RetryPolicy, retry_after_s, with_retries
from tracker.records import Holding
from tracker.redact import redact_text, redact_url
from tracker.venues import ETHEREUM

log = logging.getLogger(__name__)
T = TypeVar("T")

VENUE = ETHEREUM
MULTICALL3 = Web3.to_checksum_address("0xcA11bde05977b3631167028862bE2a173976CA11")
MAX_CALLS_PER_BATCH = 200  # keeps one eth_call well under common node gas caps
BATCHES_IN_FLIGHT = 4
ONE = Decimal(1)
PRICE_DECIMALS = 8  # Aave base currency (USD) and Chainlink USD feeds
# Chainlink USD feeds on mainnet for what the Aave oracle does not price (evm.md §3.3).
CHAINLINK_USD_MAINNET: Mapping[str, str] = {
    "ETH": "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419",
    "0xae7ab96520de3a18e5e111b5eaab095312d7fe84": "0xCfE54B5cD566aB89272946F602D76Ea879CAb4a8",
}


class EthereumNotConfigured(ConfigError):
    """TRACKER_ETH_RPC_URL is not set, so the Ethereum side is skipped."""


class ChainMismatch(ConfigError):
    """The RPC serves a different chain than the one configured."""


# -- calls: pure encoding and decoding ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One contract read for Multicall3; `optional` turns a failure into None, not an error."""

    target: ChecksumAddress
    signature: str  # e.g. "balanceOf(address)"; arguments are plain ABI types
    args: tuple[Any, ...] = ()
    returns: tuple[str, ...] = ("uint256",)
    optional: bool = False
    subject: str | None = None  # the watched address this read is about (error context)


def encode_call(call: Call) -> bytes:
    """Calldata: 4-byte selector + ABI-encoded arguments."""
    inner = call.signature[call.signature.index("(") + 1 : -1]
    types = inner.split(",") if inner else []
    return function_signature_to_4byte_selector(call.signature) + encode(types, list(call.args))


def encode_aggregate3(calls: Sequence[Call]) -> bytes:
    """Calldata of Multicall3 aggregate3((address,bool,bytes)[]), every call allowed to fail."""
    items = [(c.target, True, encode_call(c)) for c in calls]
    selector = function_signature_to_4byte_selector("aggregate3((address,bool,bytes)[])")
    return selector + encode(["(address,bool,bytes)[]"], [items])


def decode_aggregate3(data: bytes, expected: int) -> list[tuple[bool, bytes]]:
    """(success, returnData) per call; empty data means no Multicall3 at the address."""
    if not data:
        raise VenueResponseError(
            f"Multicall3 returned no data: is it deployed at {MULTICALL3}?",
            venue=VENUE,
            request="aggregate3",
        )
    try:
        (results,) = decode(["(bool,bytes)[]"], data)
    except DecodingError as exc:
        raise VenueResponseError(f"undecodable aggregate3 answer: {exc}", venue=VENUE) from None
    if len(results) != expected:
        raise VenueResponseError(
            f"aggregate3 answered {len(results)} results for {expected} calls", venue=VENUE
        )
    return [(bool(ok), bytes(ret)) for ok, ret in results]


def decode_result(call: Call, success: bool, data: bytes) -> tuple[Any, ...] | None:
    """Decoded return values; a revert or empty data raises unless the call is optional."""
    problem = None
    if not success:
        problem = "reverted"
    elif not data:
        problem = "returned no data (no contract at that address?)"
    else:
        try:
            return tuple(decode(list(call.returns), data))
        except DecodingError:
            problem = f"returned {len(data)} bytes that do not decode as {call.returns}"
    if call.optional:
        return None
    raise VenueResponseError(
        f"{call.signature} on {call.target} {problem}",
        venue=VENUE,
        request="eth_call",
        address=call.subject,
    )


def decode_all(calls: Sequence[Call], raw: Sequence[tuple[bool, bytes]]) -> list[Any]:
    """Decode every result; single-value returns are unwrapped, optional failures are None."""
    out: list[Any] = []
    for call, (ok, data) in zip(calls, raw, strict=True):
        values = decode_result(call, ok, data)
        out.append(values[0] if values is not None and len(values) == 1 else values)
    return out


def eth_balance_call(address: ChecksumAddress) -> Call:
    """Multicall3 getEthBalance: native balance in wei, in the same block as the rest."""
    return Call(MULTICALL3, "getEthBalance(address)", (address,), subject=address.lower())


def block_timestamp_call() -> Call:
    """Multicall3 getCurrentBlockTimestamp: the block's time in epoch seconds."""
    return Call(MULTICALL3, "getCurrentBlockTimestamp()")


def asset_price_call(oracle: ChecksumAddress, asset: str) -> Call:
    """IPriceOracleGetter.getAssetPrice (AaveOracle): USD with 8 decimals; None if unpriced."""
    return Call(oracle, "getAssetPrice(address)", (checksum(asset),), optional=True)


def chainlink_call(feed: str) -> Call:
    """Chainlink latestRoundData; the answer is USD with 8 decimals on USD feeds."""
    returns = ("uint80", "int256", "uint256", "uint256", "uint80")
    return Call(checksum(feed), "latestRoundData()", (), returns, optional=True)


def price_from_raw(raw: int | None) -> Decimal | None:
    """8-decimal fixed point to USD; zero or negative answers mean no price."""
    return to_units(raw, PRICE_DECIMALS) if raw is not None and raw > 0 else None


def to_units(raw: int, decimals: int) -> Decimal:
    """raw / 10**decimals, exact, without trailing zeros (198000, not 198000.000…)."""
    value = Decimal(raw).scaleb(-decimals).normalize()
    exponent = value.as_tuple().exponent
    return value.quantize(ONE) if isinstance(exponent, int) and exponent > 0 else value


async def gather_all(*pending: Awaitable[T]) -> list[T]:
    """Await every awaitable to the end, then raise the first failure (none is left running)."""
    results = await asyncio.gather(*pending, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return cast(list[T], results)  # no exception among them


def checksum(address: str) -> ChecksumAddress:
    """EIP-55 form for web3 calls."""
    return Web3.to_checksum_address(address)


def epoch_to_datetime(seconds: int) -> datetime:
    """A block timestamp as aware UTC."""
    return datetime.fromtimestamp(seconds, UTC)


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
        try:
            return await with_retries(attempt, self.policy, label=label)
        except (GaveUp, OSError, Web3Exception, ValueError) as exc:
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
        return epoch_to_datetime(int(header["timestamp"]))

    async def block_hash(self, block: int) -> str:
        """A block's hash, 0x-hex (eth_getBlockByNumber)."""
        header = await self._rpc("eth_getBlockByNumber", lambda: self.w3.eth.get_block(block))
        return "0x" + bytes(header["hash"]).hex()

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
                return True, int(header["timestamp"]).to_bytes(32, "big")
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
        return [_raw_log(e) for e in entries]

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


def _raw_log(entry: LogReceipt) -> RawLog:
    return RawLog(
        address=str(entry["address"]).lower(),
        topics=tuple(bytes(t) for t in entry["topics"]),
        data=bytes(entry["data"]),
        block_number=int(entry["blockNumber"]),
        tx_hash="0x" + bytes(entry["transactionHash"]).hex(),
        log_index=int(entry["logIndex"]),
    )


@asynccontextmanager
async def open_ethereum(settings: Settings) -> AsyncIterator[EthereumClient]:
    """Connect to TRACKER_ETH_RPC_URL, check the chain id and Multicall3; close on exit."""
    url = settings.eth_rpc_url
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


# -- holdings ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    """An ERC-20 valued as a holding."""

    symbol: str
    address: ChecksumAddress
    decimals: int


async def resolve_tokens(
    client: EthereumClient, specs: Sequence[tuple[str, str, int | None]], block: int
) -> tuple[Token, ...]:
    """Tokens from TRACKER_ETH_TOKENS, reading decimals() where the setting does not say."""
    unknown = [checksum(addr) for _, addr, decimals in specs if decimals is None]
    calls = [Call(a, "decimals()", (), ("uint8",)) for a in unknown]
    read = dict(zip(unknown, await client.read(calls, block), strict=True)) if calls else {}
    return tuple(
        Token(sym, checksum(addr), dec if dec is not None else int(read[checksum(addr)]))
        for sym, addr, dec in specs
    )


def balance_calls(address: ChecksumAddress, tokens: Sequence[Token]) -> list[Call]:
    """ETH balance, then balanceOf per token, for one address."""
    calls = [eth_balance_call(address)]
    calls += [
        Call(t.address, "balanceOf(address)", (address,), subject=address.lower()) for t in tokens
    ]
    return calls


def price_calls(
    tokens: Sequence[Token], oracle: ChecksumAddress | None, chain_id: int
) -> list[tuple[str, Call]]:
    """(symbol, call) price sources, best first: the Aave oracle per token, then Chainlink (mainnet
    feeds only); "ETH" has Chainlink ETH/USD, and WETH's Aave price when a WETH token is listed."""
    feeds = CHAINLINK_USD_MAINNET if chain_id == 1 else {}
    calls: list[tuple[str, Call]] = []
    for t in tokens:
        if oracle is not None:
            calls.append((t.symbol, asset_price_call(oracle, t.address)))
            if t.symbol == "WETH":  # the price Aave values ETH positions at
                calls.append(("ETH", asset_price_call(oracle, t.address)))
        if t.address.lower() in feeds:
            calls.append((t.symbol, chainlink_call(feeds[t.address.lower()])))
    if "ETH" in feeds:
        calls.append(("ETH", chainlink_call(feeds["ETH"])))
    return calls


def parse_prices(
    symbols: Sequence[str], calls: Sequence[tuple[str, Call]], values: Sequence[Any]
) -> dict[str, Decimal | None]:
    """USD price per symbol (and "ETH") from the first source that answered; None if none did."""
    prices: dict[str, Decimal | None] = dict.fromkeys([*symbols, "ETH"])
    for (symbol, call), value in zip(calls, values, strict=True):
        raw = value[1] if call.signature == "latestRoundData()" and value is not None else value
        if prices[symbol] is None:
            prices[symbol] = price_from_raw(raw)
    return prices


def parse_holdings(
    address: str,
    wei_balances: Sequence[int],
    tokens: Sequence[Token],
    prices: Mapping[str, Decimal | None],
    *,
    ts: datetime,
    chain_id: int,
    block: int,
) -> tuple[Holding, ...]:
    """Holdings of one address: ETH always, tokens when the balance is not zero."""
    eth_wei, *token_raw = wei_balances
    rows: list[tuple[str, str | None, Decimal]] = [("ETH", None, to_units(eth_wei, 18))]
    rows += [
        (t.symbol, t.address.lower(), to_units(raw, t.decimals))
        for t, raw in zip(tokens, token_raw, strict=True)
        if raw
    ]
    holdings = []
    for asset, token_address, amount in rows:
        price = prices.get(asset)
        holdings.append(
            Holding(
                ts=ts,
                venue=VENUE,
                address=address.lower(),
                asset=asset,
                token_address=token_address,
                amount=amount,
                usd_value=amount * price if price is not None else None,
                price_usd=price,
                chain_id=chain_id,
                block_number=block,
            )
        )
    return tuple(holdings)
