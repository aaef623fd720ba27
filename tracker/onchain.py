"""The Ethereum library calls the CLI makes: poll holdings and Aave accounts, scan logs, store.

One `EthereumSession` (one AsyncWeb3, pool configuration and token decimals cached) lives for a
command; every function takes an optional session and opens its own when given none.

Log scans (Aave liquidations market-wide, ERC-20 transfers of watched addresses) read from the
stream's cursor + 1 up to head − TRACKER_ETH_CONFIRMATIONS, never past it, in chunks. Each chunk's
rows and the cursor that covers them are written in one transaction, so the cursor never passes
what is stored; rows are keyed naturally, so a rescan inserts nothing. A stream without a cursor
starts TRACKER_ETH_LOOKBACK_BLOCKS behind the safe head. Reorganisations: tracker.cursors.

ETH moves of watched addresses are seen as balance changes between two stored polls: plain sends
would show as Transfer-less transactions and internal transfers (contract calls) only in traces,
which most RPCs do not serve, so the balance is the one signal every node gives.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from eth_typing import ChecksumAddress
from web3.types import FilterParams

from tracker import resources
from tracker.addresses import normalise_address
from tracker.config import Settings
from tracker.cursors import CursorCheck, advance, resume_from
from tracker.errors import VenueError
from tracker.records import (
    AaveAccount,
    AaveLiquidationCall,
    AccountSnapshot,
    EthereumReport,
    Holding,
    WhaleTransfer,
)
from tracker.risk_aave import assess_aave_account
from tracker.sources import aave, transfers
from tracker.sources import ethereum as eth
from tracker.store.db import Store
from tracker.store.writes import (
    ACCOUNT_COLUMNS,
    POSITION_COLUMNS,
    Column,
    attr_column,
    decimal_column,
    epoch_us,
    insert_batch,
)

log = logging.getLogger(__name__)

POOL_CONFIG_TTL_S = 600.0  # reserve parameters change by governance vote, rarely

HOLDING_COLUMNS = (
    Column("ts_us", lambda r: epoch_us(r.ts), "int64"),
    *(attr_column(n) for n in ("venue", "chain_id", "block_number", "address", "asset")),
    attr_column("token_address"),
    *(decimal_column(n) for n in ("amount", "price_usd", "usd_value")),
)
LIQUIDATION_COLUMNS = (
    *(attr_column(n) for n in ("chain_id", "pool", "block_number")),
    Column("block_ts_us", lambda r: epoch_us(r.block_ts), "int64"),
    *(attr_column(n) for n in ("tx_hash", "log_index", "user", "collateral_asset")),
    *(attr_column(n) for n in ("collateral_symbol", "debt_asset", "debt_symbol")),
    *(
        decimal_column(n)
        for n in ("debt_to_cover", "liquidated_collateral", "collateral_price_usd")
    ),
    *(decimal_column(n) for n in ("debt_price_usd", "collateral_usd", "debt_usd")),
    attr_column("liquidator"),
    attr_column("receive_a_token", "bool"),
)
TRANSFER_COLUMNS = (
    *(attr_column(n) for n in ("chain_id", "address", "transfer_key", "kind", "direction")),
    *(attr_column(n) for n in ("counterparty", "asset", "token_address")),
    *(decimal_column(n) for n in ("amount", "price_usd", "usd_value")),
    attr_column("block_number"),
    Column("block_ts_us", lambda r: epoch_us(r.block_ts)),
    attr_column("tx_hash"),
    attr_column("log_index"),
)


class EthereumSession:
    """An EthereumClient plus what is worth keeping between polls of one command."""

    def __init__(self, client: eth.EthereumClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self._pool: tuple[float, aave.PoolConfig] | None = None
        self._tokens: tuple[eth.Token, ...] | None = None

    async def pool_config(self, block: int | None = None) -> aave.PoolConfig:
        """The Aave pool's contracts and reserves, re-read every POOL_CONFIG_TTL_S."""
        if self._pool is None or time.monotonic() - self._pool[0] > POOL_CONFIG_TTL_S:
            provider = self.settings.aave_pool_addresses_provider
            config = await aave.fetch_pool_config(self.client, provider, block)
            self._pool = (time.monotonic(), config)
        return self._pool[1]

    async def tokens(self, block: int) -> tuple[eth.Token, ...]:
        """The configured ERC-20s that exist on this chain, with their decimals.

        A token with no contract here (the mainnet defaults on a local node or another chain)
        is left out once, with a warning, rather than failing every address's holdings.
        """
        if self._tokens is None:
            specs = self.settings.eth_tokens
            exists = await eth.gather_all(*(self.client.has_code(s[1], block) for s in specs))
            present = [s for s, ok in zip(specs, exists, strict=True) if ok]
            if len(present) < len(specs):
                missing = ", ".join(s[0] for s, ok in zip(specs, exists, strict=True) if not ok)
                log.warning(
                    "no contract on chain %d for %s: not valued", self.client.chain_id, missing
                )
            self._tokens = await eth.resolve_tokens(self.client, present, block)
        return self._tokens

    async def oracle(self, block: int) -> ChecksumAddress | None:
        """The Aave oracle, or None when the configured market cannot be resolved."""
        try:
            return (await self.pool_config(block)).oracle
        except VenueError as exc:
            log.warning("Aave oracle unavailable, Chainlink prices only: %s", exc)
            return None


