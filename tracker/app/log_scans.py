"""Ethereum log scans: Aave v3 LiquidationCall logs market-wide, ERC-20 Transfer logs of watched
addresses, each stream behind its block cursor.

A scan reads from the stream's cursor + 1 up to head − TRACKER_ETH_CONFIRMATIONS, never past it,
in chunks, from the RPC only (`read_liquidations`, `read_transfers` return a `LogScan`); then
`store_scans` writes the rows and the cursors that cover them in one transaction, so the cursor
never passes what is stored and no store is open while the RPC answers. Rows are keyed
naturally, so a rescan inserts nothing. A stream without a cursor starts
TRACKER_ETH_LOOKBACK_BLOCKS behind the safe head. When the RPC fails part way, what was read
before the failure is still stored (the next scan resumes after it) and the failure is
reported. Reorganisations: tracker.cursors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress
from web3.types import FilterParams

from tracker import resources
from tracker.addresses import normalise_address
from tracker.app.chain_cursors import (
    ChainCursor,
    CursorCheck,
    advance,
    read_cursor,
    resume_from,
    rewind,
)
from tracker.app.ethereum_poll import LIQUIDATION_COLUMNS, TRANSFER_COLUMNS, EthereumSession, using
from tracker.config import Settings
from tracker.errors import VenueError
from tracker.records import AaveLiquidationCall, WhaleTransfer
from tracker.sources.ethereum import aave, transfers
from tracker.sources.ethereum import rpc as eth
from tracker.store import Store, open_store
from tracker.store.writes import insert_batch


@dataclass(frozen=True, slots=True)
class Rewind:
    """A reorganisation under a stream's cursor: drop its rows after to_block, cursor back."""

    stream: str
    to_block: int
    forget: str  # writes/<name>.sql deleting the stream's rows of blocks after $after
    params: Mapping[str, Any]


@dataclass(slots=True, kw_only=True)
class LogScan:
    """What one scan read, for `store_scans`: rewinds, then rows, then the cursors moved."""

    chain_id: int
    safe_head: int  # head - confirmations: nothing newer was read
    from_block: int | None = None  # None: nothing was due
    to_block: int | None = None  # the last block read, rows and cursors included
    rewinds: list[Rewind] = field(default_factory=list)
    liquidations: list[AaveLiquidationCall] = field(default_factory=list)
    transfers: list[WhaleTransfer] = field(default_factory=list)
    cursors: dict[str, tuple[int, str]] = field(default_factory=dict)  # stream -> (block, hash)
    reorgs: int = 0  # streams whose cursor block was reorganised away, rewound and rescanned
    failure: VenueError | None = None  # the RPC failed after to_block: the rest was not read


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanResult:
    """What one scan read (blocks from_block..to_block, None when nothing was due) and stored."""

    chain_id: int
    safe_head: int
    from_block: int | None
    to_block: int | None
    stored: int  # rows inserted
    liquidations: tuple[AaveLiquidationCall, ...] = ()
    transfers: tuple[WhaleTransfer, ...] = ()
    reorgs: int = 0


def liquidation_stream(cfg: aave.PoolConfig) -> str:
    """The cursor name of a pool's LiquidationCall scan."""
    return f"aave-v3:{cfg.pool.lower()}:liquidations"


def transfer_stream(address: str) -> str:
    """The cursor name of an address's ERC-20 transfer scan."""
    return f"erc20-transfers:{address}"


def read_cursors(db: Path, chain_id: int, streams: Sequence[str]) -> dict[str, ChainCursor | None]:
    """Each stream's cursor (None before its first scan); blocking: run it off the loop."""
    with open_store(db) as store:
        return {stream: read_cursor(store, chain_id, stream) for stream in streams}


