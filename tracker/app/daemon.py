"""`tracker run`: scheduled snapshot passes until told to stop.

Each address is polled at its own interval (the smallest of its watchlists' `interval`, else the
global one); addresses due at the same moment share one pass. Schedules advance by their interval
from when they were due, so a slow pass does not make the next one drift, and an overdue schedule
runs once rather than in a burst. Stopping (SIGINT/SIGTERM) cancels the pass in flight: its
network reads are dropped and nothing of it is written, unless its single write transaction had
already begun, in which case that transaction completes. A restart resumes history from what is
stored, so there are no gaps (within the venue's 10,000-fill window) and no duplicates.
A failed pass is logged and the next one retries, except for bad input (a DuckDB path that is
not a database), which no later pass could get past: it ends the daemon (exit 2).
`LoopLag` (`tracker run --loop-lag`) measures how long the event loop keeps its tasks waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from tracker.app.snapshot_pass import PassReport
from tracker.errors import BadInput, TrackerError
from tracker.percentiles import percentile
from tracker.times import wait_set

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Schedule:
    """Addresses polled every interval_s seconds."""

    interval_s: float
    addresses: list[str]
    next_due: float = 0.0


@dataclass(slots=True)
class DaemonStats:
    """What the daemon has done so far."""

    passes: int = 0
    failed_passes: int = 0
    last: PassReport | None = None
    errors: list[str] = field(default_factory=list)


def build_schedules(
    intervals: dict[str, float | None], default_interval_s: float
) -> list[Schedule]:
    """Group addresses by their interval (None = the default)."""
    groups: dict[float, list[str]] = {}
    for address, interval in intervals.items():
        groups.setdefault(interval or default_interval_s, []).append(address)
    return [Schedule(interval_s=i, addresses=a) for i, a in sorted(groups.items())]


async def finished_unless_stopped(task: asyncio.Task[Any], stop: asyncio.Event) -> bool:
    """Wait for task, or for stop: then cancel the task and wait for it. True: it finished."""
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task.done():
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


async def run_daemon(
    run_pass: Callable[[list[str]], Coroutine[Any, Any, PassReport]],
    schedules: Sequence[Schedule],
    stop: asyncio.Event,
    *,
    on_pass: Callable[[PassReport], None],
    clock: Callable[[], float] = time.monotonic,
) -> DaemonStats:
    """Run passes as schedules fall due until stop is set; return what was done."""
    stats = DaemonStats()
    now = clock()
    for schedule in schedules:
        schedule.next_due = now
    while not stop.is_set():
        now = clock()
        due = [s for s in schedules if s.next_due <= now]
        if due:
            addresses = list(dict.fromkeys(a for s in due for a in s.addresses))
            task = asyncio.create_task(run_pass(addresses))
            if not await finished_unless_stopped(task, stop):
                log.info("stopped during a pass; its batch was not written")
                break
            try:
                report = task.result()
            except BadInput:  # e.g. the DuckDB path is a folder: no later pass can succeed
                raise
            except TrackerError as exc:  # e.g. the store was busy: this batch is lost, next retries
                stats.failed_passes += 1
                stats.errors.append(str(exc))
                log.error("pass failed: %s", exc)
            else:
                stats.passes += 1
                stats.last = report
                on_pass(report)
            for schedule in due:
                schedule.next_due = max(schedule.next_due + schedule.interval_s, clock())
        wait = max(min(s.next_due for s in schedules) - clock(), 0.0)
        await wait_set(stop, wait)
    return stats


LAG_PERIOD_S = 0.05
LAG_SAMPLES = 6000  # the p99 covers the last five minutes at one wake-up per 50 ms


@dataclass(slots=True)
class LoopLag:
    """How late the event loop wakes a task that sleeps period_s (`tracker run --loop-lag`).

    Anything that holds the loop thread (a synchronous store open, a long computation) delays
    every ready callback, the WebSocket reader and the mark path included; the lateness of this
    probe's wake-ups measures that wait.
    """

    period_s: float = LAG_PERIOD_S
    samples: deque[float] = field(default_factory=lambda: deque(maxlen=LAG_SAMPLES))
    max_ms: float = 0.0
    wakeups: int = 0

    async def run(self) -> None:
        """Sleep period_s and record the lateness of each wake-up, until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + self.period_s
            await asyncio.sleep(self.period_s)
            late_ms = max(loop.time() - asked, 0.0) * 1000
            self.samples.append(late_ms)
            self.max_ms = max(self.max_ms, late_ms)
            self.wakeups += 1

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[LoopLag]:
        """Measure while the block runs."""
        task = asyncio.get_running_loop().create_task(self.run(), name="loop-lag")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def summary(self) -> dict[str, float | int | None]:
        """The worst lateness since start and the p99 of the recent ones, in ms."""
        p99 = percentile(self.samples, 0.99)
        return {
            "loop_lag_ms_max": round(self.max_ms, 1),
            "loop_lag_ms_p99": None if p99 is None else round(p99, 1),
            "loop_lag_wakeups": self.wakeups,
        }
