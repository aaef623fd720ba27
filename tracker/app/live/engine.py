"""Live mode: marks and trades from the WebSocket, risk re-marked locally, REST weight on demand.

One task consumes the stream: every `allMids` re-marks the whole book (no API call) and may raise
near-liquidation alerts; the `trades` of every perp coin of every dex are followed, and a trade
naming a tracked account moves its position in the book at once (`tracker.app.live.tape`: size
exact, entry, PnL, margin and fee estimated, then liquidation price, distance and shock) and makes
that account due, as does every fill or liquidation of the accounts followed per user. The moves
are `PositionChange`s, stored and handed to the optional `on_position_changes` hook
(`tracker.app.live.outbox`). Another task refreshes accounts over REST as the scheduler says,
within the weight budget, through the same pass as `tracker snapshot` (so history, episodes,
alerts and storage are identical) and loads the result into the book, with the trades the answer
does not cover yet replayed onto it. After a reconnect the users followed per user are refreshed
(their fills backfilled over REST; the store's keys keep anything from counting twice). A status
file beside the database tells `tracker status` about budget, stream health, staleness and the
tape; every minute the C heap's free pages are handed back to the system
(`tracker.app.live.heap`).

Every task live mode starts (the stream reader, the refresher, each refresh pass, each re-mark
and each near-liquidation alert task) belongs to the engine's one task group, so none can fail
unseen or outlive the engine. A pass or alert write that fails on the store or the venue is
logged and counted and the accounts stay due; bad input (the database path is not a database)
and anything unexpected stop the engine and are raised from `run` as themselves, as in polling
mode (`tracker.app.daemon`).

Longer than our ~400 lines on purpose: the stream reader, the refresher and the status writer
share the engine's task group, book and counters, and splitting them apart would pass that state
through every call; the pure parts already live apart (`risk.live`, `app.live.scheduler`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import orjson

from tracker.alerts import rules
from tracker.alerts import store as alert_store
from tracker.alerts.engine import AlertContext, dispatch
from tracker.app.daemon import LoopLag
from tracker.app.live import heap
from tracker.app.live.outbox import TapeOutbox
from tracker.app.live.scheduler import RefreshScheduler, SchedulerConfig
from tracker.app.live.tape import TapeBook, dex_of
from tracker.app.poller import HyperliquidPoller
from tracker.app.runner import PassRunner
from tracker.app.snapshot_pass import PassReport
from tracker.atomic import write_atomic
from tracker.config import status_path
from tracker.errors import BadInput, StoreError, TrackerError
from tracker.net.limiter import URGENT
from tracker.percentiles import percentile
from tracker.records import (
    AccountReport,
    MidsUpdate,
    StreamStatus,
    Trade,
    UserFills,
    UserLiquidation,
)
from tracker.records.events import PositionChange, TapeDrift
from tracker.risk.live.book import BookView, LiveBook
from tracker.risk.live.columns import Ints
from tracker.sources.hyperliquid.stream import MAX_SUBSCRIPTIONS, HyperliquidStream
from tracker.store import open_store

if TYPE_CHECKING:
    from tracker.app.liquidation_watch import LiquidationWatch

log = logging.getLogger(__name__)
REFRESHER_PACE_S = 0.05  # the least time between two refresh batches (_refresher)
MAX_USERS = 10  # the venue's per-IP limit on user-specific subscriptions
NEAR_CHECK_INTERVAL_S = 0.5  # near-liquidation scans of the book, at most this often
SETTLE_GAP_S = 0.02  # the tape's recomputes of the book, at most this often (_settle)
# While messages wait unread (a burst is being worked off), the near-liquidation scans (~70 ms at
# 50,000 accounts) come less often, so the trades get the time. Settles do not: one costs what
# the tape moved since the last (~2 ms for a lot of 512 trades), and a trade counts as in the
# book only once settled.
BEHIND_NEAR_CHECK_INTERVAL_S = 2.0
# Re-marks of the whole book at most this often: a full recompute costs ~20 ms at 50,000 accounts,
# and the venue can send a dex's mids several times a second (the latest one wins anyway).
MARK_GAP_S = 0.1
# A re-mark waits this long for the mark messages that come with the first (every dex's allMids
# and each coin's activeAssetCtx are messages of their own): one recompute for them all.
MARK_GATHER_S = 0.005
RANK_WAIT_S = 10.0  # the risk order is taken at least this often, even during a burst
HEAP_TRIM_INTERVAL_S = 60.0  # free heap pages handed back this often (tracker.app.live.heap)
MAX_NEAR_KEYS_PER_SCAN = 50  # new crossings handled per scan (the rest wait, tightest first)
SAMPLES = 5000
# Trades read back to back (more messages waiting) are applied as one lot of up to this many: its
# position changes, settle and due accounts are handled once. A lot ends when nothing more waits.
TRADE_LOT = 512


@dataclass(slots=True)
class LiveStats:
    """What live mode measured (kept bounded)."""

    mark_to_risk_ms: deque[float] = field(default_factory=lambda: deque(maxlen=SAMPLES))
    trade_to_refresh_s: deque[float] = field(default_factory=lambda: deque(maxlen=SAMPLES))
    # a trade's venue time to its accounts' positions, liquidation prices and shock recomputed
    trade_to_book_ms: deque[float] = field(default_factory=lambda: deque(maxlen=SAMPLES))
    tape_changes: int = 0  # position changes applied from the tape
    mark_updates: int = 0
    trades_seen: int = 0
    refreshes: int = 0
    passes: int = 0
    failed_passes: int = 0
    alerts_from_marks: int = 0
    failed_alert_writes: int = 0  # near-liquidation alert tasks that could not store or deliver
    heap_trims: int = 0
    heap_trim_ms_max: float = 0.0
    stream_state: str = "starting"
    reconnects: int = 0
    last_message_at: float | None = None

    def percentile(self, name: str, q: float) -> float | None:
        """A percentile of a sample series."""
        value = percentile(getattr(self, name), q)
        return None if value is None else round(value, 4)


class LiveEngine:
    """Runs live mode until stopped; see the module docstring."""

    def __init__(
        self,
        *,
        poller: HyperliquidPoller,
        stream: HyperliquidStream,
        run_pass: PassRunner,
        addresses: Sequence[str],
        db: Path,
        alerting: AlertContext,
        sinks: Sequence[Any],
        on_pass: Callable[[PassReport], None] | None = None,
        config: SchedulerConfig | None = None,
        loop_lag: LoopLag | None = None,  # `tracker run --loop-lag`: its figures in the status
        # called (in the engine's task group) with each batch of position changes from the tape
        # and from refreshes that corrected it; an error it raises stops the engine
        on_position_changes: Callable[[list[PositionChange]], Awaitable[None]] | None = None,
        liquidations: LiquidationWatch | None = None,  # issue 15: market-wide liquidations
    ) -> None:
        self.liquidations = liquidations
        self.poller, self.stream, self.run_pass = poller, stream, run_pass
        if liquidations is not None:  # its confirmations read userFills snapshots too
            liquidations.attach_stream(stream)
        self.addresses = list(addresses)
        self.db, self.alerting, self.sinks, self.on_pass = db, alerting, list(sinks), on_pass
        self.book = LiveBook()
        limiter = poller.client.limiter
        dexes = poller.configured_dexes or ("",)
        self.scheduler = RefreshScheduler(
            cost_weight=2 * max(len(dexes), 1) + 2,
            budget_per_min=limiter.per_minute,
            config=config or SchedulerConfig(),
        )
        self.scheduler.watch(self.addresses)
        # The tracked set is the scheduler's: watch() an address to track it at run time.
        self.tape = TapeBook(
            self.book,
            poller.meta_for,
            self.scheduler.accounts.__contains__,
            behind=lambda: stream.backlog() > 0,
        )
        self.outbox = TapeOutbox(
            db, self._spawn, on_position_changes, behind=lambda: stream.backlog() > 0
        )
        self._unsettled: list[float] = []  # venue times (ms) of trades applied, not yet settled
        self._settle_task: asyncio.Task[None] | None = None
        self._settled_at = float("-inf")  # monotonic time of the last settle
        self._marked_at = float("-inf")  # monotonic time of the last re-mark
        self._near_task: asyncio.Task[None] | None = None  # near-liquidation alerts being stored
        self.stats = LiveStats()
        self.loop_lag = loop_lag
        self._wake = asyncio.Event()
        self._traded_at: dict[str, float] = {}  # address -> when its trade was received
        self._users: set[str] = set()
        self._coins: set[tuple[str, str]] = set()
        self._near_seen: Ints = np.empty(0, dtype=np.int64)  # keys of `LiveBook.near_scan`
        self._pending_mids: dict[str, list[MidsUpdate]] = {}
        self._apply_task: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None  # owns every task below, while running
        self._children: set[asyncio.Task[None]] = set()  # its tasks not yet done
        self._inflight: set[str] = set()
        self._near_checked = float("-inf")
        self._tasks = 0  # asyncio tasks at the last housekeeping, for the status file
        # `tracker run --discover` (tracker.app.universe): accounts added by `track`, each one
        # refresh of weight 2, and more sections for the status file
        self._state_only: set[str] = set()
        self._full_cost = self.scheduler.cost_weight
        self.status_extra: dict[str, Callable[[], Any]] = {}

    def view(self) -> BookView:
        """The book, read-only, for the dashboard (tracker.web.live): nothing copied per call."""
        return BookView(self.book)

    async def run(self, stop: asyncio.Event) -> LiveStats:
        """Refresh everything once, subscribe, then stream and refresh until stop is set.

        Raises, as itself, the first error no task of the engine handled (see the module
        docstring); the engine's other tasks are cancelled first.
        """
        dexes = await self.poller.dex_names()
        self._full_cost = 2 * len(dexes) + 2
        self._set_cost()
        await self._warm(dexes)
        for dex in dexes:
            self.stream.subscribe_mids(dex)
        self._follow_market(dexes)
        self._follow_coins()
        self._follow_users()
        try:
            with heap.long_lived_frozen():
                await self._run_tasks(stop)
        except BaseExceptionGroup as failed:
            raise _first_error(failed) from None
        finally:
            self._group = None
        await self.outbox.flush()  # position changes applied but not yet stored
        return self.stats

    async def _run_tasks(self, stop: asyncio.Event) -> None:
        """The engine's tasks in one group until stop is set (see `run`)."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            self._spawn(self._consume(), "live-stream")
            self._spawn(self._refresher(), "live-refresher")
            self._spawn(self._housekeeping(), "live-housekeeping")
            if self.liquidations is not None:  # issue 15: the confirm loop
                self._spawn(self.liquidations.run(stop), "live-liquidations")
            await stop.wait()
            for task in list(self._children):  # passes in flight too: nothing half-written
                task.cancel()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Start a task in the engine's group: its error stops the engine, never vanishes."""
        if self._group is None:
            coro.close()
            raise RuntimeError("the live engine is not running")
        task = self._group.create_task(coro, name=name)
        self._children.add(task)
        task.add_done_callback(self._children.discard)
        return task

    async def _warm(self, dexes: Sequence[str]) -> None:
        """Load what the store holds into the book; never-stored accounts are due at once."""
        from tracker.app.live.warm import stored_accounts

        metas, _ = await self.poller.market_meta(dexes, datetime.now(UTC))
        stored = await asyncio.to_thread(stored_accounts, self.db, self.addresses)
        now_wall, now = datetime.now(UTC), time.monotonic()
        for account, ts in stored:
            self.book.upsert(account, metas.get(account.dex))
            self.scheduler.refreshed([account.address], now - (now_wall - ts).total_seconds())
        log.info(
            "live book warmed with %d stored accounts of %d watched",
            len(stored),
            len(self.addresses),
        )
        self._wake.set()

    # -- accounts added and dropped while running (`tracker run --discover`) ---------------

    async def track(self, added: Mapping[str, float], removed: Collection[str]) -> None:
        """Follow the added accounts (state only, weight 2) and drop the removed ones.

        Never-refreshed accounts are swept largest first (added maps each to its account value);
        those the store holds are warmed as at start-up, so a restarted sweep goes on with the
        accounts it has not seen yet.
        """
        from tracker.app.live.warm import stored_accounts

        new = [a for a in added if a not in self.scheduler.accounts]
        stored = await asyncio.to_thread(stored_accounts, self.db, new)
        # No await from here on: the refresher sees the new accounts only once they are warmed.
        gone = set(removed)
        for key in self.book.account_keys():
            if key.address in gone:
                self.book.remove(key.address, key.dex)
        for address in gone:
            self.scheduler.accounts.pop(address, None)
            self._traded_at.pop(address, None)
        self.addresses = [a for a in self.addresses if a not in gone] + new
        self._state_only = (self._state_only - gone) | set(new)
        self.scheduler.watch(new)
        self.scheduler.set_risk({a: (None, added[a]) for a in new})
        self._set_cost()
        now_wall, now = datetime.now(UTC), time.monotonic()
        for account, ts in stored:
            self.book.upsert(account, self.poller.meta_for(account.dex))
            self.scheduler.refreshed([account.address], now - (now_wall - ts).total_seconds())
        self._wake.set()

    def _set_cost(self) -> None:
        """The scheduler's weight per refresh: the mean over the accounts it follows."""
        total = len(self.scheduler.accounts)
        lite = len(self._state_only)
        full = total - lite
        self.scheduler.cost_weight = (
            (full * self._full_cost + lite * 2) / total if total else self._full_cost
        )

    # -- the stream ------------------------------------------------------------------------

    async def _consume(self) -> None:
        trades: list[Trade] = []  # read together while more wait: applied as one lot
        async for event in self.stream:
            self.stats.last_message_at = time.monotonic()
            if isinstance(event, Trade):
                trades.append(event)
                if len(trades) < TRADE_LOT and self.stream.backlog():
                    continue
                self._on_trades(trades)
                trades = []
                continue
            if trades:  # anything else is handled after the trades read before it
                self._on_trades(trades)
                trades = []
            if isinstance(event, MidsUpdate):
                self._on_mids(event)
            elif (isinstance(event, UserFills) and not event.snapshot) or isinstance(
                event, UserLiquidation
            ):
                self._due(event.user)
            elif isinstance(event, UserFills):
                if self.liquidations is not None:  # a confirmation's read (fill_snapshots)
                    self.liquidations.snapshots.on_snapshot(event)
            elif isinstance(event, StreamStatus):
                self.stats.stream_state, self.stats.reconnects = event.state, event.reconnects
                if self.liquidations is not None:
                    self.liquidations.snapshots.on_stream(event.state)
                if event.state == "connected" and event.reconnects:
                    for user in self._users:  # backfill what the gap may have hidden
                        self._due(user)

    def _on_trades(self, trades: list[Trade]) -> None:
        """Move the tracked parties' positions now; refresh them exactly, by priority."""
        self.stats.trades_seen += len(trades)
        changes = self.tape.apply_many(trades)
        if changes:
            self.stats.tape_changes += len(changes)
            self.outbox.publish(changes, [])
            # one sample per trade that moved a tracked position (a trade's sides share its ref)
            moved = {c.ref: c.ts for c in changes}
            self._unsettled.extend(ts.timestamp() * 1000 for ts in moved.values())
            if self._settle_task is None or self._settle_task.done():
                self._settle_task = self._spawn(self._settle(), "live-tape-settle")
        if self.liquidations is not None:  # issue 15: candidates from the tape
            self.liquidations.on_trades(trades)
        due, accounts = self._due, self.scheduler.accounts
        for trade in trades:
            builder = ":" in trade.coin
            for user in (trade.buyer, trade.seller):
                if user:
                    if builder and user in accounts:
                        # issue 14: a universe account's builder dex is read once it trades there
                        self.poller.saw_trading(user, dex_of(trade.coin))
                    due(user)

    async def _settle(self) -> None:
        """Liquidation prices, distances and shock of the accounts the tape moved, once for every
        trade read meanwhile, at most every SETTLE_GAP_S: a recompute costs what the tape moved
        since the last, and a busy tape is read a hundred times a second."""
        wait = self._settled_at + SETTLE_GAP_S - time.monotonic()
        await asyncio.sleep(max(wait, 0.0))
        self._settled_at = time.monotonic()
        times, self._unsettled = self._unsettled, []
        self.book.settle()
        done = time.time() * 1000
        self.stats.trade_to_book_ms.extend(done - t for t in times)

    def _due(self, address: str) -> None:
        if self.scheduler.saw_trade(address, time.monotonic()):
            self._traded_at.setdefault(address, time.monotonic())
            self._wake.set()

    def _on_mids(self, event: MidsUpdate) -> None:
        """Queue a mids message; when messages arrive faster than the book re-marks, only the
        latest per dex is applied (each allMids carries every mark), and every message is timed
        from its receipt to the re-mark that covers it."""
        self.tape.on_mids(event.dex, event.mids)
        pending = self._pending_mids.setdefault(event.dex, [])
        pending.append(event)
        if self._apply_task is None or self._apply_task.done():
            self._apply_task = self._spawn(self._apply_mids(), "live-marks")

    async def _apply_mids(self) -> None:
        # let the messages that come together arrive first; at most one re-mark every MARK_GAP_S
        wait = self._marked_at + MARK_GAP_S - time.monotonic()
        await asyncio.sleep(max(wait, MARK_GATHER_S))
        self._marked_at = time.monotonic()
        batches, self._pending_mids = self._pending_mids, {}
        touched = 0
        for dex, events in batches.items():
            merged: dict[str, Any] = {}
            for event in events:
                merged.update(event.mids)
            update = self.book.apply_marks(merged, dex, ts=events[-1].ts)
            # a mark of a coin held, moved or not (the book re-marks only what moved), or
            # positions the tape moved since the last recompute: the scan may find a crossing
            touched += update.coins + update.positions
        done = time.time()
        for events in batches.values():
            self.stats.mark_updates += len(events)
            self.stats.mark_to_risk_ms.extend((done - e.ts.timestamp()) * 1000 for e in events)
        every = BEHIND_NEAR_CHECK_INTERVAL_S if self.stream.backlog() else NEAR_CHECK_INTERVAL_S
        if touched and time.monotonic() - self._near_checked >= every:
            self._near_checked = time.monotonic()
            if self.liquidations is not None:  # issue 15: positions past their liquidation price
                self.liquidations.on_book(self.book)
            # one batch of near alerts stored at a time: crossings found meanwhile wait for the
            # next scan, so a book full of near positions never queues writes behind each other
            if self._near_task is None or self._near_task.done():
                self._check_near()

    def _check_near(self) -> None:
        """Near-liquidation alerts from the mark path, for new crossings only.

        Each (position or account, level) is looked at once while it stays below that level;
        whether it alerts is the store's armed state (shared with the REST pass) to decide. The
        scan compares keys in arrays (`LiveBook.near_scan`): a book with thousands of positions
        near liquidation costs Python work only for the crossings that are new.
        """
        scan = self.book.near_scan([float(v) for v in self.alerting.near_levels_pct])
        new = np.flatnonzero(~np.isin(scan.keys, self._near_seen))
        # A burst (a cold start on a book full of near positions) is spread over scans, the
        # tightest levels first, so the loop keeps serving marks and trades meanwhile.
        new = new[np.argsort(scan.level[new], kind="stable")]
        owners = self.book.addresses(scan.slots[new])
        chosen = set(owners[:MAX_NEAR_KEYS_PER_SCAN])
        handled = new[np.fromiter((o in chosen for o in owners), dtype=bool, count=len(owners))]
        # recovered ones drop out and may alert again on a new dip; the rest wait their turn
        seen = np.ones(len(scan.keys), dtype=bool)
        seen[new] = False
        seen[handled] = True
        self._near_seen = scan.keys[seen]
        if not len(handled):
            return
        addresses = sorted(chosen)
        reports = [
            AccountReport(
                address=a, ts=datetime.now(UTC), accounts=tuple(self.book.snapshots(a)), spot=()
            )
            for a in addresses
        ]
        self._near_task = self._spawn(self._alert_near(reports), "live-near-alerts")

    async def _alert_near(self, reports: list[AccountReport]) -> None:
        ts = datetime.now(UTC)

        def store_alerts() -> int:
            with open_store(self.db) as store, store.transaction():
                near = rules.near_liquidation(
                    reports,
                    alert_store.read_armed(store, [r.address for r in reports]),
                    self.alerting.near_levels_pct,
                    self.alerting.labels,
                    ts,
                )
                # only arm from the mark path; forgetting is left to the REST pass, which sees
                # every position of an account and not just those near liquidation
                armed = {k: v for k, v in near.state.items() if v is not None}
                new = alert_store.insert_alerts(store, near.alerts)
                alert_store.write_armed(store, armed)
                return len(new)

        def write() -> int:
            try:
                return store_alerts()
            except duckdb.Error as exc:
                first = str(exc).splitlines()[0]
                raise StoreError(f"writing near-liquidation alerts to {self.db}: {first}") from exc

        try:
            new = await asyncio.to_thread(write)
        except BadInput:
            raise  # the store is not a database: stop, as a refresh pass does
        except TrackerError as exc:  # the store was busy or failing: the mark path goes on
            log.warning("near-liquidation alerts not stored (retried on the next mark): %s", exc)
            self.stats.failed_alert_writes += 1
            self._near_seen = np.empty(0, dtype=np.int64)  # look again on the next mark update
            return
        self.stats.alerts_from_marks += new
        if new and self.sinks:
            try:
                await dispatch(self.db, self.sinks, timeout_s=self.poller.client.policy.timeout_s)
            except BadInput:
                raise
            except TrackerError as exc:  # stored, so the next dispatch delivers them
                log.warning("near-liquidation alerts stored, delivery deferred: %s", exc)
                self.stats.failed_alert_writes += 1

    # -- REST refreshes --------------------------------------------------------------------

    async def _refresher(self) -> None:
        """Start refresh passes as the scheduler says: accounts seen trading in a pass of their
        own at once, the risk-ordered sweep one pass at a time beside them, nothing twice."""
        limiter = self.poller.client.limiter
        sweep: asyncio.Task[None] | None = None
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation that
            # lands as the event is set, and the engine could then never stop under many trades
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await self._wake.wait()
            self._wake.clear()
            available = (
                limiter.per_minute - limiter.used_in_window() if limiter.per_minute > 0 else 1e12
            )
            if available < self.scheduler.cost_weight:
                # nothing affordable: skip the scan of every account (~16 ms at 50,000), which
                # a busy tape would otherwise run every REFRESHER_PACE_S on a full budget
                await asyncio.sleep(REFRESHER_PACE_S)
                continue
            batch = [
                a
                for a in self.scheduler.next_batch(time.monotonic(), available)
                if a not in self._inflight
            ]
            urgent = [a for a in batch if a in self._traded_at]
            if urgent:
                self._spawn(self._refresh(urgent, urgent=True), "live-refresh-traded")
            rest = [a for a in batch if a not in self._traded_at]
            if rest and (sweep is None or sweep.done()):
                sweep = self._spawn(self._refresh(rest), "live-refresh-sweep")
            # Under a busy tape every trade wakes this loop, and each batch is a scan of every
            # account (~16 ms at 50,000); the budget refreshes a few accounts a second, so a
            # batch every REFRESHER_PACE_S loses nothing and leaves the loop to the tape.
            await asyncio.sleep(REFRESHER_PACE_S)

    async def _refresh(self, addresses: Sequence[str], *, urgent: bool = False) -> None:
        if urgent:  # this task's requests skip the limiter's queue (tracker.net.limiter)
            URGENT.set(True)
        started = time.monotonic()
        self._inflight.update(addresses)
        self.scheduler.refreshing(addresses, started)
        tokens = self.tape.tokens(addresses)  # trades applied before the request goes out
        try:
            report = await self.run_pass(addresses)
        except BadInput:
            raise  # the store is not a database, or the like: stop the engine, do not retry
        except TrackerError as exc:  # the store was busy: these accounts stay due
            log.warning("refresh of %d accounts failed: %s", len(addresses), exc)
            self.stats.failed_passes += 1
            self.scheduler.abandoned(addresses)
            return
        finally:
            self._inflight.difference_update(addresses)
        done = time.monotonic()
        failed = set(report.failed)
        ok = [a for a in addresses if a not in failed]
        self.scheduler.refreshed(ok, started)
        changes: list[PositionChange] = []
        drift: list[TapeDrift] = []
        for r in report.reports:
            for account in r.venue_accounts:
                # the venue's state, with the trades applied that it does not cover replayed
                verdict = self.tape.reconcile(account, tokens.get(account.address, 0), report.ts)
                changes.extend(verdict.changes)
                drift.extend(verdict.drift)
                self.book.upsert(verdict.account, self.poller.meta_for(account.dex))
        if changes or drift:
            self.outbox.publish(changes, drift)
        for address in ok:
            traded = self._traded_at.pop(address, None)
            if traded is not None:
                self.stats.trade_to_refresh_s.append(done - traded)
            again = self.scheduler.pending_trade(address)  # traded while this refresh was out
            if again is not None:
                self._traded_at[address] = again
                self._wake.set()
        self.stats.refreshes += len(ok)
        self.stats.passes += 1
        if self.on_pass is not None:
            self.on_pass(report)
        self._follow_coins()

    # -- subscriptions, risk and status ----------------------------------------------------

    def _follow_market(self, dexes: Sequence[str]) -> None:
        """Trades of every perp coin of every dex (those held first, then the main dex's), within
        the subscriptions the venue allows one IP less those kept for per-user feeds."""
        room = MAX_SUBSCRIPTIONS - len(self.stream.subscriptions) - 2 * MAX_USERS  # 2 feeds each
        held = self.book.held_coins()
        coins: list[tuple[str, str]] = sorted(held)  # first: never crowded out
        for dex in dexes:
            meta = self.poller.meta_for(dex)
            markets = meta.markets if meta is not None else {}
            coins.extend((dex, coin) for coin in markets if (dex, coin) not in held)
        for dex, coin in coins[: max(room, 0)]:
            if (dex, coin) not in self._coins:
                self.stream.subscribe_trades(coin)
                self._coins.add((dex, coin))
        if len(coins) > room:
            log.warning(
                "trades of %d coins not followed: the venue allows %d subscriptions per IP",
                len(coins) - max(room, 0),
                MAX_SUBSCRIPTIONS,
            )

    def _follow_coins(self) -> None:
        """Trades of every coin a watched account holds (each trade names its users)."""
        held = self.book.held_coins()
        for dex, coin in sorted(held - self._coins):
            self.stream.subscribe_trades(coin)
            self._coins.add((dex, coin))

    def _follow_users(self) -> None:
        """Per-user fills and events for the riskiest accounts: at most 10 per IP, less the
        slots the liquidation watch keeps for its reads; an account it is reading right now
        is taken at the next call."""
        limit = MAX_USERS - (self.liquidations.ws_users if self.liquidations is not None else 0)
        wanted = set(self.book.riskiest_addresses(limit))
        for user in self._users - wanted:
            self.stream.unsubscribe_user(user)
        kept = self._users & wanted
        held_elsewhere = self.stream.users - self._users
        for user in sorted(wanted - self._users - held_elsewhere):
            self.stream.subscribe_user(user)
            kept.add(user)
        self._users = kept

    async def _housekeeping(self) -> None:
        trimmed = ranked = time.monotonic()
        while True:
            await asyncio.sleep(2.0)
            if time.monotonic() - trimmed >= HEAP_TRIM_INTERVAL_S:
                trimmed = time.monotonic()
                took = await asyncio.to_thread(heap.trim)
                if took is not None:
                    self.stats.heap_trims += 1
                    self.stats.heap_trim_ms_max = max(self.stats.heap_trim_ms_max, took * 1000)
            # each step is tens of ms at 50,000 accounts: marks and trades get the loop between,
            # and while a burst is worked off the risk order waits (for at most 10 s)
            if not self.stream.backlog() or time.monotonic() - ranked >= RANK_WAIT_S:
                ranked = time.monotonic()
                self.scheduler.set_risk(self.book.account_risk())
                await asyncio.sleep(0)
                self._follow_users()
            await asyncio.sleep(0)
            self._tasks = len(asyncio.all_tasks())
            # Built here on the loop (it reads the limiter and the stats the loop changes), only
            # the file is written from a thread.
            doc = self.status()
            try:
                await asyncio.to_thread(write_status, status_path(self.db), doc)
            except OSError as exc:
                log.warning("status file not written: %s", exc)

    def status(self) -> dict[str, Any]:
        """Budget use, stream health and staleness, for `tracker status`."""
        limiter = self.poller.client.limiter
        now = time.monotonic()
        stalest = self.scheduler.stalest(now, 10)
        last = self.stats.last_message_at
        return {
            "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "pid": os.getpid(),
            "mode": "live",
            "budget": {
                "per_min": limiter.per_minute,
                "used_last_min": limiter.used_in_window(),
                "max_in_any_min": limiter.max_in_window,
                "total": limiter.total_weight,
                "by_type": dict(self.poller.client.weight_by_type),
            },
            "stream": {
                "state": self.stats.stream_state,
                "reconnects": self.stats.reconnects,
                "last_message_s_ago": None if last is None else round(now - last, 3),
                "users_followed": sorted(self._users),
                "coins": len(self._coins),
            },
            "tape": {
                "trades_applied": self.tape.applied,
                "trades_of_unknown_accounts": self.tape.unknown,
                "position_changes": self.stats.tape_changes,
                "trades_replayed_on_refreshes": self.tape.replayed,
                "trades_already_in_refreshes": self.tape.covered_skips,
                "trades_on_columns": self.book.moves,
                "records_rebuilt_from_columns": self.book.folds,
                "trade_to_book_p99_ms": self.stats.percentile("trade_to_book_ms", 0.99),
                "failed_writes": self.outbox.failed_writes,
            },
            "accounts": len(self.addresses),
            "tasks": self._tasks,
            "stalest": [
                {"address": a, "staleness_s": None if s == float("inf") else round(s, 1)}
                for a, s in stalest
            ],
            "staleness_p50_s": _p(self.scheduler.staleness(now).values(), 0.5),
            "mark_to_risk_p99_ms": self.stats.percentile("mark_to_risk_ms", 0.99),
            "trade_to_refresh_p99_s": self.stats.percentile("trade_to_refresh_s", 0.99),
            "mark_updates": self.stats.mark_updates,
            "trades_seen": self.stats.trades_seen,
            "refreshes": self.stats.refreshes,
            "alerts_from_marks": self.stats.alerts_from_marks,
            "failed_passes": self.stats.failed_passes,
            "failed_alert_writes": self.stats.failed_alert_writes,
            "liquidations": None if self.liquidations is None else self.liquidations.status(),
            "heap": {
                **(heap.usage() or {}),
                "trims": self.stats.heap_trims,
                "trim_ms_max": round(self.stats.heap_trim_ms_max, 2),
            },
            **(self.loop_lag.summary() if self.loop_lag is not None else {}),
            **{name: section() for name, section in self.status_extra.items()},
        }


def write_status(path: Path, doc: dict[str, Any]) -> None:
    """Replace the status file with doc at once (readers never see half a file)."""
    write_atomic(path, orjson.dumps(doc, option=orjson.OPT_INDENT_2))


def _first_error(failed: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first error of a task group (nested groups flattened); the others are logged."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(failed)
    for other in leaves[1:]:
        log.error("live mode: a further task failed: %r", other)
    return leaves[0]


def _p(values: Iterable[float], q: float) -> float | None:
    value = percentile((v for v in values if v != float("inf")), q)
    return None if value is None else round(value, 1)
