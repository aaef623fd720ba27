"""`tracker run --discover USD`: every leaderboard account worth USD or more, tracked beside the
watchlists.

The leaderboard is read at start and every `TRACKER_DISCOVER_INTERVAL` seconds (a failed read is
logged and retried within a minute); each read is stored in `leaderboard` and the accounts that
pass become the `universe` table. Watchlist accounts are never part of it: they keep their labels,
history and every dex. A universe account gets, for weight 2 a refresh (one `clearinghouseState`
on the main dex; no spot balances, no fills, funding or ledger, which at 50,000 accounts would
cost more than the venue's 1,200 weight a minute allows; a builder dex only once the live tape
shows the account trading there, `HyperliquidPoller.saw_trading`):
its positions and their risk, near-liquidation alerts, and the history of its position changes
in `positions` (stored when they change, tracker.app.changes). Its label is its leaderboard
display name (a stranger's text, kept as plain data), else none.

Accounts never seen are swept first, the largest account value first; an account is seen once a
state of it is stored, so a restart goes on with those not yet seen. Afterwards each account is
refreshed by staleness (and in live mode by risk and trades) within the budget. In live mode the
engine does this (`LiveEngine.track`); in polling mode `sweep` does, with the live mode's
scheduler and a share of the budget left to the watchlists.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tracker.app.daemon import finished_unless_stopped
from tracker.config import Settings
from tracker.errors import BadInput, TrackerError, VenueError
from tracker.records.leaderboard import Leaderboard
from tracker.times import wait_set

if TYPE_CHECKING:
    import aiohttp

    from tracker.app.runner import Runner
    from tracker.app.snapshot_pass import PassReport
    from tracker.net.limiter import WeightLimiter

log = logging.getLogger(__name__)

STATE_WEIGHT = 2  # one clearinghouseState on the main dex
RETRY_S = 60.0  # a failed leaderboard read is tried again this soon (or at the interval)
SWEEP_BATCH = 200  # accounts per polling-mode pass: stored as they are swept

# added accounts with their account value (sweep priority), removed accounts
OnChange = Callable[[Mapping[str, float], frozenset[str]], Awaitable[None]]


@dataclass(slots=True)
class Universe:
    """The leaderboard accounts tracked now, their labels, and which were seen."""

    min_account_value_usd: Decimal
    interval_s: float
    watched: frozenset[str]  # watchlist addresses: tracked as they are, never here
    values: dict[str, Decimal] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    read_at: datetime | None = None
    reads: int = 0
    failed_reads: int = 0

    def __contains__(self, address: object) -> bool:
        return address in self.values

    def apply(self, board: Leaderboard) -> tuple[dict[str, Decimal], frozenset[str]]:
        """Take one read: the accounts added (with their value) and those no longer in."""
        now = {
            r.address: r
            for r in board.rows
            if r.account_value_usd >= self.min_account_value_usd and r.address not in self.watched
        }
        added = {a: r.account_value_usd for a, r in now.items() if a not in self.values}
        removed = frozenset(a for a in self.values if a not in now)
        self.values = {a: r.account_value_usd for a, r in now.items()}
        self.labels.clear()
        for address, row in now.items():
            name = (row.display_name or "").strip()
            if name:
                self.labels[address] = name
        self.seen &= self.values.keys()
        self.read_at, self.reads = board.ts, self.reads + 1
        return added, removed

    def progress(self) -> dict[str, Any]:
        """The sweep's progress, for the pass lines and the status file."""
        return {
            "accounts": len(self.values),
            "seen": len(self.seen),
            "to_sweep": len(self.values) - len(self.seen),
            "min_account_value_usd": str(self.min_account_value_usd),
            "read_at": None if self.read_at is None else self.read_at.isoformat(),
            "reads": self.reads,
            "failed_reads": self.failed_reads,
        }


def _store_read(settings: Settings, universe: Universe, board: Leaderboard) -> dict[str, datetime]:
    """Store the read and the universe; when each universe account was last stored."""
    from tracker.store import open_store
    from tracker.store.leaderboard import write_leaderboard
    from tracker.store.universe import Member, last_stored, replace_universe

    members = [
        Member(
            address=r.address,
            account_value_usd=r.account_value_usd,
            display_name=r.display_name,
            min_account_value_usd=universe.min_account_value_usd,
            ts=board.ts,
        )
        for r in board.rows
        if r.address in universe
    ]
    with open_store(settings.db_path) as store:
        write_leaderboard(store, board)
        replace_universe(store, members)
        return last_stored(store, list(universe.values))


