"""An account's recent fills from the WebSocket: subscribe to its `userFills`, read, unsubscribe.

Subscribing to a user's `userFills` first sends a snapshot (`isSnapshot`) of its most recent
fills, at no REST weight (shared/reference/hyperliquid.md §2.4). The liquidation watch uses it to
confirm candidates (`tracker.app.liquidation_watch`), within what the venue allows one IP (§2.2):
- users: at most `share` at once (`TRACKER_LIQUIDATION_CONFIRM_WS_USERS`); the live engine follows
  at most 10 less that many, and neither side takes an account the other holds;
- messages: a subscribe and an unsubscribe per read, at most `MESSAGES_PER_MIN` a minute (the
  stream's own limiter keeps every send under the venue's 2,000);
- a read answers None, and the caller reads over REST, when the stream is down, the account is
  already followed, no slot frees within the caller's wait, the snapshot does not come within
  `SNAPSHOT_WAIT_S` (then reads pause `BACKOFF_S`: the venue may be refusing user subscriptions,
  say another process on this IP holds them), or the snapshot does not reach back to the window.

The venue keeps only an account's most recent fills in the snapshot; how many is not documented
for the WebSocket (`userFills` over REST: 2,000). A snapshot of fewer than `WHOLE_BELOW` fills is
taken to hold every recent fill; a longer one counts only from just after its oldest fill.
The subscription is always dropped, however the read ends (no user slot leaks): unsubscribed,
or, while the stream is down, left out of what the next connection subscribes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from tracker.net.limiter import WeightLimiter
from tracker.records import Fill, UserFills
from tracker.sources.hyperliquid.history import fill_key
from tracker.sources.hyperliquid.stream import MAX_USERS, HyperliquidStream, StreamLimitError

log = logging.getLogger(__name__)

MESSAGES_PER_MIN = 600  # subscribe + unsubscribe: 300 reads a minute, of the stream's 1,800
SNAPSHOT_WAIT_S = 3.0  # no snapshot by then: read over REST
BACKOFF_S = 30.0  # after a snapshot that never came, REST only for this long
WHOLE_BELOW = 500  # a snapshot with fewer fills holds all the venue keeps (REST's cap: 2,000)
FEEDS = ("userFills",)


class SnapshotReader:
    """See the module docstring. Attach the live stream before reading."""

    def __init__(self, share: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.share = share
        self.messages = WeightLimiter(MESSAGES_PER_MIN, clock=clock)
        self._clock = clock
        self._stream: HyperliquidStream | None = None
        self._connected = False
        self._held: set[str] = set()  # accounts with a slot taken by a read (reserved or running)
        self._waiting: dict[str, asyncio.Future[UserFills | None]] = {}
        self._backoff_until = float("-inf")
        self.reads = 0  # snapshots that answered
        self.short = 0  # snapshots that did not reach back to the window
        self.timeouts = 0  # snapshots that never came
        self.refused = 0  # subscriptions refused on our side (the stream's user limit)

    def attach(self, stream: HyperliquidStream) -> None:
        """Read through this stream (the live engine's one)."""
        self._stream = stream

    # -- called by the engine's stream reader (sync) ---------------------------------------

    def on_snapshot(self, event: UserFills) -> None:
        """A `userFills` snapshot arrived: hand it to the read waiting for it, if any."""
        waiter = self._waiting.get(event.user)
        if waiter is not None and not waiter.done():
            waiter.set_result(event)

    def on_stream(self, state: str) -> None:
        """The stream connected or went down; reads in progress fall back to REST."""
        self._connected = state == "connected"
        if not self._connected:
            for waiter in self._waiting.values():
                if not waiter.done():
                    waiter.set_result(None)

    # -- reads -----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the stream said it is connected (reads wait for it)."""
        return self._connected

    def usable(self, address: str) -> bool:
        """Whether a read of this account may go over the WebSocket at all (now or soon)."""
        stream = self._stream
        return (
            stream is not None
            and self.share > 0
            and self._connected
            and self._clock() >= self._backoff_until
            and address not in stream.users
        )

    def free(self, address: str) -> bool:
        """Whether a read of this account can start now: usable, a slot and messages free."""
        stream = self._stream
        return (
            self.usable(address)
            and stream is not None
            and len(self._held) < self.share
            and len(stream.users | self._held) < MAX_USERS
            and self.messages.used_in_window() + 2 <= self.messages.per_minute
        )

    def reserve(self, address: str) -> bool:
        """Take a user slot for a read of this account, if one is free now (see `read`)."""
        if not self.free(address):
            return False
        self._held.add(address)
        return True

    def release(self, address: str) -> None:
        """Give back a slot reserved for a read that did not happen (idempotent)."""
        if address not in self._waiting:
            self._held.discard(address)

    async def read(self, address: str, start_ms: int, end_ms: int) -> list[Fill] | None:
        """The account's fills from start_ms to end_ms (inclusive, oldest first, each once), or
        None when the snapshot cannot give all of them (read over REST then). Call it once for
        each `reserve` that succeeded; the slot is given back however the read ends."""
        stream = self._stream
        if stream is None or address not in self._held:
            return None
        waiter: asyncio.Future[UserFills | None] = asyncio.get_running_loop().create_future()
        self._waiting[address] = waiter
        subscribed = False
        try:
            await self.messages.acquire(2)  # the subscribe and the unsubscribe
            if not self._connected or address in stream.users:
                return None
            try:
                subscribed = stream.subscribe_user(address, FEEDS)
            except StreamLimitError as exc:
                self.refused += 1
                log.info("fills of %s read over REST: %s", address, exc)
                return None
            try:
                async with asyncio.timeout(SNAPSHOT_WAIT_S):
                    snapshot = await waiter
            except TimeoutError:
                self.timeouts += 1
                self._backoff_until = self._clock() + BACKOFF_S
                log.warning(
                    "no userFills snapshot of %s within %g s: confirming over REST for %g s",
                    address,
                    SNAPSHOT_WAIT_S,
                    BACKOFF_S,
                )
                return None
        finally:
            del self._waiting[address]
            self._held.discard(address)
            if subscribed:
                stream.unsubscribe_user(address)
        if snapshot is None:  # the stream went down meanwhile
            return None
        return self._window(snapshot, start_ms, end_ms)

    def _window(self, snapshot: UserFills, start_ms: int, end_ms: int) -> list[Fill] | None:
        fills = snapshot.fills
        if len(fills) >= WHOLE_BELOW and min(f.time_ms for f in fills) >= start_ms:
            self.short += 1
            return None
        self.reads += 1
        unique = {fill_key(f): f for f in fills if start_ms <= f.time_ms <= end_ms}
        return sorted(unique.values(), key=lambda f: f.time_ms)

    def status(self) -> dict[str, Any]:
        """Counters for `tracker status`'s liquidations block."""
        return {
            "ws_users": self.share,
            "ws_reads": self.reads,
            "ws_short_snapshots": self.short,
            "ws_timeouts": self.timeouts,
            "ws_messages_last_min": self.messages.used_in_window(),
        }
