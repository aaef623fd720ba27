"""After each pass: rebuild liquidation episodes, evaluate the rules, store new alerts, deliver.

Episodes are rebuilt from every stored liquidation fill and ledger entry of the accounts involved,
so they are derived data: a crash between the pass and this step is mended by the next pass. New
alerts are the rows the insert actually added; delivery then sends every alert a sink has not yet
received (new ones, and earlier failures for an hour), and records the outcome per sink.
`evaluate` and `evaluate_aave` are blocking (callers run them off the loop); `dispatch` opens the
store only in worker threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.alerts import rules
from tracker.alerts import store as alert_store
from tracker.records import AccountReport, Alert, Fill, LiquidationEpisode
from tracker.risk.episodes import build_episodes
from tracker.store import open_store
from tracker.store.db import Store
from tracker.venues import HYPERLIQUID

if TYPE_CHECKING:
    from tracker.alerts.sinks import Delivery, Sink

log = logging.getLogger(__name__)
VENUE = HYPERLIQUID


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertContext:
    """What the rules need besides the pass: thresholds, who is watched, labels, liquidators."""

    large_usd: Decimal
    near_levels_pct: tuple[Decimal, ...]
    gap_s: float
    watched: frozenset[str]
    labels: Mapping[str, str] = field(default_factory=dict)
    liquidators: frozenset[str] = frozenset()
    position_alert_usd: Decimal | None = None  # whale moves (alerts.moves); None: not raised
    position_alert_cooldown_s: float = 60.0
    large_basis: str = "position"  # what large_usd compares (LiquidationEpisode.at_stake_usd)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Episodes rebuilt and alerts newly stored by one evaluation."""

    episodes: list[LiquidationEpisode]
    new_alerts: list[Alert]


def evaluate(
    store: Store,
    ctx: AlertContext,
    reports: Sequence[AccountReport],
    new_fills: Sequence[Fill],
    ts: datetime,
) -> Evaluation:
    """Rebuild episodes of the accounts involved and store the alerts the rules raise."""
    polled = [r for r in reports if not r.errors]
    victims = {r.address for r in polled}
    victims.update(
        f.liquidated_user
        for f in new_fills
        if f.liquidated_user and f.address in ctx.liquidators and f.liquidation_method == "backstop"
    )
    fills, ledger = alert_store.read_liquidation_history(store, sorted(victims))
    episodes = build_episodes(
        fills, ledger, liquidators=ctx.liquidators, watched=ctx.watched, gap_s=ctx.gap_s
    )
    with store.transaction():
        alert_store.replace_episodes(
            store, sorted(victims), episodes, ctx.large_usd, VENUE, basis=ctx.large_basis
        )
        near = rules.near_liquidation(
            polled, alert_store.read_armed(store), ctx.near_levels_pct, ctx.labels, ts
        )
        candidates = [
            *rules.large_liquidation_alerts(
                episodes, ctx.large_usd, ctx.labels, basis=ctx.large_basis
            ),
            *rules.adl_alerts((f for f in new_fills if f.address in ctx.watched), ctx.labels),
            *near.alerts,
        ]
        new = alert_store.insert_alerts(store, candidates)
        alert_store.write_armed(store, near.state)
    for alert in new:
        log.info("new alert %s", alert.id)
    return Evaluation(episodes=episodes, new_alerts=new)


def evaluate_aave(store: Store, ctx: AlertContext, since: datetime) -> list[Alert]:
    """Store an alert for every large Aave LiquidationCall since `since` (once each)."""
    from tracker import resources

    cursor = store.con.execute(
        resources.sql("reads", "large_aave_calls"), {"large_usd": ctx.large_usd, "since": since}
    )
    cols = [d[0] for d in cursor.description]
    calls = [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]
    with store.transaction():
        return alert_store.insert_alerts(store, rules.aave_liquidation_alerts(calls, ctx.labels))


_DISPATCHING: dict[str, asyncio.Lock] = {}


async def dispatch(db: Path, sinks: Sequence[Sink], *, timeout_s: float) -> list[Delivery]:
    """Deliver every pending (alert, sink) pair and record the outcomes.

    One dispatch at a time per database in a process: two concurrent ones (passes running side
    by side in live mode, the mark path) would both read the same pairs as pending and deliver
    them twice.
    """
    lock = _DISPATCHING.setdefault(str(db), asyncio.Lock())
    async with lock:
        return await _dispatch(db, sinks, timeout_s=timeout_s)


async def _dispatch(db: Path, sinks: Sequence[Sink], *, timeout_s: float) -> list[Delivery]:
    from tracker.alerts.sinks import deliver

    if not sinks:
        return []
    by_name = {s.name: s for s in sinks}
    todo = await asyncio.to_thread(_pending, db, list(by_name))
    if not todo:
        return []
    per_sink = [([a for a, s in todo if s == name], sink) for name, sink in by_name.items()]
    outcomes = await asyncio.gather(
        *(deliver(alerts, [sink], timeout_s=timeout_s) for alerts, sink in per_sink if alerts)
    )
    deliveries: list[Delivery] = [d for outcome in outcomes for d in outcome]
    await asyncio.to_thread(_record, db, deliveries)
    failed = [d for d in deliveries if not d.ok]
    if failed:
        log.warning(
            "%d alert deliveries failed (will retry): %s",
            len(failed),
            "; ".join(f"{d.sink}: {d.error}" for d in failed[:3]),
        )
    return deliveries


# The store is opened in a worker thread: on the loop thread an open that waits for the file
# (another process writing, or another pass of this one) would stall every task.


def _pending(db: Path, sinks: list[str]) -> list[tuple[Alert, str]]:
    with open_store(db) as store:
        return alert_store.pending(store, sinks)


def _record(db: Path, deliveries: Sequence[Delivery]) -> None:
    with open_store(db) as store, store.transaction():
        alert_store.record_deliveries(store, deliveries)
