"""Where the tape-driven book's output goes: position changes to the engine's hook
(`on_position_changes`, for the whale-move alert rules) and changes and drift to the store.

Each side runs as one task at a time in the engine's task group (`spawn`) and takes everything
queued meanwhile, so a burst of trades is one call and one transaction. An error the hook raises
stops the engine, as any task of it does; a store that is busy or failing keeps the rows for the
next try (up to `MAX_KEPT`), while bad input (the file is not a database) stops the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import duckdb

from tracker.errors import BadInput, TrackerError
from tracker.records.events import PositionChange, TapeDrift
from tracker.store import open_store

log = logging.getLogger(__name__)
GATHER_S = 0.5  # a store write waits this long for the rest of a burst (the hook does not)
# While messages wait unread on the stream (a burst is being worked off), a store write waits
# up to this much longer: building its rows takes the interpreter from the tape (~9 us a change).
BEHIND_WAIT_S = 3.0
RETRY_S = 1.0
MAX_KEPT = 500_000  # position changes kept while the store refuses them

Hook = Callable[[list[PositionChange]], Awaitable[None]]
Spawn = Callable[[Coroutine[Any, Any, None], str], "asyncio.Task[None]"]


class TapeOutbox:
    """Batches of position changes and drift rows, delivered and stored (module docstring)."""

    def __init__(
        self,
        db: Path,
        spawn: Spawn,
        hook: Hook | None = None,
        behind: Callable[[], bool] = lambda: False,
        behind_wait_s: float = BEHIND_WAIT_S,
    ) -> None:
        """`behind` tells whether messages wait unread on the stream: writes then wait, for at
        most `behind_wait_s`."""
        self.db, self.spawn, self.hook, self.behind = db, spawn, hook, behind
        self.behind_wait_s = behind_wait_s
        self.failed_writes = 0
        self.stored = 0
        self._to_hook: list[PositionChange] = []
        self._changes: list[PositionChange] = []
        self._drift: list[TapeDrift] = []
        self._hook_task: asyncio.Task[None] | None = None
        self._store_task: asyncio.Task[None] | None = None
        self._writing: asyncio.Future[int] | None = None

    def publish(self, changes: list[PositionChange], drift: list[TapeDrift]) -> None:
        """Queue changes for the hook and the store, drift for the store."""
        self._changes.extend(changes)
        self._drift.extend(drift)
        if self._store_task is None or self._store_task.done():
            self._store_task = self.spawn(self._store(), "live-tape-store")
        if changes and self.hook is not None:
            self._to_hook.extend(changes)
            if self._hook_task is None or self._hook_task.done():
                self._hook_task = self.spawn(self._deliver(), "live-tape-hook")

    def idle(self) -> bool:
        """Nothing queued or being written or delivered."""
        busy = (t for t in (self._store_task, self._hook_task) if t is not None)
        return not (self._changes or self._drift or self._to_hook) and all(t.done() for t in busy)

    async def flush(self) -> None:
        """Store what is still queued, at once (the engine stops: its tasks are cancelled),
        after the write under way, if any."""
        from tracker.store.tape import write_tape

        if self._writing is not None:  # a write its task, cancelled, did not count (or wait for)
            with contextlib.suppress(Exception):  # its own task reports its failure
                self.stored += await self._writing
            self._writing = None

        changes, drift = self._changes, self._drift
        self._changes, self._drift = [], []
        if not (changes or drift):
            return

        def write() -> int:
            with open_store(self.db) as store:
                return write_tape(store, changes, drift)[0]

        try:
            self.stored += await asyncio.to_thread(write)
        except (TrackerError, duckdb.Error) as exc:  # BadInput included: stopping anyway
            log.warning("%d tape changes not stored at stop: %s", len(changes), exc)
            self.failed_writes += 1

    async def _deliver(self) -> None:
        assert self.hook is not None
        while self._to_hook:
            batch, self._to_hook = self._to_hook, []
            await self.hook(batch)

    async def _store(self) -> None:
        from tracker.store.tape import write_tape

        def write(changes: list[PositionChange], drift: list[TapeDrift]) -> int:
            with open_store(self.db) as store:
                return write_tape(store, changes, drift)[0]

        while self._changes or self._drift:
            await asyncio.sleep(GATHER_S)
            waited = 0.0
            while self.behind() and waited < self.behind_wait_s and len(self._changes) < MAX_KEPT:
                await asyncio.sleep(0.1)
                waited += 0.1
            changes, drift = self._changes, self._drift
            self._changes, self._drift = [], []
            # shielded: a write under way finishes even when the engine stops (flush waits for it)
            self._writing = asyncio.ensure_future(asyncio.to_thread(write, changes, drift))
            try:
                self.stored += await asyncio.shield(self._writing)
                self._writing = None  # counted
            except BadInput:
                raise
            except (TrackerError, duckdb.Error) as exc:  # busy or failing: keep them for later
                log.warning("tape changes not stored yet (%d kept): %s", len(changes), exc)
                self.failed_writes += 1
                if len(self._changes) + len(changes) <= MAX_KEPT:
                    self._changes[:0], self._drift[:0] = changes, drift
                await asyncio.sleep(RETRY_S)
