"""Episodes, alerts, armed near-liquidation state and deliveries in the DuckDB store."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Any

from tracker import resources
from tracker.alerts.rules import Armed
from tracker.records import Alert, Fill, LedgerEntry, LiquidationEpisode
from tracker.risk.episodes import is_large
from tracker.store.db import Store
from tracker.store.writes import Column, decimal_text, epoch_us, frame, insert_batch

MAX_ATTEMPTS = 5
RETRY_WINDOW = timedelta(hours=1)

_EPISODE_COLUMNS = tuple(
    Column(name, get, dtype)
    for name, get, dtype in (
        ("episode_id", lambda r: r[0].episode_id, "object"),
        ("venue", lambda r: r[0].venue, "object"),
        ("address", lambda r: r[0].address, "object"),
        ("coin", lambda r: r[0].coin, "object"),
        ("side", lambda r: r[0].side, "object"),
        ("start_us", lambda r: epoch_us(r[0].start), "int64"),
        ("end_us", lambda r: epoch_us(r[0].end), "int64"),
        ("fills", lambda r: r[0].fills, "int32"),
        ("size", lambda r: _text(r[0].size), "object"),
        ("notional_usd", lambda r: _text(r[0].notional_usd), "object"),
        ("method", lambda r: r[0].method, "object"),
        ("mark_px", lambda r: _text(r[0].mark_px), "object"),
        ("realized_loss_usd", lambda r: _text(r[0].realized_loss_usd), "object"),
        ("ledger_notional_usd", lambda r: _text(r[0].ledger_notional_usd), "object"),
        ("position_usd", lambda r: _text(r[0].position_usd), "object"),
        ("sources", lambda r: ",".join(r[0].sources), "object"),
        ("watched", lambda r: r[0].watched, "bool"),
        ("large", lambda r: r[1], "bool"),
        ("updated_us", lambda r: epoch_us(r[2]), "int64"),
    )
)
_ALERT_COLUMNS = (
    Column("id", lambda a: a.id),
    Column("kind", lambda a: a.kind),
    Column("ts_us", lambda a: epoch_us(a.ts), "int64"),
    Column("created_us", lambda a: epoch_us(datetime.now(UTC)), "int64"),
    Column("venue", lambda a: a.venue),
    Column("address", lambda a: a.address),
    Column("label", lambda a: a.label),
    Column("coin", lambda a: a.coin),
    Column("notional_usd", lambda a: _text(a.notional_usd)),
    Column("severity", lambda a: a.severity),
    Column("message", lambda a: a.message),
    Column("details", lambda a: a.details),
)
_DELIVERY_COLUMNS = (
    Column("alert_id", lambda d: d.alert_id),
    Column("sink", lambda d: d.sink),
    Column("ok", lambda d: d.ok, "bool"),
    Column("error", lambda d: d.error),
    Column("at_us", lambda d: epoch_us(d.at), "int64"),
)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def read_liquidation_history(
    store: Store, addresses: Sequence[str]
) -> tuple[list[Fill], list[LedgerEntry]]:
    """Liquidation fills and ledger liquidations involving these accounts."""
    params = {"addresses": list(addresses)}
    fills = [
        Fill(
            venue=r[0],
            address=r[1],
            ts=r[2],
            time_ms=r[3],
            coin=r[4],
            dex=r[5],
            fill_key=r[6],
            side=r[7],
            px=r[8],
            size=r[9],
            start_position=r[10],
            direction=r[11],
            closed_pnl_usd=r[12],
            fee=r[13],
            fee_token=r[14],
            builder_fee=r[15],
            crossed=r[16],
            hash=r[17],
            oid=r[18],
            tid=r[19],
            twap_id=r[20],
            cloid=r[21],
            liquidation_method=r[22],
            liquidated_user=r[23],
            liquidation_mark_px=r[24],
        )
        for r in store.con.execute(resources.sql("reads", "liquidation_fills"), params).fetchall()
    ]
    ledger = [
        LedgerEntry(
            venue=r[0],
            address=r[1],
            ts=r[2],
            time_ms=r[3],
            kind=r[4],
            entry_key=r[5],
            amount_usd=r[6],
            hash=r[7],
            liquidated_notional_usd=r[8],
            account_value_usd=r[9],
            leverage_type=r[10],
            liquidated_positions=r[11],
            delta=r[12],
        )
        for r in store.con.execute(resources.sql("reads", "liquidation_ledger"), params).fetchall()
    ]
    return fills, ledger


def replace_episodes(
    store: Store,
    victims: Sequence[str],
    episodes: Sequence[LiquidationEpisode],
    threshold_usd: Decimal,
    venue: str,
    *,
    basis: str = "position",
) -> None:
    """Replace the stored episodes of these accounts by freshly built ones (in a transaction)."""
    store.con.execute(
        "DELETE FROM liquidations WHERE venue = $venue "
        "AND address IN (SELECT unnest($victims::VARCHAR[]))",
        {"venue": venue, "victims": list(victims)},
    )
    now = datetime.now(UTC)
    rows = [(e, is_large(e, threshold_usd, basis), now) for e in episodes]
    insert_batch(store, "liquidations", _EPISODE_COLUMNS, rows)


def insert_alerts(store: Store, alerts: Sequence[Alert]) -> list[Alert]:
    """Store alerts under their ids; return those that were new."""
    if not alerts:
        return []
    unique = list({a.id: a for a in alerts}.values())
    store.con.register("batch", frame(_ALERT_COLUMNS, unique))
    try:
        new_ids = {
            row[0] for row in store.con.execute(resources.sql("writes", "alerts")).fetchall()
        }
    finally:
        store.con.unregister("batch")
    return [a for a in unique if a.id in new_ids]


def read_armed(store: Store, addresses: Collection[str] | None = None) -> dict[str, Armed]:
    """Near-liquidation conditions that have already alerted; only those of `addresses` when
    given (the live mark path alerts for a few accounts at a time, while a cascade can leave
    thousands armed: reading them all held the interpreter for each batch, bench/universe.py).
    Every key names its address third: `near_liquidation:VENUE:ADDRESS:DEX:COIN` and
    `account_near_liquidation:VENUE:ADDRESS:DEX` (tracker.alerts.rules)."""
    if addresses is None:
        rows = store.con.execute("SELECT key, level_pct, since FROM alert_state").fetchall()
    else:
        rows = store.con.execute(
            "SELECT key, level_pct, since FROM alert_state "
            "WHERE split_part(key, ':', 3) IN (SELECT unnest(?::VARCHAR[]))",
            [sorted(addresses)],
        ).fetchall()
    return {key: Armed(level, since) for key, level, since in rows}


_ARMED_COLUMNS = (
    Column("key", itemgetter(0)),
    Column("level_pct", lambda r: decimal_text(r[1].level_pct)),
    Column("since_us", lambda r: epoch_us(r[1].since), "int64"),
)


def write_armed(store: Store, state: Mapping[str, Armed | None]) -> None:
    """Arm (Armed) or forget (None) near-liquidation conditions, in two statements whatever
    their number (one statement per key held the store for seconds with thousands of near
    positions, bench/universe.py)."""
    forget = [key for key, armed in state.items() if armed is None]
    if forget:
        store.con.execute("DELETE FROM alert_state WHERE list_contains(?, key)", [forget])
    arm = [(key, armed) for key, armed in state.items() if armed is not None]
    insert_batch(store, "alert_state", _ARMED_COLUMNS, arm)


def pending(store: Store, sinks: Sequence[str]) -> list[tuple[Alert, str]]:
    """(alert, sink) pairs not yet delivered and still worth trying."""
    rows = store.con.execute(
        resources.sql("reads", "pending_alerts"),
        {
            "sinks": list(sinks),
            "max_attempts": MAX_ATTEMPTS,
            "since": datetime.now(UTC) - RETRY_WINDOW,
        },
    ).fetchall()
    return [
        (
            Alert(
                id=r[0],
                kind=r[1],
                ts=r[2],
                venue=r[3],
                address=r[4],
                label=r[5],
                coin=r[6],
                notional_usd=r[7],
                severity=r[8],
                message=r[9],
                details=r[10],
            ),
            r[11],
        )
        for r in rows
    ]


def record_deliveries(store: Store, deliveries: Sequence[Any]) -> None:
    """Remember what reached which sink (attempts counted)."""
    insert_batch(store, "alert_deliveries", _DELIVERY_COLUMNS, deliveries)