@asynccontextmanager
async def ethereum_session(settings: Settings) -> AsyncIterator[EthereumSession]:
    """Open one AsyncWeb3 for a command (checks chain id and Multicall3); close it on exit.

    Raises EthereumNotConfigured (print its one line and skip Ethereum) without an RPC URL.
    """
    async with eth.open_ethereum(settings) as client:
        yield EthereumSession(client, settings)


@asynccontextmanager
async def _use(
    settings: Settings, session: EthereumSession | None
) -> AsyncIterator[EthereumSession]:
    if session is not None:
        yield session
        return
    async with ethereum_session(settings) as opened:
        yield opened


# -- polling ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EthereumResult:
    """One Ethereum poll: a report per address, all read at one block."""

    ts: datetime
    chain_id: int
    block_number: int
    block_ts: datetime
    reports: tuple[EthereumReport, ...]
    transfer_min_usd: Decimal  # ETH balance changes from this USD value are stored as transfers

    @property
    def holdings(self) -> tuple[Holding, ...]:
        """Every holding of every address."""
        return tuple(h for r in self.reports for h in r.holdings)

    @property
    def accounts(self) -> tuple[AccountSnapshot, ...]:
        """Every Aave account, mapped onto AccountSnapshot."""
        return tuple(a for r in self.reports for a in r.accounts)

    @property
    def failed(self) -> tuple[EthereumReport, ...]:
        """Reports with at least one error."""
        return tuple(r for r in self.reports if r.errors)


async def poll_ethereum(
    settings: Settings,
    addresses: Sequence[str],
    ts: datetime,
    *,
    session: EthereumSession | None = None,
) -> EthereumResult:
    """Holdings and Aave v3 account of every address at the latest block; errors per address."""
    wanted = list(dict.fromkeys(normalise_address(a) for a in addresses))
    async with _use(settings, session) as s:
        block = await s.client.head()
        tokens = await s.tokens(block)
        try:
            cfg: aave.PoolConfig | str = await s.pool_config(block)
        except VenueError as exc:  # holdings go on, priced by Chainlink where it can
            log.warning("Aave v3 market unavailable: %s", exc)
            cfg = str(exc)
        oracle = cfg.oracle if isinstance(cfg, aave.PoolConfig) else None
        holdings = asyncio.create_task(_poll_holdings(s, wanted, tokens, oracle, block, ts))
        accounts = asyncio.create_task(_poll_aave(s, wanted, block, cfg))
        await eth.gather_all(holdings, accounts)
    block_ts, held, held_errors = holdings.result()
    aave_accounts, aave_errors = accounts.result()
    reports = []
    for address in wanted:
        account = aave_accounts.get(address)
        reports.append(
            EthereumReport(
                address=address,
                ts=ts,
                holdings=held.get(address, ()),
                accounts=(assess_aave_account(account, ts),) if account is not None else (),
                aave=(account,) if account is not None else (),
                errors=tuple(e for e in (held_errors.get(address), aave_errors.get(address)) if e),
            )
        )
    return EthereumResult(
        ts=ts,
        chain_id=s.client.chain_id,
        block_number=block,
        block_ts=block_ts,
        reports=tuple(reports),
        transfer_min_usd=settings.transfer_min_usd,
    )