async def read_once(
    session: aiohttp.ClientSession, settings: Settings, universe: Universe
) -> tuple[dict[str, Decimal], frozenset[str], dict[str, datetime]]:
    """Read the leaderboard into the universe: added, removed, and when each was last stored."""
    from tracker.net.http import RetryPolicy
    from tracker.sources.hyperliquid.leaderboard import fetch_leaderboard, parse_leaderboard

    policy = RetryPolicy(retries=settings.http_retries, timeout_s=settings.http_timeout_s)
    body = await fetch_leaderboard(session, settings.hl_stats_url, policy=policy)
    # 25-35 MB: parsed off the loop, so marks and trades keep flowing meanwhile
    board = await asyncio.to_thread(parse_leaderboard, body, datetime.now(UTC))
    del body
    added, removed = universe.apply(board)
    stored = await asyncio.to_thread(_store_read, settings, universe, board)
    universe.seen |= stored.keys()
    log.info(
        "leaderboard read: %d accounts at or above $%s (%d new, %d gone), %d seen",
        len(universe.values),
        universe.min_account_value_usd,
        len(added),
        len(removed),
        len(universe.seen),
    )
    return added, removed, stored


async def follow(
    session: aiohttp.ClientSession,
    settings: Settings,
    universe: Universe,
    stop: asyncio.Event,
    on_change: OnChange,
) -> None:
    """Read the leaderboard now and every interval until stop; hand each change to on_change."""
    while not stop.is_set():
        wait = universe.interval_s
        try:
            added, removed, _ = await read_once(session, settings, universe)
        except BadInput:
            raise
        except (VenueError, TrackerError) as exc:
            universe.failed_reads += 1
            wait = min(universe.interval_s, RETRY_S)
            log.warning("leaderboard not read (again in %.0f s): %s", wait, exc)
        else:
            if added or removed:
                await on_change({a: float(v) for a, v in added.items()}, removed)
        await wait_set(stop, wait)


class PollingSweep:
    """Polling mode's refreshes of the universe: never-seen first (largest first), then stalest.

    Passes of at most SWEEP_BATCH accounts, each stored as it ends; the live mode's scheduler
    picks them within the budget, leaving its reserve to the watchlists' passes.
    """

    def __init__(
        self, runner: Runner, universe: Universe, limiter: WeightLimiter, interval_s: float
    ) -> None:
        from tracker.app.live.scheduler import RefreshScheduler, SchedulerConfig

        self.runner, self.universe, self.limiter = runner, universe, limiter
        self.scheduler = RefreshScheduler(
            cost_weight=STATE_WEIGHT,
            budget_per_min=limiter.per_minute,
            config=SchedulerConfig(max_staleness_s=interval_s),
        )
        self.keep_s = interval_s
        self.passes = 0
        self.failed_passes = 0

    async def change(self, added: Mapping[str, float], removed: frozenset[str]) -> None:
        """Follow the added accounts (those stored before as refreshed then), drop the removed."""
        from tracker.store import open_store
        from tracker.store.universe import last_stored

        def read() -> dict[str, datetime]:
            with open_store(self.runner.db) as store:
                return last_stored(store, list(added))

        stored = await asyncio.to_thread(read)
        # No await from here on: the sweep sees the new accounts only once they are warmed.
        for address in removed:
            self.scheduler.accounts.pop(address, None)
        self.scheduler.watch(added)
        self.scheduler.set_risk({a: (None, v) for a, v in added.items()})  # largest first
        wall, mono = datetime.now(UTC), time.monotonic()
        for address, ts in stored.items():
            self.scheduler.refreshed([address], mono - (wall - ts).total_seconds())

    async def run(self, stop: asyncio.Event, on_pass: Callable[[PassReport], None]) -> None:
        """Refresh passes until stop; a pass in flight when stop comes is dropped unwritten."""
        while not stop.is_set():
            per_min = self.limiter.per_minute
            available = per_min - self.limiter.used_in_window() if per_min > 0 else 1e12
            now = time.monotonic()
            batch = self.scheduler.next_batch(now, available, limit=SWEEP_BATCH)
            if not batch:
                await wait_set(stop, 0.5)
                continue
            self.scheduler.refreshing(batch, now)
            task = asyncio.create_task(self.runner.refresh(batch, self.keep_s))
            if not await finished_unless_stopped(task, stop):
                return
            try:
                report = task.result()
            except BadInput:
                raise
            except TrackerError as exc:  # the store was busy: these accounts stay due
                log.error("universe pass failed: %s", exc)
                self.failed_passes += 1
                self.scheduler.abandoned(batch)
                continue
            self.scheduler.refreshed([a for a in batch if a not in report.failed], now)
            self.passes += 1
            on_pass(report)
