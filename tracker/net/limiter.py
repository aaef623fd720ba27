"""A weight budget shared by every request to one venue: never more than N weight in any minute.

The venue counts a request when it reaches it, somewhere between our send and its answer, and
charges item surcharges it knows only then. So a request's weight is *held* from admission until
its answer (at its most, surcharge included), then recorded at the answer time with what it
really cost. Stamping at the send instead lets a slow answer fall into the venue's next minute
with the requests that follow it: the venue then counts more than the budget. Holding it closes
that gap: at the moment the last request of any venue minute was admitted, every request the
venue counted in that minute was held or recorded here, so their sum fits the budget.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass

# Set in a task whose requests must not queue behind the others (live mode's refresh of an
# account just seen trading): they skip the first-come queue, as retries do, and wait only for
# room in the budget.
URGENT: ContextVar[bool] = ContextVar("tracker_urgent_requests", default=False)


@dataclass(slots=True)
class Spend:
    """A held spend; set weight to what the request really cost before it is recorded."""

    weight: int


class WeightLimiter:
    """Sliding-window limiter: the weight spent in any window_s seconds never exceeds the budget.

    A token bucket would allow a full bucket plus a minute of refill inside one minute; the venue
    counts per minute, so we keep the exact log of spends in the window. per_minute=0 lifts the
    limit (benchmarks), while still counting what was spent.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep
        self._recorded: list[tuple[float, int]] = []  # heap of (answer time, weight)
        self._in_window = 0  # recorded weight inside the window
        self._held = 0  # weight of requests admitted and not yet answered
        self._waiters: set[asyncio.Future[None]] = set()  # woken when a hold ends
        self._lock = asyncio.Lock()
        self.total_weight = 0
        self.max_in_window = 0
        self.waited_s = 0.0

    def _expire(self, now: float) -> None:
        horizon = now - self.window_s
        while self._recorded and self._recorded[0][0] <= horizon:
            self._in_window -= heapq.heappop(self._recorded)[1]

    @asynccontextmanager
    async def spend(self, weight: int, *, priority: bool = False) -> AsyncIterator[Spend]:
        """Hold weight (the most the request can cost) for one request, then record its cost.

        The body sends the request and may lower (or raise) `Spend.weight` to the real cost
        once the answer is in; that cost is recorded when the body ends, however it ends.
        Requests queue first come, first served. A retry passes with priority=True and goes
        ahead of the queue: rejoining its back would space a request's attempts by the queue's
        length, and against a venue failing every n-th request that length can be a multiple
        of n, failing every attempt.
        """
        if self.per_minute > 0:
            if priority or URGENT.get():
                await self._wait_and_hold(weight)
            else:
                async with self._lock:  # FIFO: one waiter at a time keeps big requests fed
                    await self._wait_and_hold(weight)
        held = Spend(weight)
        try:
            yield held
        finally:
            self._record(weight, held.weight)

    async def acquire(self, weight: int, *, priority: bool = False) -> None:
        """Wait until weight fits in the budget, then spend it now (for sends counted at once)."""
        async with self.spend(weight, priority=priority):
            pass

    async def _wait_and_hold(self, weight: int) -> None:
        while True:
            now = self._clock()
            self._expire(now)
            used = self._in_window + self._held
            if used + weight <= self.per_minute or used == 0:
                self._held += weight  # no await between the check and the hold
                self.max_in_window = max(self.max_in_window, used + weight)
                return
            wait = self._recorded[0][0] + self.window_s - now if self._recorded else None
            await self._pause(wait)

    async def _pause(self, wait: float | None) -> None:
        """Sleep until the oldest recorded spend leaves the window or a hold ends.

        Each pause registers its own future before its first await, so a hold that ends at any
        moment after the caller found no room wakes it: a shared Event cleared by one waiter
        could swallow the wake-up another was counting on, and a waiter with nothing recorded
        to expire (wait None) would then sleep for ever.
        """
        started = self._clock()
        released: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(released)
        timer = None if wait is None else asyncio.ensure_future(self._sleep(max(wait, 0.001)))
        try:
            await asyncio.wait(
                {released} if timer is None else {released, timer},
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            self._waiters.discard(released)
            if timer is not None and not timer.done():
                timer.cancel()
                with suppress(asyncio.CancelledError):
                    await timer
        self.waited_s += max(self._clock() - started, 0.0)

    def _record(self, held: int, weight: int) -> None:
        self.total_weight += weight
        if self.per_minute <= 0:
            return
        self._held -= held
        now = self._clock()
        self._expire(now)
        if weight > 0:
            heapq.heappush(self._recorded, (now, weight))
            self._in_window += weight
        self.max_in_window = max(self.max_in_window, self._in_window + self._held)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    def used_in_window(self) -> int:
        """Weight spent in the current window, requests still in flight included."""
        self._expire(self._clock())
        return self._in_window + self._held