def store_scans(store: Store, scans: Sequence[LogScan]) -> int:
    """Write scans inside the caller's transaction; the rows inserted."""
    stored = 0
    for scan in scans:
        for r in scan.rewinds:
            store.con.execute(resources.sql("writes", r.forget), {**r.params, "after": r.to_block})
            rewind(store, scan.chain_id, r.stream, r.to_block)
        columns = LIQUIDATION_COLUMNS
        stored += insert_batch(store, "aave_liquidation_calls", columns, scan.liquidations)
        stored += insert_batch(store, "whale_transfers", TRANSFER_COLUMNS, scan.transfers)
        for stream, (block, block_hash) in scan.cursors.items():
            advance(store, scan.chain_id, stream, block, block_hash)
    return stored


def _write(db: Path, scans: Sequence[LogScan]) -> int:
    with open_store(db) as store, store.transaction():
        return store_scans(store, scans)


async def read_liquidations(
    s: EthereumSession, cfg: aave.PoolConfig, cursor: ChainCursor | None, check: CursorCheck
) -> LogScan:
    """Every Aave v3 LiquidationCall between the cursor and head − confirmations, valued."""
    settings, client = s.settings, s.client
    stream = liquidation_stream(cfg)
    scan = LogScan(chain_id=client.chain_id, safe_head=check.head - settings.eth_confirmations)
    resume = await resume_from(check, cursor, stream, scan.safe_head, settings.eth_lookback_blocks)
    if resume.rewind_to is not None:
        params = {"chain_id": client.chain_id, "pool": cfg.pool}
        scan.rewinds.append(Rewind(stream, resume.rewind_to, "forget_liquidation_calls", params))
        scan.reorgs += 1
    if resume.start > scan.safe_head:
        return scan
    scan.from_block = resume.start
    flt: FilterParams = {"address": cfg.pool, "topics": ["0x" + aave.LIQUIDATION_CALL_TOPIC.hex()]}
    chunks = client.log_chunks([flt], resume.start, scan.safe_head, settings.eth_log_chunk_blocks)
    try:
        async for _first, last, last_hash, logs in chunks:
            events = [e for e in map(aave.decode_liquidation_log, logs) if e is not None]
            scan.liquidations += await _value_liquidations(client, cfg, events, scan.safe_head)
            scan.cursors[stream] = (last, last_hash)
            scan.to_block = last
    except VenueError as exc:
        scan.failure = exc
    return scan


async def _value_liquidations(
    client: eth.EthereumClient, cfg: aave.PoolConfig, events: Sequence[aave.LiquidationLog], at: int
) -> list[AaveLiquidationCall]:
    if not events:
        return []
    assets = sorted({a for e in events for a in (e.collateral_asset, e.debt_asset)})
    meta = await aave.fetch_assets(client, cfg, assets, at)
    blocks = [e.block_number for e in events]
    priced = await aave.fetch_block_prices(client, cfg.oracle, assets, blocks)
    return [
        aave.parse_liquidation(
            e, cfg.pool, meta, priced[e.block_number][1], priced[e.block_number][0], client.chain_id
        )
        for e in events
    ]


async def read_transfers(
    s: EthereumSession,
    addresses: Sequence[str],
    cursors: Mapping[str, ChainCursor | None],
    check: CursorCheck,
) -> LogScan:
    """ERC-20 transfers of watched addresses worth >= TRACKER_TRANSFER_MIN_USD.

    Each address has its own cursor (a newly watched one starts at the lookback); addresses
    with the same cursor are scanned together.
    """
    settings, client = s.settings, s.client
    wanted = list(dict.fromkeys(normalise_address(a) for a in addresses))
    scan = LogScan(chain_id=client.chain_id, safe_head=check.head - settings.eth_confirmations)
    tokens = await s.tokens(check.head)
    if not tokens:  # no token contract on this chain: a filter without addresses matches all
        return scan
    oracle = await s.oracle(check.head)
    groups: dict[int, list[str]] = {}
    for a in wanted:
        stream = transfer_stream(a)
        resume = await resume_from(
            check, cursors.get(stream), stream, scan.safe_head, settings.eth_lookback_blocks
        )
        if resume.rewind_to is not None:
            params = {"chain_id": client.chain_id, "address": a}
            scan.rewinds.append(Rewind(stream, resume.rewind_to, "forget_transfers", params))
            scan.reorgs += 1
        groups.setdefault(resume.start, []).append(a)
    due = sorted((start, group) for start, group in groups.items() if start <= scan.safe_head)
    scan.from_block = due[0][0] if due else None
    try:
        for start, group in due:
            filters = transfers.transfer_filters(tokens, group)
            chunks = client.log_chunks(
                filters, start, scan.safe_head, settings.eth_log_chunk_blocks
            )
            async for _first, last, last_hash, logs in chunks:
                legs = transfers.decode_transfers(logs, tokens, set(group))
                scan.transfers += await _value_transfers(s, legs, tokens, oracle)
                scan.cursors.update({transfer_stream(a): (last, last_hash) for a in group})
                scan.to_block = max(scan.to_block or last, last)
    except VenueError as exc:
        scan.failure = exc
    return scan


