"""Wire-level pieces of the fake: request weights, venue-style errors, time-indexed series."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
DESERIALIZE = "Failed to deserialize the JSON body into the target type: "

# shared/reference/hyperliquid.md §2.1 (venue page rate-limits-and-user-limits).
WEIGHT_2 = frozenset(
    {
        "l2Book",
        "allMids",
        "clearinghouseState",
        "orderStatus",
        "spotClearinghouseState",
        "exchangeStatus",
    }
)
WEIGHT_60 = frozenset({"userRole"})
PER_20_ITEMS = frozenset({"userFills", "userFillsByTime", "userFunding"})

FILLS_LATEST = 2000  # userFills: newest 2000
FILLS_AVAILABLE = 10_000  # userFillsByTime: only the newest 10,000 exist at all
FILLS_PAGE = 2000  # userFillsByTime page size
TIME_RANGE_PAGE = 500  # userFunding / userNonFundingLedgerUpdates page size


class RecordedRequest(NamedTuple):
    """One request the fake received: `time` is wall-clock epoch seconds, `weight` per §2.1."""

    type: str
    user: str | None
    dex: str | None
    time: float
    weight: int


class VenueError(Exception):
    """An answer the venue gives as a plain-text error (`status` 4xx/5xx, body `text`)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer: pre-serialised bytes or a JSON-able value, and the item count."""

    data: Any
    items: int = 0


def as_bytes(data: Any) -> bytes:
    """An answer's body: pre-serialised bytes as they are, anything else through orjson."""
    return data if isinstance(data, bytes) else orjson.dumps(data)


def request_weight(request_type: str, items: int) -> int:
    """Venue weight of one info request returning `items` records (+1 per 20 on listed types)."""
    base = 2 if request_type in WEIGHT_2 else 60 if request_type in WEIGHT_60 else 20
    return base + items // 20 if request_type in PER_20_ITEMS else base


def address(body: dict[str, Any], field: str = "user") -> str:
    """The lower-cased address in `body[field]`; venue-style 422 when missing or malformed."""
    value = body.get(field)
    if value is None:
        raise VenueError(422, f"{DESERIALIZE}missing field `{field}`")
    if not isinstance(value, str) or not ADDRESS.fullmatch(value):
        raise VenueError(422, f"{DESERIALIZE}{field}: invalid address {value!r}")
    return value.lower()


def start_millis(body: dict[str, Any]) -> int:
    """The required `startTime` (epoch ms); venue-style 422 when missing or not an integer."""
    value = end_millis(body, "startTime")
    if value is None:
        raise VenueError(422, f"{DESERIALIZE}missing field `startTime`")
    return value


def end_millis(body: dict[str, Any], field: str = "endTime") -> int | None:
    """An optional epoch-ms field (`null` or absent = None); 422 when not a non-negative integer."""
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise VenueError(422, f"{DESERIALIZE}{field}: invalid type, expected u64, got {value!r}")
    return value


class Series:
    """Time-stamped records of one user (fills, funding, ledger), kept ascending by time."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        # Recordings come newest-first (fills) or oldest-first (funding, ledger); flipping the
        # newest-first ones before the stable sort keeps same-millisecond records in order.
        if len(items) > 1 and int(items[0]["time"]) > int(items[-1]["time"]):
            items = items[::-1]
        self.items = sorted(items, key=lambda item: int(item["time"]))
        self.times = [int(item["time"]) for item in self.items]
        self._latest: bytes | None = None

    def __len__(self) -> int:
        return len(self.items)

    def latest_fills(self) -> tuple[bytes, int]:
        """`userFills`: the newest 2000, newest first (bytes cached), and how many."""
        count = min(len(self.items), FILLS_LATEST)
        if self._latest is None:
            self._latest = orjson.dumps(self.items[len(self.items) - count :][::-1])
        return self._latest, count

    def fills_by_time(self, start: int, end: int | None) -> list[dict[str, Any]]:
        """`userFillsByTime`: earliest 2000 in [start, end] of the newest 10,000, newest first."""
        floor = max(0, len(self.items) - FILLS_AVAILABLE)
        lo, hi = self._bounds(start, end)
        lo = max(lo, floor)
        return self.items[lo : min(hi, lo + FILLS_PAGE)][::-1] if hi > lo else []

    def time_range(self, start: int, end: int | None) -> list[dict[str, Any]]:
        """Time-range endpoints: earliest 500 of [start, end], earliest first."""
        lo, hi = self._bounds(start, end)
        return self.items[lo : min(hi, lo + TIME_RANGE_PAGE)] if hi > lo else []

    def _bounds(self, start: int, end: int | None) -> tuple[int, int]:
        lo = bisect_left(self.times, start)
        hi = len(self.times) if end is None else bisect_right(self.times, end)
        return lo, hi
