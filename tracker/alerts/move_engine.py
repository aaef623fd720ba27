"""Whale-move alerts end to end: bursts read and stored, labels found, alerts stored and delivered.

`evaluate_moves` is blocking and runs in the caller's open store, in a transaction of its own
(the REST pass calls it right after writing the refresh, before the file is closed).
`MoveAlerter.on_position_changes` is the async callback the live engine calls with the tape's
changes: it stores the alerts in a worker thread, then dispatches them like every other alert
(`engine.dispatch`, one dispatch at a time per database).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from tracker import resources
from tracker.alerts import store as alert_store
from tracker.alerts.engine import dispatch
from tracker.alerts.moves import Burst, BurstKey, MoveRules, key_of, move_alerts
from tracker.errors import StoreError
from tracker.records import Alert
from tracker.records.events import PositionChange
from tracker.store import open_store
from tracker.store.db import Store

if TYPE_CHECKING:
    from tracker.alerts.sinks import Sink

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveSettings:
    """What whale-move alerts need besides the changes: thresholds and the watchlists' labels."""

    threshold_usd: Decimal
    cooldown_s: float
    labels: Mapping[str, str] = field(default_factory=dict)  # watchlist labels win


def evaluate_moves(
    store: Store, settings: MoveSettings, changes: Sequence[PositionChange]
) -> list[Alert]:
    """Fold changes into the stored bursts and store the alerts they raise; the new ones."""
    if not changes:
        return []
    addresses = sorted({c.address for c in changes})
    keys = {key_of(c) for c in changes}
    stored = {k: b for k, b in read_bursts(store, addresses).items() if k in keys}
    rules = MoveRules(
        threshold_usd=settings.threshold_usd, cooldown_s=settings.cooldown_s, labels=settings.labels
    )
    moves = move_alerts(changes, stored, rules)
    # Leaderboard names only for the accounts that alert (most batches raise nothing): the
    # table grows by a whole leaderboard every read, too much to search per tape batch.
    unnamed = sorted({a.address for a in moves.alerts if a.address not in settings.labels})
    if names := leaderboard_names(store, unnamed) if unnamed else {}:
        moves = move_alerts(changes, stored, replace(rules, labels={**names, **settings.labels}))
    with store.transaction():
        write_bursts(store, moves.bursts)
        new = alert_store.insert_alerts(store, moves.alerts)
    for alert in new:
        log.info("new alert %s", alert.id)
    return new


def leaderboard_names(store: Store, addresses: Sequence[str]) -> dict[str, str]:
    """The display name of each address in its latest leaderboard read, where it has one."""
    rows = store.con.execute(
        resources.sql("reads", "leaderboard_names"), {"addresses": list(addresses)}
    ).fetchall()
    return {address: name for address, name in rows if name}


def read_bursts(store: Store, addresses: Sequence[str]) -> dict[BurstKey, Burst]:
    """The stored bursts of these addresses."""
    rows = store.con.execute(
        resources.sql("reads", "position_bursts"), {"addresses": list(addresses)}
    ).fetchall()
    return {
        (r[0], r[1], r[2], r[3]): Burst(
            start=r[4],
            last=r[5],
            size_before=r[6],
            size_after=r[7],
            notional_usd=r[8],
            size_traded=r[9],
            changes=r[10],
            source=r[11],
            alert_id=r[12],
            confirmed=r[13],
        )
        for r in rows
    }


def write_bursts(store: Store, bursts: Mapping[BurstKey, Burst]) -> None:
    """Store each burst as its key's latest (in the caller's transaction)."""
    if not bursts:
        return
    store.con.executemany(
        "INSERT OR REPLACE INTO position_bursts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                *key,
                b.start,
                b.last,
                b.size_before,
                b.size_after,
                b.notional_usd,
                b.size_traded,
                b.changes,
                b.source,
                b.alert_id,
                b.confirmed,
            ]
            for key, b in bursts.items()
        ],
    )


class MoveAlerter:
    """The live engine's `on_position_changes`: tape changes in, alerts stored and delivered."""

    def __init__(
        self, db: Path, settings: MoveSettings, sinks: Sequence[Sink], *, timeout_s: float
    ) -> None:
        self.db = db
        self.settings = settings
        self.sinks = list(sinks)
        self.timeout_s = timeout_s

    async def on_position_changes(self, changes: list[PositionChange]) -> None:
        """The live engine's callback: `raise_alerts`. Raises StoreError when storing fails."""
        await self.raise_alerts(changes)

    async def raise_alerts(self, changes: Sequence[PositionChange]) -> list[Alert]:
        """Store the alerts these changes raise, then deliver every pending alert; the new ones."""
        if not changes:
            return []
        new = await asyncio.to_thread(self._evaluate, list(changes))
        if new and self.sinks:
            await dispatch(self.db, self.sinks, timeout_s=self.timeout_s)
        return new

    def _evaluate(self, changes: list[PositionChange]) -> list[Alert]:
        # In a worker thread: an open that waits for the file must not stall the loop.
        with open_store(self.db) as store:
            try:
                return evaluate_moves(store, self.settings, changes)
            except duckdb.Error as exc:
                first = str(exc).splitlines()[0]
                raise StoreError(f"storing whale-move alerts in {self.db} failed: {first}") from exc