async def _value_transfers(
    s: EthereumSession,
    legs: Sequence[transfers.TransferLeg],
    tokens: Sequence[eth.Token],
    oracle: ChecksumAddress | None,
) -> list[WhaleTransfer]:
    """USD value of each leg at its block; those under the minimum (or unpriced) are dropped."""
    chain_id = s.client.chain_id
    sources = eth.price_calls(tokens, oracle, chain_id)
    calls = [eth.block_timestamp_call(), *(call for _, call in sources)]

    async def at(block: int) -> tuple[int, tuple[datetime, dict[str, Decimal | None]]]:
        epoch, *values = await s.client.read(calls, block)
        prices = eth.parse_prices([t.symbol for t in tokens], sources, values)
        return block, (eth.epoch_to_datetime(int(epoch)), prices)

    blocks = dict(await eth.gather_all(*(at(b) for b in {g.log.block_number for g in legs})))
    rows = []
    for g in legs:
        block_ts, prices = blocks[g.log.block_number]
        row = transfers.parse_transfer(g, prices.get(g.token.symbol), block_ts, chain_id)
        if row is not None and row.usd_value >= s.settings.transfer_min_usd:
            rows.append(row)
    return rows


# -- one scan on its own: read the cursor, read the chain, store -------------------------------


async def scan_liquidations(
    settings: Settings, db: Path, *, session: EthereumSession | None = None
) -> ScanResult:
    """Read and store the pool's LiquidationCalls since its cursor; raise what the RPC raised
    after storing what was read before it."""
    async with using(settings, session) as s:
        cfg = await s.pool_config()
        stream = liquidation_stream(cfg)
        cursors = await asyncio.to_thread(read_cursors, db, s.client.chain_id, [stream])
        check = CursorCheck(s.client, await s.client.head())
        scan = await read_liquidations(s, cfg, cursors[stream], check)
    return await _store_one(db, scan)


async def scan_transfers(
    settings: Settings,
    db: Path,
    addresses: Sequence[str],
    *,
    session: EthereumSession | None = None,
) -> ScanResult:
    """Read and store the ERC-20 transfers of addresses since their cursors (see read_transfers)."""
    streams = [transfer_stream(normalise_address(a)) for a in addresses]
    async with using(settings, session) as s:
        cursors = await asyncio.to_thread(read_cursors, db, s.client.chain_id, streams)
        check = CursorCheck(s.client, await s.client.head())
        scan = await read_transfers(s, addresses, cursors, check)
    return await _store_one(db, scan)


async def _store_one(db: Path, scan: LogScan) -> ScanResult:
    written = scan.rewinds or scan.cursors
    stored = await asyncio.to_thread(_write, db, [scan]) if written else 0
    if scan.failure is not None:
        raise scan.failure
    return ScanResult(
        chain_id=scan.chain_id,
        safe_head=scan.safe_head,
        from_block=scan.from_block,
        to_block=scan.to_block,
        stored=stored,
        liquidations=tuple(scan.liquidations),
        transfers=tuple(scan.transfers),
        reorgs=scan.reorgs,
    )