async def _poll_holdings(
    s: EthereumSession,
    addresses: Sequence[str],
    tokens: Sequence[eth.Token],
    oracle: ChecksumAddress | None,
    block: int,
    ts: datetime,
) -> tuple[datetime, dict[str, tuple[Holding, ...]], dict[str, str]]:
    chain_id = s.client.chain_id
    sources = eth.price_calls(tokens, oracle, chain_id)
    head = [eth.block_timestamp_call(), *(call for _, call in sources)]
    per_address = [eth.balance_calls(eth.checksum(a), tokens) for a in addresses]
    raw = await s.client.multicall([*head, *(c for calls in per_address for c in calls)], block)
    epoch, *price_values = eth.decode_all(head, raw[: len(head)])
    prices = eth.parse_prices([t.symbol for t in tokens], sources, price_values)
    held: dict[str, tuple[Holding, ...]] = {}
    errors: dict[str, str] = {}
    offset = len(head)
    for address, calls in zip(addresses, per_address, strict=True):
        part, offset = raw[offset : offset + len(calls)], offset + len(calls)
        try:
            balances = [int(v) for v in eth.decode_all(calls, part)]
        except VenueError as exc:
            log.warning("holdings of %s skipped: %s", address, exc)
            errors[address] = str(exc)
            continue
        held[address] = eth.parse_holdings(
            address, balances, tokens, prices, ts=ts, chain_id=chain_id, block=block
        )
    return eth.epoch_to_datetime(int(epoch)), held, errors


async def _poll_aave(
    s: EthereumSession, addresses: Sequence[str], block: int, cfg: aave.PoolConfig | str
) -> tuple[dict[str, AaveAccount], dict[str, str]]:
    if isinstance(cfg, str):  # no market on this chain: nothing to read, nobody's failure
        return {}, {}
    read = await aave.fetch_accounts(s.client, cfg, addresses, block)
    for address, exc in read.errors.items():
        log.warning("Aave account of %s skipped: %s", address, exc)
    found = {a: acc for a, acc in read.accounts.items() if acc is not None}
    return found, {a: str(e) for a, e in read.errors.items()}


def write_ethereum(store: Store, result: EthereumResult) -> tuple[WhaleTransfer, ...]:
    """Store holdings, Aave accounts/positions and ETH balance changes in one transaction.

    Returns the ETH balance changes at or above result.transfer_min_usd (also stored).
    """
    positions = [p for a in result.accounts for p in a.positions]
    with store.transaction():
        previous = _previous_eth(store, result)
        eth_rows = [h for h in result.holdings if h.asset == "ETH"]
        moves = transfers.eth_balance_changes(
            previous, eth_rows, result.transfer_min_usd, block_ts=result.block_ts
        )
        insert_batch(store, "holdings", HOLDING_COLUMNS, result.holdings)
        insert_batch(store, "account_snapshots", ACCOUNT_COLUMNS, result.accounts)
        insert_batch(store, "positions", POSITION_COLUMNS, positions)
        insert_batch(store, "whale_transfers", TRANSFER_COLUMNS, moves)
    return tuple(moves)


def _previous_eth(store: Store, result: EthereumResult) -> dict[str, tuple[Decimal, int]]:
    """Latest stored ETH amount and block per address, before this poll."""
    rows = store.con.execute(
        resources.sql("queries", "latest_holdings"),
        {"address": None, "asset": "ETH", "before": result.ts.isoformat()},
    ).fetchall()
    # columns: ts, venue, chain_id, block_number, address, asset, token_address, amount, ...
    return {
        row[4]: (Decimal(row[7]), int(row[3]))
        for row in rows
        if row[1] == eth.VENUE and row[2] == result.chain_id
    }


# -- log scans --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanResult:
    """What one scan read (blocks from_block..to_block, None when nothing was due) and stored."""

    chain_id: int
    safe_head: int  # head - confirmations: nothing newer was read
    from_block: int | None
    to_block: int | None
    stored: int  # rows inserted
    liquidations: tuple[AaveLiquidationCall, ...] = ()
    transfers: tuple[WhaleTransfer, ...] = ()
    reorgs: int = 0  # streams whose cursor block was reorganised away, rewound and rescanned


