"""A weight budget shared by every request to one venue: never more than N weight in any minute."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable


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
        self._spends: deque[tuple[float, int]] = deque()
        self._in_window = 0
        self._lock = asyncio.Lock()
        self.total_weight = 0
        self.max_in_window = 0
        self.waited_s = 0.0

    def _expire(self, now: float) -> None:
        horizon = now - self.window_s
        while self._spends and self._spends[0][0] <= horizon:
            self._in_window -= self._spends.popleft()[1]

    def _record(self, now: float, weight: int) -> None:
        self._spends.append((now, weight))
        self._in_window += weight
        self.total_weight += weight
        self.max_in_window = max(self.max_in_window, self._in_window)

    async def acquire(self, weight: int, *, priority: bool = False) -> None:
        """Wait until weight fits in the budget, then spend it.

        Requests queue first come, first served. A retry passes with priority=True and goes
        ahead of the queue: rejoining its back would space a request's attempts by the queue's
        length, and against a venue failing every n-th request that length can be a multiple of
        n, failing every attempt.
        """
        if self.per_minute <= 0:
            self.total_weight += weight
            return
        if priority:
            await self._wait_and_spend(weight)
            return
        async with self._lock:  # FIFO: one waiter at a time keeps big requests from starving
            await self._wait_and_spend(weight)

    async def _wait_and_spend(self, weight: int) -> None:
        while True:
            now = self._clock()
            self._expire(now)
            if self._in_window + weight <= self.per_minute or not self._spends:
                self._record(now, weight)  # no await between the check and the spend
                return
            wait = self._spends[0][0] + self.window_s - now
            self.waited_s += max(wait, 0.0)
            await self._sleep(max(wait, 0.001))

    def charge(self, weight: int) -> None:
        """Spend weight learnt only after the answer (items returned); may overdraw briefly."""
        if weight <= 0:
            return
        if self.per_minute <= 0:
            self.total_weight += weight
            return
        now = self._clock()
        self._expire(now)
        self._record(now, weight)

    def used_in_window(self) -> int:
        """Weight spent in the current window."""
        self._expire(self._clock())
        return self._in_window
