"""The Ethereum library calls the CLI makes: one session per command, poll holdings and Aave
accounts, store them.

One `EthereumSession` (one AsyncWeb3, the chain checked, Multicall3 looked for, token contracts
and the Aave configuration read once) lives for a command: `EthereumLink` opens it on first use
and closes it when the command ends, and warnings about what the chain lacks are logged once.
Every function takes an optional session and opens its own when given none. Nothing here holds
the store across an await: reads from the RPC come first, writes take a `Store` and are run off
the event loop by the caller. Log scans: tracker.scans.

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

from tracker import resources
from tracker.addresses import normalise_address
from tracker.config import Settings
from tracker.errors import VenueError
from tracker.records import AaveAccount, AccountSnapshot, EthereumReport, Holding, WhaleTransfer
from tracker.risk.aave import assess_aave_account
from tracker.sources.ethereum import aave, transfers
from tracker.sources.ethereum import rpc as eth
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
    """An EthereumClient plus what one command reads once: token contracts, the Aave market."""

    def __init__(self, client: eth.EthereumClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self._pool: tuple[float, aave.PoolConfig | str] | None = None  # str: why no market
        self._tokens: tuple[eth.Token, ...] | None = None
        self._reading = asyncio.Lock()  # passes side by side read the configuration once
        self._warned: set[str] = set()
        # One Ethereum pass at a time per command: two would read and store the same blocks.
        self.turn = asyncio.Lock()

    def warn_once(self, message: str, *args: object) -> None:
        """Log a warning the first time this session meets it."""
        text = message % args
        if text not in self._warned:
            self._warned.add(text)
            log.warning("%s", text)

    async def pool_config(self, block: int | None = None) -> aave.PoolConfig:
        """The Aave pool's contracts and reserves, read once and again every POOL_CONFIG_TTL_S.

        Raises NoAaveMarket when the configured provider does not answer (remembered like a
        configuration), or the VenueError of a failed read (tried again on the next call).
        """
        async with self._reading:
            if self._pool is None or time.monotonic() - self._pool[0] > POOL_CONFIG_TTL_S:
                provider = self.settings.aave_pool_addresses_provider
                try:
                    found: aave.PoolConfig | str = await aave.fetch_pool_config(
                        self.client, provider, block
                    )
                except aave.NoAaveMarket as exc:
                    found = exc.reason
                self._pool = (time.monotonic(), found)
        config = self._pool[1]
        if isinstance(config, str):
            raise aave.NoAaveMarket(config, venue=eth.VENUE, request="getPool")
        return config

    async def market(self, block: int | None = None) -> aave.PoolConfig | None:
        """The Aave market, or None (warned about once) when the chain has none."""
        try:
            return await self.pool_config(block)
        except aave.NoAaveMarket as exc:
            self.warn_once(
                "Aave v3 market unavailable, Aave accounts and liquidations skipped: %s", exc
            )
            return None

    async def tokens(self, block: int) -> tuple[eth.Token, ...]:
        """The configured ERC-20s that exist on this chain, with their decimals.

        A token with no contract here (the mainnet defaults on a local node or another chain)
        is left out once, with a warning, rather than failing every address's holdings.
        """
        async with self._reading:
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
            market = await self.market(block)
        except VenueError as exc:
            log.warning("Aave oracle unavailable, Chainlink prices only: %s", exc)
            return None
        return market.oracle if market is not None else None


@asynccontextmanager
async def ethereum_session(settings: Settings) -> AsyncIterator[EthereumSession]:
    """Open one AsyncWeb3 for a command (checks chain id and Multicall3); close it on exit.

    Raises EthereumNotConfigured (print its one line and skip Ethereum) without an RPC URL.
    """
    async with eth.open_ethereum(settings) as client:
        yield EthereumSession(client, settings)


@asynccontextmanager
async def using(
    settings: Settings, session: EthereumSession | None
) -> AsyncIterator[EthereumSession]:
    """The session given, or one opened for this call only."""
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
    async with using(settings, session) as s:
        block = await s.client.head()
        tokens = await s.tokens(block)
        try:
            cfg: aave.PoolConfig | str = await s.market(block) or "no Aave market"
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
    with store.transaction():
        return insert_ethereum(store, result)


def insert_ethereum(store: Store, result: EthereumResult) -> tuple[WhaleTransfer, ...]:
    """write_ethereum inside the caller's transaction."""
    positions = [p for a in result.accounts for p in a.positions]
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
