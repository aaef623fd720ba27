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
from typing import Generic, Protocol, TypeVar

import orjson

from tracker.records import Fill, FundingPayment, LedgerEntry
from tracker.sources.hyperliquid import shapes
from tracker.sources.hyperliquid.client import HyperliquidClient, InfoRequest
from tracker.sources.hyperliquid.wire import (
    VENUE,
    _Bad,
    _num,
    _opt_num,
    _opt_text,
    _opt_whole,
    _seq,
    _text,
    _whole,
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
    fetch: Callable[[int], Awaitable[object]],
    parse: Callable[[object], list[T]],
    key: Callable[[T], tuple[object, ...]],
    *,
    start_ms: int,
    page_size: int,
    progress: Callable[[int], None] | None = None,
) -> Paged[T]:
    """Read pages from start_ms forward until a short page; dedupe on key.

    parse gives one item per entry of the answer, so a page is short when its batch is.
    """
    seen: dict[tuple[object, ...], T] = {}
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
        if len(batch) < page_size:
            break
        newest = max(i.time_ms for i in batch)
        if newest <= cursor:
            log.warning("a full page at one millisecond (%d): cannot page further", cursor)
            break
        cursor = newest
    return Paged(items=sorted(seen.values(), key=lambda i: i.time_ms), pages=pages, gap=gap)


def fill_key(fill: Fill) -> tuple[object, ...]:
    """The natural key of a fill (the store's primary key minus venue/address)."""
    return (fill.coin, fill.time_ms, fill.fill_key, fill.side)


async def fetch_fills_since(
    client: HyperliquidClient,
    address: str,
    start_ms: int,
    progress: Callable[[int], None] | None = None,
) -> Paged[Fill]:
    """Every fill from start_ms (inclusive) on, reading 2000-fill pages forward."""

    async def fetch(cursor: int) -> object:
        body: InfoRequest = {
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

    async def fetch(cursor: int) -> object:
        body: InfoRequest = {"type": "userFunding", "user": address, "startTime": cursor}
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

    async def fetch(cursor: int) -> object:
        body: InfoRequest = {
            "type": "userNonFundingLedgerUpdates",
            "user": address,
            "startTime": cursor,
        }
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


def parse_fills(raw: object, address: str) -> list[Fill]:
    """A userFills/userFillsByTime answer to fills (any order), one per entry."""
    with _wrap("userFillsByTime", address):
        return [_parse_fill(f, address) for f in _seq(raw, "the answer")]


def _parse_fill(raw: object, address: str) -> Fill:
    f = shapes.FILL.of(raw, "a fill")
    side = f["side"]
    if side != "B" and side != "A":
        raise _Bad(f"fill side {side!r:.40}")
    time_ms = _whole(f["time"], "time")
    tid = _opt_whole(f.get("tid"), "tid")
    px, size = _num(f["px"], "px"), _num(f["sz"], "sz")
    key = str(tid) if tid is not None else f"{f.get('hash')}:{f.get('oid')}:{px}:{size}"
    liq = f.get("liquidation")
    liquidation: shapes.FillLiquidation = liq if isinstance(liq, dict) else {}
    coin = _text(f["coin"], "coin")
    crossed = f.get("crossed")
    liquidated = _opt_text(liquidation.get("liquidatedUser"))
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
        start_position=_opt_num(f.get("startPosition"), "startPosition"),
        direction=_opt_text(f.get("dir")),
        closed_pnl_usd=_opt_num(f.get("closedPnl"), "closedPnl"),
        fee=_opt_num(f.get("fee"), "fee"),
        fee_token=_opt_text(f.get("feeToken")),
        builder_fee=_opt_num(f.get("builderFee"), "builderFee"),
        crossed=crossed if isinstance(crossed, bool) else None,
        hash=_opt_text(f.get("hash")),
        oid=_opt_whole(f.get("oid"), "oid"),
        tid=tid,
        twap_id=_opt_whole(f.get("twapId"), "twapId"),
        cloid=_opt_text(f.get("cloid")),
        liquidation_method=_opt_text(liquidation.get("method")),
        liquidated_user=liquidated.lower() if liquidated else None,
        liquidation_mark_px=_opt_num(liquidation.get("markPx"), "liquidation.markPx"),
    )


def parse_funding(raw: object, address: str) -> list[FundingPayment]:
    """A userFunding answer to funding payments, one per entry."""
    with _wrap("userFunding", address):
        out = []
        for entry in _seq(raw, "the answer"):
            e = shapes.FUNDING_UPDATE.of(entry, "an entry")
            d = shapes.FUNDING_DELTA.of(e["delta"], "delta")
            time_ms = _whole(e["time"], "time")
            out.append(
                FundingPayment(
                    venue=VENUE,
                    address=address,
                    ts=ms_to_datetime(time_ms),
                    time_ms=time_ms,
                    coin=_text(d["coin"], "coin"),
                    amount_usd=_num(d["usdc"], "usdc"),
                    position_size=_opt_num(d.get("szi"), "szi"),
                    funding_rate=_opt_num(d.get("fundingRate"), "fundingRate"),
                    samples=_opt_whole(d.get("nSamples"), "nSamples"),
                    hash=_opt_text(e.get("hash")),
                )
            )
        return out


def parse_ledger(raw: object, address: str) -> list[LedgerEntry]:
    """A userNonFundingLedgerUpdates answer to ledger entries (liquidation details kept)."""
    with _wrap("userNonFundingLedgerUpdates", address):
        return [_parse_ledger_entry(entry, address) for entry in _seq(raw, "the answer")]


def _parse_ledger_entry(raw: object, address: str) -> LedgerEntry:
    e = shapes.LEDGER_UPDATE.of(raw, "an entry")
    d = shapes.LEDGER_DELTA.of(e["delta"], "delta")
    kind = d["type"]
    if not isinstance(kind, str) or not kind:
        raise _Bad("ledger delta without a type")
    time_ms = _whole(e["time"], "time")
    try:
        delta_text = orjson.dumps(d, option=orjson.OPT_SORT_KEYS).decode()
    except (
        orjson.JSONEncodeError
    ):  # not from JSON: a hostile dict (orjson decodes big ints as floats)
        raise _Bad("delta cannot be written back as JSON") from None
    liquidation = kind == "liquidation"
    positions = d.get("liquidatedPositions") if liquidation else None
    usdc = d.get("usdc")
    return LedgerEntry(
        venue=VENUE,
        address=address,
        ts=ms_to_datetime(time_ms),
        time_ms=time_ms,
        kind=kind,
        entry_key=f"{e.get('hash')}:{kind}:{_digest(delta_text)}",
        amount_usd=_opt_num(usdc, "usdc") if _is_number(usdc) else None,
        hash=_opt_text(e.get("hash")),
        liquidated_notional_usd=_opt_num(d.get("liquidatedNtlPos"), "liquidatedNtlPos")
        if liquidation
        else None,
        account_value_usd=_opt_num(d.get("accountValue"), "accountValue") if liquidation else None,
        leverage_type=_opt_text(d.get("leverageType")) if liquidation else None,
        liquidated_positions=orjson.dumps(positions).decode() if positions else None,
        delta=delta_text,
    )


def _is_number(value: object) -> bool:
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
