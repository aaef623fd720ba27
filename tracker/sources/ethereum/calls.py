"""Ethereum calls, pure: ABI encoding of reads, Multicall3 aggregate3 batches, decoding of the
answers, units and prices; and the small helpers every Ethereum reader shares."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_typing import ChecksumAddress
from eth_utils.abi import function_signature_to_4byte_selector
from web3 import Web3

from tracker.errors import VenueResponseError
from tracker.venues import ETHEREUM

T = TypeVar("T")

VENUE = ETHEREUM
MULTICALL3 = Web3.to_checksum_address("0xcA11bde05977b3631167028862bE2a173976CA11")

ONE = Decimal(1)
PRICE_DECIMALS = 8  # Aave base currency (USD) and Chainlink USD feeds


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
