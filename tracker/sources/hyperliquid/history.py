"""Hyperliquid account history: fills, funding, ledger; paged forward from a time cursor.

`userFillsByTime` answers at most 2000 fills per call and only the newest 10,000 exist; the time
ranged requests answer at most 500. Each page is asked from the newest time seen so far
(inclusive), so the boundary millisecond comes twice and is deduplicated by natural key here and
by the store's primary key. Pages are parsed without relying on their order.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import orjson

from tracker.records import Fill, FundingPayment, LedgerEntry
from tracker.sources.hyperliquid.client import HyperliquidClient
from tracker.sources.hyperliquid.wire import (
    VENUE,
    _Bad,
    _coin,
    _dec,
    _dict,
    _int,
    _list,
    _opt_dec,
    _wrap,
    ms_to_datetime,
)

log = logging.getLogger(__name__)

FILLS_PAGE = 2000
RANGE_PAGE = 500


class _Timed(Protocol):
    @property
    def time_ms(self) -> int: ...


T = TypeVar("T", bound=_Timed)


@dataclass(frozen=True, slots=True)
class Paged(Generic[T]):
    """Items read forward from a cursor, and whether history older than the cursor was lost."""

    items: list[T]
    pages: int
    gap: bool  # the cursor's millisecond is no longer served: some history fell out of reach


async def read_forward(
    fetch: Callable[[int], Awaitable[Any]],
    parse: Callable[[Any], list[T]],
    key: Callable[[T], tuple[Any, ...]],
    *,
    start_ms: int,
    page_size: int,
    progress: Callable[[int], None] | None = None,
) -> Paged[T]:
    """Read pages from start_ms forward until a short page; dedupe on key."""
    seen: dict[tuple[Any, ...], T] = {}
    cursor, pages, gap = start_ms, 0, False
    while True:
        raw = await fetch(cursor)
        batch = parse(raw)
        pages += 1
        if pages == 1 and start_ms > 0 and batch and min(i.time_ms for i in batch) > start_ms:
            gap = True  # what we last stored at start_ms is gone: older history was evicted
        for item in batch:
            seen.setdefault(key(item), item)
        if progress is not None:
            progress(len(seen))
        if len(raw) < page_size:
            break
        newest = max(i.time_ms for i in batch)
        if newest <= cursor:
            log.warning("a full page at one millisecond (%d): cannot page further", cursor)
            break
        cursor = newest
    return Paged(items=sorted(seen.values(), key=lambda i: i.time_ms), pages=pages, gap=gap)


def fill_key(fill: Fill) -> tuple[Any, ...]:
    """The natural key of a fill (the store's primary key minus venue/address)."""
    return (fill.coin, fill.time_ms, fill.fill_key, fill.side)


async def fetch_fills_since(
    client: HyperliquidClient,
    address: str,
    start_ms: int,
    progress: Callable[[int], None] | None = None,
) -> Paged[Fill]:
    """Every fill from start_ms (inclusive) on, reading 2000-fill pages forward."""

    async def fetch(cursor: int) -> Any:
        body = {
            "type": "userFillsByTime",
            "user": address,
            "startTime": cursor,
            "aggregateByTime": False,
        }
        return await client.info(body, address=address)

    return await read_forward(
        fetch,
        lambda raw: parse_fills(raw, address),
        fill_key,
        start_ms=start_ms,
        page_size=FILLS_PAGE,
        progress=progress,
    )


async def fetch_funding_since(
    client: HyperliquidClient, address: str, start_ms: int
) -> Paged[FundingPayment]:
    """Every funding payment from start_ms on (500 per page)."""

    async def fetch(cursor: int) -> Any:
        body = {"type": "userFunding", "user": address, "startTime": cursor}
        return await client.info(body, address=address)

    return await read_forward(
        fetch,
        lambda raw: parse_funding(raw, address),
        lambda f: (f.coin, f.time_ms),
        start_ms=start_ms,
        page_size=RANGE_PAGE,
    )


async def fetch_ledger_since(
    client: HyperliquidClient, address: str, start_ms: int
) -> Paged[LedgerEntry]:
    """Every non-funding ledger update from start_ms on (500 per page)."""

    async def fetch(cursor: int) -> Any:
        body = {"type": "userNonFundingLedgerUpdates", "user": address, "startTime": cursor}
        return await client.info(body, address=address)

    return await read_forward(
        fetch,
        lambda raw: parse_ledger(raw, address),
        lambda e: (e.time_ms, e.entry_key),
        start_ms=start_ms,
        page_size=RANGE_PAGE,
    )


# ---------------------------------------------------------------- parse_* (pure)


def _dex_of(coin: str) -> str:
    return coin.split(":", 1)[0] if ":" in coin else ""


def _opt_int(obj: dict[str, Any], key: str) -> int | None:
    return None if obj.get(key) is None else _int(obj, key)


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def parse_fills(raw: Any, address: str) -> list[Fill]:
    """A userFills/userFillsByTime answer to fills (any order)."""
    with _wrap("userFillsByTime", address):
        return [_parse_fill(_dict(f, "fill"), address) for f in _list(raw, "answer")]


def _parse_fill(f: dict[str, Any], address: str) -> Fill:
    side = f.get("side")
    if side not in ("B", "A"):
        raise _Bad(f"fill side {side!r}")
    time_ms = _int(f, "time")
    tid = _opt_int(f, "tid")
    px, size = _dec(f, "px"), _dec(f, "sz")
    key = str(tid) if tid is not None else f"{f.get('hash')}:{f.get('oid')}:{px}:{size}"
    liq = f.get("liquidation")
    liq = liq if isinstance(liq, dict) else {}
    coin = _coin(f)
    crossed = f.get("crossed")
    liquidated = _opt_str(liq, "liquidatedUser")
    return Fill(
        venue=VENUE,
        address=address,
        ts=ms_to_datetime(time_ms),
        time_ms=time_ms,
        coin=coin,
        dex=_dex_of(coin),
        fill_key=key,
        side="buy" if side == "B" else "sell",
        px=px,
        size=size,
        start_position=_opt_dec(f, "startPosition"),
        direction=_opt_str(f, "dir"),
        closed_pnl_usd=_opt_dec(f, "closedPnl"),
        fee=_opt_dec(f, "fee"),
        fee_token=_opt_str(f, "feeToken"),
        builder_fee=_opt_dec(f, "builderFee"),
        crossed=crossed if isinstance(crossed, bool) else None,
        hash=_opt_str(f, "hash"),
        oid=_opt_int(f, "oid"),
        tid=tid,
        twap_id=_opt_int(f, "twapId"),
        cloid=_opt_str(f, "cloid"),
        liquidation_method=_opt_str(liq, "method"),
        liquidated_user=liquidated.lower() if liquidated else None,
        liquidation_mark_px=_opt_dec(liq, "markPx"),
    )


def parse_funding(raw: Any, address: str) -> list[FundingPayment]:
    """A userFunding answer to funding payments."""
    with _wrap("userFunding", address):
        out = []
        for entry in _list(raw, "answer"):
            e = _dict(entry, "entry")
            d = _dict(e.get("delta"), "delta")
            time_ms = _int(e, "time")
            out.append(
                FundingPayment(
                    venue=VENUE,
                    address=address,
                    ts=ms_to_datetime(time_ms),
                    time_ms=time_ms,
                    coin=_coin(d),
                    amount_usd=_dec(d, "usdc"),
                    position_size=_opt_dec(d, "szi"),
                    funding_rate=_opt_dec(d, "fundingRate"),
                    samples=_opt_int(d, "nSamples"),
                    hash=_opt_str(e, "hash"),
                )
            )
        return out


def parse_ledger(raw: Any, address: str) -> list[LedgerEntry]:
    """A userNonFundingLedgerUpdates answer to ledger entries (liquidation details kept)."""
    with _wrap("userNonFundingLedgerUpdates", address):
        out = []
        for entry in _list(raw, "answer"):
            e = _dict(entry, "entry")
            d = _dict(e.get("delta"), "delta")
            kind = d.get("type")
            if not isinstance(kind, str) or not kind:
                raise _Bad("ledger delta without a type")
            time_ms = _int(e, "time")
            delta_text = orjson.dumps(d, option=orjson.OPT_SORT_KEYS).decode()
            liquidation = kind == "liquidation"
            positions = d.get("liquidatedPositions") if liquidation else None
            out.append(
                LedgerEntry(
                    venue=VENUE,
                    address=address,
                    ts=ms_to_datetime(time_ms),
                    time_ms=time_ms,
                    kind=kind,
                    entry_key=f"{e.get('hash')}:{kind}:{_digest(delta_text)}",
                    amount_usd=_opt_dec(d, "usdc") if _is_number(d.get("usdc")) else None,
                    hash=_opt_str(e, "hash"),
                    liquidated_notional_usd=_opt_dec(d, "liquidatedNtlPos")
                    if liquidation
                    else None,
                    account_value_usd=_opt_dec(d, "accountValue") if liquidation else None,
                    leverage_type=_opt_str(d, "leverageType") if liquidation else None,
                    liquidated_positions=orjson.dumps(positions).decode() if positions else None,
                    delta=delta_text,
                )
            )
        return out


def _is_number(value: Any) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return True
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
