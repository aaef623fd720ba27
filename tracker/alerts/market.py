"""Liquidations of any account, confirmed from its own fills: stored as episodes, alerted once.

`record_confirmed` is called (blocking, in a worker thread) with the liquidation fills that a
confirmation read returned. The fills go to the `fills` table (idempotent on their natural key,
so a fill seen by a REST pass, a backstop vault's fills and the tape counts once), then the
episodes of those accounts are rebuilt from every stored liquidation fill and ledger entry, by
the same rules as after a pass (`tracker.risk.episodes`), marked with the source `tape`. A large
episode raises one `large_liquidation` alert; as later slices arrive the stored alert's figures
and message follow (its id, and so its deliveries, stay: no sink is told twice).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from tracker import resources
from tracker.alerts import rules
from tracker.alerts import store as alert_store
from tracker.alerts.engine import AlertContext
from tracker.records import Alert, Fill, LiquidationEpisode
from tracker.risk.episodes import build_episodes
from tracker.store.db import Store
from tracker.store.writes import FILL_COLUMNS, insert_batch
from tracker.venues import HYPERLIQUID

TAPE = "tape"


@dataclasses.dataclass(frozen=True, slots=True)
class Recorded:
    """What one confirmation stored: the accounts' episodes, alerts new and alerts updated."""

    episodes: list[LiquidationEpisode]
    new_alerts: list[Alert]
    updated_alerts: list[str]


def leaderboard_names(store: Store, addresses: Sequence[str]) -> dict[str, str]:
    """The newest leaderboard display name of each address that has one."""
    rows = store.con.execute(
        resources.sql("reads", "leaderboard_names"), {"addresses": list(addresses)}
    ).fetchall()
    return {str(a): str(n) for a, n in rows}


def labels_for(
    store: Store, addresses: Sequence[str], watchlist: Mapping[str, str]
) -> dict[str, str]:
    """The watchlist's label, else the leaderboard's display name, for each address."""
    unknown = [a for a in addresses if a not in watchlist]
    names = leaderboard_names(store, unknown) if unknown else {}
    return {**names, **{a: watchlist[a] for a in addresses if a in watchlist}}


def record_confirmed(
    store: Store, ctx: AlertContext, victims: Sequence[str], fills: Sequence[Fill]
) -> Recorded:
    """Store these liquidation fills, rebuild the victims' episodes, raise or update alerts."""
    with store.transaction():
        insert_batch(store, "fills", FILL_COLUMNS, fills)
        stored, ledger = alert_store.read_liquidation_history(store, sorted(victims))
        built = build_episodes(
            stored, ledger, liquidators=ctx.liquidators, watched=ctx.watched, gap_s=ctx.gap_s
        )
        episodes = [
            dataclasses.replace(e, sources=tuple(sorted({*e.sources, TAPE}))) for e in built
        ]
        alert_store.replace_episodes(
            store, sorted(victims), episodes, ctx.large_usd, HYPERLIQUID, basis=ctx.large_basis
        )
        labels = labels_for(store, sorted(victims), ctx.labels)
        alerts = rules.large_liquidation_alerts(
            episodes, ctx.large_usd, labels, basis=ctx.large_basis
        )
        new = alert_store.insert_alerts(store, alerts)
        fresh = {a.id for a in new}
        updated = [a.id for a in alerts if a.id not in fresh and update_alert(store, a)]
    return Recorded(episodes=episodes, new_alerts=new, updated_alerts=updated)


def update_alert(store: Store, alert: Alert) -> bool:
    """Bring a stored alert's figures and message up to date; True if it changed."""
    row = store.con.execute(
        resources.sql("writes", "update_alert"),
        {
            "id": alert.id,
            "notional_usd": None if alert.notional_usd is None else str(alert.notional_usd),
            "message": alert.message,
            "details": alert.details,
            "label": alert.label,
        },
    ).fetchone()
    return row is not None