async def scan_liquidations(
    settings: Settings, store: Store, *, session: EthereumSession | None = None
) -> ScanResult:
    """Store every Aave v3 LiquidationCall between the cursor and head − confirmations."""
    async with _use(settings, session) as s:
        client = s.client
        cfg = await s.pool_config()
        stream = f"aave-v3:{cfg.pool.lower()}:liquidations"
        check = CursorCheck(client, await client.head())
        safe = check.head - settings.eth_confirmations

        def forget(after: int) -> None:
            store.con.execute(
                resources.sql("writes", "forget_liquidation_calls"),
                {"chain_id": client.chain_id, "pool": cfg.pool, "after": after},
            )

        start = await resume_from(check, store, stream, safe, settings.eth_lookback_blocks, forget)
        if start > safe:
            return ScanResult(
                chain_id=client.chain_id,
                safe_head=safe,
                from_block=None,
                to_block=None,
                stored=0,
                reorgs=check.reorgs,
            )
        flt: FilterParams = {
            "address": cfg.pool,
            "topics": ["0x" + aave.LIQUIDATION_CALL_TOPIC.hex()],
        }
        found: list[AaveLiquidationCall] = []
        stored = 0
        chunks = client.log_chunks([flt], start, safe, settings.eth_log_chunk_blocks)
        async for _first, last, last_hash, logs in chunks:
            events = [e for e in map(aave.decode_liquidation_log, logs) if e is not None]
            rows = await _value_liquidations(client, cfg, events, safe)
            with store.transaction():
                stored += insert_batch(store, "aave_liquidation_calls", LIQUIDATION_COLUMNS, rows)
                advance(store, client.chain_id, stream, last, last_hash)
            found.extend(rows)
    return ScanResult(
        chain_id=client.chain_id,
        safe_head=safe,
        from_block=start,
        to_block=safe,
        stored=stored,
        liquidations=tuple(found),
        reorgs=check.reorgs,
    )


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


async def scan_transfers(
    settings: Settings,
    store: Store,
    addresses: Sequence[str],
    *,
    session: EthereumSession | None = None,
) -> ScanResult:
    """Store ERC-20 transfers of watched addresses worth >= TRACKER_TRANSFER_MIN_USD.

    Each address has its own cursor (a newly watched one starts at the lookback); addresses
    with the same cursor are scanned together.
    """
    wanted = list(dict.fromkeys(normalise_address(a) for a in addresses))
    async with _use(settings, session) as s:
        client = s.client
        check = CursorCheck(client, await client.head())
        head = check.head
        safe = head - settings.eth_confirmations
        tokens = await s.tokens(head)
        oracle = await s.oracle(head)
        groups: dict[int, list[str]] = {}
        for a in wanted:

            def forget(after: int, address: str = a) -> None:
                store.con.execute(
                    resources.sql("writes", "forget_transfers"),
                    {"chain_id": client.chain_id, "address": address, "after": after},
                )

            start = await resume_from(
                check, store, _transfer_stream(a), safe, settings.eth_lookback_blocks, forget
            )
            groups.setdefault(start, []).append(a)
        due = {start: group for start, group in groups.items() if start <= safe}
        found: list[WhaleTransfer] = []
        stored = 0
        for start, group in sorted(due.items()):
            filters = transfers.transfer_filters(tokens, group)
            chunks = client.log_chunks(filters, start, safe, settings.eth_log_chunk_blocks)
            async for _first, last, last_hash, logs in chunks:
                legs = transfers.decode_transfers(logs, tokens, set(group))
                rows = await _value_transfers(s, legs, tokens, oracle)
                with store.transaction():
                    stored += insert_batch(store, "whale_transfers", TRANSFER_COLUMNS, rows)
                    for a in group:
                        advance(store, client.chain_id, _transfer_stream(a), last, last_hash)
                found.extend(rows)
    return ScanResult(
        chain_id=client.chain_id,
        safe_head=safe,
        from_block=min(due) if due else None,
        to_block=safe if due else None,
        stored=stored,
        transfers=tuple(found),
        reorgs=check.reorgs,
    )


def _transfer_stream(address: str) -> str:
    return f"erc20-transfers:{address}"


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
