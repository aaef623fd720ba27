"""Read-side views the CLI prints: liquidation episodes and alerts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tracker import resources
from tracker.render import jsonable
from tracker.store import open_store


def _rows(db: Path, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with open_store(db, read_only=True) as store:
        cursor = store.con.execute(resources.sql("reads", name), params)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def liquidations(
    db: Path,
    *,
    min_usd: Decimal,
    since: datetime | None,
    address: str | None,
    large_usd: Decimal,
    watched: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Liquidation episodes of every venue, largest first, as JSON-ready objects."""
    rows = _rows(
        db,
        "liquidations",
        {
            "min_usd": min_usd,
            "since": since,
            "address": address,
            "large_usd": large_usd,
            "watched": list(watched),
        },
    )
    for row in rows:
        row["sources"] = row["sources"].split(",") if row["sources"] else []
    return [jsonable(r) for r in rows]


def alerts(db: Path, *, limit: int, kind: str | None) -> list[dict[str, Any]]:
    """Stored alerts, newest first, with the sinks each reached."""
    rows = _rows(db, "alerts", {"limit": limit, "kind": kind})
    for row in rows:
        row["delivered_to"] = row["delivered_to"] or []
        row["failed_sinks"] = row["failed_sinks"] or []
    return [jsonable(r) for r in rows]
