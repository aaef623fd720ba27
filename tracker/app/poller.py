"""One poll of many addresses on Hyperliquid: every dex, spot, markets; failures kept per address.

The dex list (perpDexs) and the market meta (metaAndAssetCtxs per dex) are shared by every address
of a pass and cached with a TTL, so a pass over N accounts costs N * (dexes + 1) cheap requests
plus a few weight-20 ones. A failing address is logged, counted and skipped; the pass goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from tracker.errors import VenueError, VenueResponseError
from tracker.records import (
    AccountReport,
    AccountSnapshot,
    Market,
    MarketMeta,
    SpotBalance,
    VenueAccount,
)
from tracker.risk.assess import assess_account
from tracker.sources.hyperliquid import client as hl

log = logging.getLogger(__name__)
T = TypeVar("T")

DEX_LIST_TTL_S = 600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PollResult:
    """Reports per address (failed ones carry errors and no accounts) and fresh market rows."""

    ts: datetime
    reports: tuple[AccountReport, ...]
    markets: tuple[Market, ...]

    @property
    def failed(self) -> tuple[AccountReport, ...]:
        """Reports of addresses that could not be polled."""
        return tuple(r for r in self.reports if r.errors)


async def _settled(awaitable: Awaitable[T]) -> T | BaseException:
    """The awaitable's result, or the exception it raised (as gather's return_exceptions)."""
    try:
        return await awaitable
    except Exception as exc:
        return exc


async def fetch_parsed(fetch: Callable[[], Awaitable[object]], parse: Callable[[object], T]) -> T:
    """Fetch and parse; an unparseable answer is fetched once more before giving up."""
    try:
        return parse(await fetch())
    except VenueResponseError as first:
        log.info("retrying once after an unusable answer: %s", first)
        return parse(await fetch())


def now_utc() -> datetime:
    """The poll time: aware UTC, millisecond precision (what the store keeps)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class HyperliquidPoller:
    """Polls addresses through one HyperliquidClient, sharing dex list and market meta."""

    def __init__(
        self,
        client: hl.HyperliquidClient,
        *,
        dexes: tuple[str, ...] | None = None,
        markets_ttl_s: float = 30.0,
        concurrency: int = 16,
    ) -> None:
        self.client = client
        self.configured_dexes = dexes
        self.markets_ttl_s = markets_ttl_s
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._dexes: tuple[str, ...] | None = None
        self._dexes_at = 0.0
        self._meta: dict[str, tuple[float, MarketMeta]] = {}
        self._last_poll_time: datetime | None = None
        # address -> builder dexes the tape saw it trade on: read for a state-only address too
        self._traded_on: dict[str, set[str]] = {}

    def saw_trading(self, address: str, dex: str) -> None:
        """The tape saw `address` trade on builder dex `dex`: its passes read that dex from now
        on, state-only or not."""
        if dex:
            self._traded_on.setdefault(address, set()).add(dex)

    def poll_time(self) -> datetime:
        """A pass's time: now in whole milliseconds, later than any this poller gave before.

        Passes run side by side in live mode. Two started in one millisecond would share the
        time that keys their snapshot_runs row, and the second row would be dropped while its
        snapshots were kept; a clock stepped back would do the same.
        """
        now = now_utc()
        if self._last_poll_time is not None and now <= self._last_poll_time:
            now = self._last_poll_time + timedelta(milliseconds=1)
        self._last_poll_time = now
        return now

    async def dex_names(self) -> tuple[str, ...]:
        """Dexes to poll: configured, or every dex perpDexs lists (main dex only if it fails)."""
        if self.configured_dexes is not None:
            return self.configured_dexes
        now = time.monotonic()
        if self._dexes is None or now - self._dexes_at > DEX_LIST_TTL_S:
            try:
                self._dexes = await fetch_parsed(self.client.fetch_perp_dexs, hl.parse_perp_dexs)
            except VenueError as exc:
                if self._dexes is None:
                    log.warning("perpDexs failed, polling the main dex only: %s", exc)
                    self._dexes = ("",)
            self._dexes_at = now
        return self._dexes

    async def market_meta(
        self, dexes: Sequence[str], ts: datetime
    ) -> tuple[dict[str, MarketMeta], list[Market]]:
        """Meta per dex (cached for markets_ttl_s) and the market rows fetched fresh this time."""
        metas: dict[str, MarketMeta] = {}
        fresh: list[Market] = []

        async def one(dex: str) -> None:
            cached = self._meta.get(dex)
            if cached and time.monotonic() - cached[0] < self.markets_ttl_s:
                metas[dex] = cached[1]
                return
            try:
                meta = await fetch_parsed(
                    lambda: self.client.fetch_meta_and_asset_ctxs(dex),
                    lambda raw: hl.parse_meta_and_asset_ctxs(raw, dex, ts),
                )
            except VenueError as exc:
                log.warning("metaAndAssetCtxs failed for dex %r; single-tier margins: %s", dex, exc)
                if cached:
                    metas[dex] = cached[1]
                return
            self._meta[dex] = (time.monotonic(), meta)
            metas[dex] = meta
            fresh.extend(meta.markets.values())

        async with asyncio.TaskGroup() as group:
            for dex in dexes:
                group.create_task(one(dex))
        return metas, fresh

    def meta_for(self, dex: str) -> MarketMeta | None:
        """The market meta of a dex as last fetched (margin tables for the live book)."""
        cached = self._meta.get(dex)
        return cached[1] if cached else None

    async def poll(
        self, addresses: Sequence[str], ts: datetime, *, state_only: frozenset[str] = frozenset()
    ) -> PollResult:
        """Poll every address on every dex; never raises for a single address's failure.

        Addresses in state_only are read on the main dex only, without spot balances (weight 2),
        and on the builder dexes the tape saw them trade on (`saw_trading`).
        """
        dexes = await self.dex_names()
        metas, fresh = await self.market_meta(dexes, ts)

        def lite(address: str) -> tuple[str, ...]:
            traded = self._traded_on.get(address)
            return ("", *sorted(d for d in traded if d in dexes)) if traded else ("",)

        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(
                    self._poll_guarded(a, dexes, metas, ts)
                    if a not in state_only
                    else self._poll_guarded(a, lite(a), metas, ts, spot=False)
                )
                for a in addresses
            ]
        return PollResult(ts=ts, reports=tuple(t.result() for t in tasks), markets=tuple(fresh))

    async def _poll_guarded(
        self,
        address: str,
        dexes: Sequence[str],
        metas: dict[str, MarketMeta],
        ts: datetime,
        *,
        spot: bool = True,
    ) -> AccountReport:
        try:
            return await self.poll_address(address, dexes, metas, ts, spot=spot)
        except VenueError as exc:
            log.warning("skipped %s: %s", address, exc)
            return AccountReport(address=address, ts=ts, accounts=(), spot=(), errors=(str(exc),))

    async def poll_address(
        self,
        address: str,
        dexes: Sequence[str],
        metas: dict[str, MarketMeta],
        ts: datetime,
        *,
        spot: bool = True,
    ) -> AccountReport:
        """Every dex's perp state and (unless spot is false) the spot balances of one address."""

        async def dex_state(dex: str) -> tuple[VenueAccount, AccountSnapshot] | None:
            async with self._slots:
                account = await fetch_parsed(
                    lambda: self.client.fetch_clearinghouse_state(address, dex),
                    lambda raw: (
                        None
                        if raw is None and dex
                        else hl.parse_clearinghouse_state(raw, address, dex)
                    ),
                )
            if account is None:
                return None
            if dex and not account.positions and account.account_value_usd == 0:
                return None  # nothing on this builder dex: not worth a row per pass
            return account, assess_account(account, metas.get(dex), ts)

        async def spot_balances() -> tuple[SpotBalance, ...]:
            if not spot:
                return ()
            try:
                async with self._slots:
                    return await fetch_parsed(
                        lambda: self.client.fetch_spot_state(address),
                        lambda raw: hl.parse_spot_state(raw, address, ts),
                    )
            except VenueError as exc:  # spot is secondary: the perp state still counts
                log.warning("spot balances of %s unavailable: %s", address, exc)
                return ()

        # Spot is read beside the perp states. Not a TaskGroup: one dex's VenueError must surface
        # as itself (the address is then skipped whole) rather than inside an ExceptionGroup. With
        # one dex (the common case) its state is read in this task: a pass over 1,000 addresses
        # then makes 2,000 tasks fewer.
        balances_task = asyncio.create_task(spot_balances()) if spot else None
        try:
            if len(dexes) == 1:
                states: list[Any] = [await _settled(dex_state(dexes[0]))]
            else:
                states = await asyncio.gather(
                    *(dex_state(d) for d in dexes), return_exceptions=True
                )
            balances = await balances_task if balances_task is not None else ()
        except BaseException:
            if balances_task is not None:
                balances_task.cancel()
            raise
        for outcome in states:
            if isinstance(outcome, BaseException):
                raise outcome
        pairs = [s for s in states if s is not None and not isinstance(s, BaseException)]
        return AccountReport(
            address=address,
            ts=ts,
            accounts=tuple(snapshot for _, snapshot in pairs),
            spot=balances,
            venue_accounts=tuple(account for account, _ in pairs),
        )
