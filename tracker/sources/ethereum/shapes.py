"""Ethereum JSON-RPC answers we read as objects, as web3 hands them over (hex decoded).

Most reads are Multicall3 results, decoded by ABI (`calls`); only block headers and log entries
arrive as objects. Their shapes name the keys we read, checked at the edge (`Shape.of`, then each
value's type where it is read); a mismatch is one VenueResponseError naming the request and key.
No `from __future__ import annotations`: see tracker/sources/hyperliquid/shapes.py.
"""

from typing import TypedDict

from tracker.errors import VenueResponseError
from tracker.sources.check import Shape, WireError, kind
from tracker.venues import ETHEREUM


class BlockHeader(TypedDict):  # eth_getBlockByNumber
    timestamp: int  # epoch seconds
    hash: bytes


class LogEntry(TypedDict):  # one eth_getLogs entry
    address: str
    topics: list[bytes]
    data: bytes
    blockNumber: int
    transactionHash: bytes
    logIndex: int


BLOCK_HEADER = Shape[BlockHeader](BlockHeader)
LOG_ENTRY = Shape[LogEntry](LogEntry)


def whole(value: object, key: str) -> int:
    """A required integer (web3 decodes hex quantities)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise WireError(f"{key!r} is {kind(value)}, expected a whole number")


def raw_bytes(value: object, key: str) -> bytes:
    """Required bytes (web3 decodes hex data into HexBytes)."""
    if isinstance(value, bytes):
        return bytes(value)
    raise WireError(f"{key!r} is {kind(value)}, expected bytes")


def text(value: object, key: str) -> str:
    """Required text."""
    if isinstance(value, str):
        return value
    raise WireError(f"{key!r} is {kind(value)}, expected text")


def unexpected(request: str, exc: WireError) -> VenueResponseError:
    """The one error of an answer of the wrong shape."""
    return VenueResponseError(
        f"unexpected {request} answer: {exc}", venue=ETHEREUM, request=request
    )
