"""The Ethereum side of a command's pass: read the chain first, then store it off the loop.

The poll (holdings, Aave accounts) and the log scans since the stored cursors are read from the
RPC with no store open; then one short transaction, in a worker thread, stores all of it, and
the large-liquidation alerts it raises are evaluated in the same opening. The event loop (the
WebSocket reader, the mark path) never waits for the store.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.config import Settings
from tracker.errors import StoreError, VenueError
from tracker.store import open_store

if TYPE_CHECKING:
    from tracker.alerts.engine import AlertContext
    from tracker.alerts.sinks import Sink
    from tracker.app.ethereum_poll import EthereumResult, EthereumSession
    from tracker.app.log_scans import LogScan
    from tracker.app.snapshot_pass import PassReport
    from tracker.records import Alert

log = logging.getLogger(__name__)


class EthereumLink:
    """The Ethereum side of one command: its session, opened on first use, closed at the end.

    A session that could not be opened (the RPC down, another chain) is not kept: the next
    call tries again. Use through `ethereum_link`.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._session: EthereumSession | None = None
        self._opening = asyncio.Lock()
        self._stack = AsyncExitStack()

    async def session(self) -> EthereumSession:
        """The command's session; raises EthereumNotConfigured without TRACKER_ETH_RPC_URL, or
        why the node cannot be used (VenueError, ChainMismatch)."""
        async with self._opening:
            if self._session is None:
                # web3 and eth_abi take most of a second to import: a worker thread does it, so
                # the loop goes on serving the WebSocket and the mark path meanwhile.
                await asyncio.to_thread(importlib.import_module, "tracker.app.log_scans")
                from tracker.app.ethereum_poll import ethereum_session

                opened = ethereum_session(self.settings)
                self._session = await self._stack.enter_async_context(opened)
            return self._session

    async def aclose(self) -> None:
        """Close the session, if one was opened."""
        self._session = None
        await self._stack.aclose()


@asynccontextmanager
async def ethereum_link(settings: Settings) -> AsyncIterator[EthereumLink]:
    """One EthereumLink for the life of a command."""
    link = EthereumLink(settings)
    try:
        yield link
    finally:
        await link.aclose()


@dataclass(frozen=True, slots=True, kw_only=True)
class EthereumSide:
    """What the Ethereum side of a command learnt, or why it was skipped."""

    result: EthereumResult | None
    skipped: str | None = None  # one line for people when there is no result
    errors: tuple[str, ...] = ()
    scans: tuple[LogScan, ...] = ()
    new_alerts: tuple[Alert, ...] = ()


async def ethereum_side(
    link: EthereumLink,
    addresses: Sequence[str],
    ts: datetime,
    *,
    scan: bool = False,
    alerting: AlertContext | None = None,
) -> EthereumSide:
    """Poll holdings and Aave accounts (and, with scan, LiquidationCall and transfer logs) and
    store them, with the large-liquidation alerts they raise when alerting; never raises for the
    venue: failures come back as lines.

    Everything is read from the RPC first; then one short transaction, off the event loop,
    stores it all. One such side runs at a time in a command (the session's turn).
    """
    settings = link.settings
    if not settings.eth_rpc_url:
        return EthereumSide(result=None, skipped="Ethereum skipped: TRACKER_ETH_RPC_URL is not set")
    since = ts - RECENT_LIQUIDATIONS
    try:
        session = await link.session()
        async with session.turn:
            result, scans = await _read_chain(session, addresses, ts, scan=scan)
            new = await asyncio.to_thread(
                _store_side, settings.db_path, result, scans, alerting, since
            )
    except VenueError as exc:
        log.warning("Ethereum side failed: %s", exc)
        return EthereumSide(result=None, errors=(str(exc),))
    errors = [f"{r.address}: {e}" for r in result.failed for e in r.errors]
    for failure in (s.failure for s in scans if s.failure is not None):
        log.warning("Ethereum log scan stopped (what was read before is stored): %s", failure)
        errors.append(str(failure))
    return EthereumSide(
        result=result, errors=tuple(errors), scans=tuple(scans), new_alerts=tuple(new)
    )


async def _read_chain(
    session: EthereumSession, addresses: Sequence[str], ts: datetime, *, scan: bool
) -> tuple[EthereumResult, list[LogScan]]:
    """The poll, then with scan the logs since the stored cursors, all below the poll's block."""
    from tracker.addresses import normalise_address
    from tracker.app.chain_cursors import CursorCheck
    from tracker.app.ethereum_poll import poll_ethereum
    from tracker.app.log_scans import (
        liquidation_stream,
        read_cursors,
        read_liquidations,
        read_transfers,
        transfer_stream,
    )

    if not scan:
        return await poll_ethereum(session.settings, addresses, ts, session=session), []
    market = await session.market()
    wanted = list(dict.fromkeys(normalise_address(a) for a in addresses))
    streams = [transfer_stream(a) for a in wanted]
    if market is not None:
        streams.append(liquidation_stream(market))
    db, chain_id = session.settings.db_path, session.client.chain_id
    cursors = await asyncio.to_thread(read_cursors, db, chain_id, streams)
    result = await poll_ethereum(session.settings, wanted, ts, session=session)
    check = CursorCheck(session.client, result.block_number)
    scans = []
    if market is not None:
        cursor = cursors[liquidation_stream(market)]
        scans.append(await read_liquidations(session, market, cursor, check))
    if not any(s.failure for s in scans):
        scans.append(await read_transfers(session, wanted, cursors, check))
    return result, scans


def _store_side(
    db: Path,
    result: EthereumResult,
    scans: Sequence[LogScan],
    alerting: AlertContext | None,
    since: datetime,
) -> list[Alert]:
    """One transaction for what the chain said, then its alerts (blocking: off the loop)."""
    import duckdb

    from tracker.alerts.engine import evaluate_aave
    from tracker.app.ethereum_poll import insert_ethereum
    from tracker.app.log_scans import store_scans

    with open_store(db) as store:
        try:
            with store.transaction():
                insert_ethereum(store, result)
                store_scans(store, scans)
            return evaluate_aave(store, alerting, since) if alerting is not None else []
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise StoreError(f"writing the Ethereum side to {db} failed: {first}") from exc


async def ethereum_pass(
    link: EthereumLink,
    addresses: list[str],
    report: PassReport,
    context: AlertContext,
    sinks: Sequence[Sink],
) -> dict[str, Any]:
    """The Ethereum side of a pass: holdings, Aave accounts, log scans, large-liquidation alerts."""
    from tracker.alerts.engine import dispatch

    side = await ethereum_side(link, addresses, report.ts, scan=True, alerting=context)
    summary: dict[str, Any] = {
        "addresses": len(addresses),
        "skipped": side.skipped,
        "errors": list(side.errors),
    }
    if side.result is None:
        return summary
    read = [s for s in side.scans if s.to_block is not None]
    summary.update(
        holdings=len(side.result.holdings),
        aave_accounts=len(side.result.accounts),
        block=side.result.block_number,
        scanned_from=min((s.from_block or 0 for s in read), default=None),
        scanned_to=max((s.to_block or 0 for s in read), default=None),
        liquidation_calls_read=sum(len(s.liquidations) for s in side.scans),
        transfers_read=sum(len(s.transfers) for s in side.scans),
        new_alerts=len(side.new_alerts),
    )
    if sinks:
        await dispatch(link.settings.db_path, sinks, timeout_s=link.settings.http_timeout_s * 2)
    return summary


RECENT_LIQUIDATIONS = timedelta(days=1)  # older LiquidationCalls found by a first scan: no alert
