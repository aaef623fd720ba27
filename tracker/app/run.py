"""`tracker snapshot` and `tracker run`: the library calls behind the commands.

`snapshot` is one pass over the watched addresses; `run` tracks until SIGINT/SIGTERM, in live mode
(the WebSocket engine, REST on demand) or plain polling (the daemon's schedules), and hands every
pass to the CLI's `on_pass`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tracker.app.daemon import DaemonStats, LoopLag, Schedule, build_schedules, run_daemon
from tracker.app.ethereum_pass import ethereum_link
from tracker.app.poller import HyperliquidPoller
from tracker.app.runner import Runner, Watched, hyperliquid_poller, pass_runner
from tracker.app.snapshot_pass import PassReport, Progress
from tracker.config import Settings
from tracker.errors import TrackerError
from tracker.store.db import kept_open, open_store

if TYPE_CHECKING:  # run's universe and dashboard are imported when asked for, not by snapshot
    from tracker.app.serving import Dashboard, Listen
    from tracker.app.universe import Universe
    from tracker.records.events import PositionChange

OnPass = Callable[[PassReport], None]


def check_store(settings: Settings) -> None:
    """Open (create, migrate) the store before any network I/O: a bad --db fails at once."""
    with open_store(settings.db_path):
        pass


def store_checked(settings: Settings) -> contextlib.AbstractContextManager[None]:
    """check_store for a one-shot pass: the store stays open for the pass to take over."""
    return kept_open(settings.db_path)


async def snapshot(
    settings: Settings, watched: Watched, *, force_history: bool, progress: Progress | None
) -> PassReport:
    """One pass over every watched address: state on every dex, positions, markets, history."""
    async with hyperliquid_poller(settings) as poller, ethereum_link(settings) as ethereum:
        run_pass = await pass_runner(
            poller,
            settings,
            watched,
            command="snapshot",
            force_history=force_history,
            progress=progress,
            ethereum=ethereum,
        )
        return await run_pass(list(watched.intervals))


def dump_tasks() -> None:
    """SIGUSR1: every asyncio task and the chain of awaits it waits in, on stderr."""
    out = [f"tracker: {len(asyncio.all_tasks())} tasks"]
    for task in asyncio.all_tasks():
        out.append(f"task {task.get_name()}:")
        coro: Any = task.get_coro()
        while coro is not None:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is not None:
                code = frame.f_code
                out.append(f"  {code.co_filename}:{frame.f_lineno} {code.co_name}")
            coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    sys.stderr.write("\n".join(out) + "\n")
    sys.stderr.flush()


async def run(
    settings: Settings,
    watched: Watched,
    *,
    interval: float,
    live: bool,
    lag: LoopLag | None,
    on_pass: OnPass,
    progress: Progress | None,
    discover: Decimal | None = None,
    serve: Listen | None = None,
) -> Any:
    """Track until SIGINT/SIGTERM; the daemon's or the live engine's stats when stopped.

    With discover (USD), the leaderboard accounts worth that much are tracked too
    (tracker.app.universe). Live mode stores an unchanged account once per interval, polling
    mode's universe passes likewise; the watchlists' polling passes store every account.
    With serve, the dashboard listens there until the daemon stops (tracker.app.serving).
    """
    from tracker.app.serving import serving
    from tracker.app.universe import Universe

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, dump_tasks)

    async with contextlib.AsyncExitStack() as stack:
        if lag is not None:
            await stack.enter_async_context(lag.running())
        dashboard = None
        if serve is not None:
            dashboard = await stack.enter_async_context(serving(settings, serve, on_pass))
            on_pass = dashboard.on_pass
        poller = await stack.enter_async_context(hyperliquid_poller(settings))
        ethereum = await stack.enter_async_context(ethereum_link(settings))
        universe = (
            None
            if discover is None
            else Universe(
                min_account_value_usd=discover,
                interval_s=settings.discover_interval_s,
                watched=frozenset(watched.addresses),
            )
        )
        runner = await pass_runner(
            poller,
            settings,
            watched,
            command="run",
            progress=progress,
            ethereum=ethereum,
            universe=universe,
            keep_s=interval if live else None,
        )
        if not live or not (watched.addresses or universe):
            schedules = build_schedules(watched.intervals, interval)
            if universe is None:
                stats: DaemonStats = await run_daemon(runner, schedules, stop, on_pass=on_pass)
                return stats
            return await _poll_with_universe(
                runner, schedules, universe, poller, settings, stop, interval, on_pass
            )
        return await _live(
            runner, poller, settings, watched, universe, stop, interval, lag, on_pass, dashboard
        )


async def _live(
    runner: Runner,
    poller: HyperliquidPoller,
    settings: Settings,
    watched: Watched,
    universe: Universe | None,
    stop: asyncio.Event,
    interval: float,
    lag: LoopLag | None,
    on_pass: OnPass,
    dashboard: Dashboard | None = None,
) -> Any:
    """Live mode: the WebSocket engine, the liquidation watch on the tape, the universe's
    leaderboard follower, and the plain schedule of Ethereum-only entries; its stats at stop.
    With a dashboard, its pages follow the engine's book (tracker.web.live)."""
    from tracker.app.liquidation_watch import LiquidationWatch
    from tracker.app.live.engine import LiveEngine
    from tracker.app.live.scheduler import SchedulerConfig
    from tracker.app.universe import follow
    from tracker.sources.hyperliquid.stream import HyperliquidStream

    eth_only = {
        a: watched.intervals[a] for a in watched.eth_addresses if a not in set(watched.addresses)
    }
    watch = LiquidationWatch(
        client=poller.client,
        db=settings.db_path,
        alerting=runner.context,
        sinks=runner.sinks,
        candidate_usd=settings.liquidation_candidate_usd,
        weight_per_min=settings.liquidation_confirm_weight_per_min,
        ws_users=settings.liquidation_confirm_ws_users,
    )

    def on_live_pass(report: PassReport) -> None:
        dropped = watch.stats.dropped_for_budget
        on_pass(replace(report, liquidation_candidates_dropped=dropped))

    # position changes to the move alerts and, once it follows the book, the dashboard
    hooks: list[Callable[[list[PositionChange]], Awaitable[None]]] = []
    if runner.moves:  # whale moves from the tape alert within a second (alerts/move_engine.py)
        hooks.append(runner.moves.on_position_changes)

    async def on_position_changes(changes: list[PositionChange]) -> None:
        for hook in hooks:
            await hook(changes)

    async with (
        HyperliquidStream(poller.client.session, settings.hl_ws_url) as stream,
        contextlib.AsyncExitStack() as stack,
    ):
        engine = LiveEngine(
            poller=poller,
            stream=stream,
            run_pass=runner,
            addresses=watched.addresses,
            db=settings.db_path,
            alerting=runner.context,
            sinks=runner.sinks,
            on_pass=on_live_pass,
            config=SchedulerConfig(max_staleness_s=max(interval, 1.0)),
            loop_lag=lag,
            on_position_changes=on_position_changes if runner.moves or dashboard else None,
            liquidations=watch,
        )
        if dashboard is not None:
            feed = await stack.enter_async_context(dashboard.live(engine.view()))
            hooks.insert(0, feed.on_position_changes)  # to the pages first: it only queues
        if universe is not None:
            engine.status_extra["universe"] = universe.progress
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(engine.run(stop))
                if universe is not None:
                    group.create_task(
                        follow(poller.client.session, settings, universe, stop, engine.track)
                    )
                if eth_only:  # Ethereum-only entries keep their plain schedule
                    schedules = build_schedules(eth_only, interval)
                    group.create_task(run_daemon(runner, schedules, stop, on_pass=on_pass))
        except* TrackerError as failed:  # one line and its exit code, not a group traceback
            raise failed.exceptions[0] from None
    return engine.stats


async def _poll_with_universe(
    runner: Runner,
    schedules: list[Schedule],
    universe: Universe,
    poller: HyperliquidPoller,
    settings: Settings,
    stop: asyncio.Event,
    interval: float,
    on_pass: OnPass,
) -> DaemonStats:
    """Polling mode with a universe: the watchlists' schedules beside the universe's sweep."""
    from tracker.app.universe import PollingSweep, follow

    sweep = PollingSweep(runner, universe, poller.client.limiter, interval)
    stats = DaemonStats()
    try:
        async with asyncio.TaskGroup() as group:
            if schedules:
                daemon = group.create_task(run_daemon(runner, schedules, stop, on_pass=on_pass))
            group.create_task(follow(poller.client.session, settings, universe, stop, sweep.change))
            group.create_task(sweep.run(stop, on_pass))
    except* TrackerError as failed:  # one line and its exit code, not a group traceback
        raise failed.exceptions[0] from None
    if schedules:
        stats = daemon.result()
    stats.passes += sweep.passes
    stats.failed_passes += sweep.failed_passes
    return stats
