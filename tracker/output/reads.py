"""Read-side views the CLI prints: liquidation episodes and alerts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from tracker import resources
from tracker.config import Settings, status_path
from tracker.jsonable import jsonable
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
    labels: Mapping[str, str] | None = None,
    watched_only: bool = False,
    coin: str | None = None,
) -> list[dict[str, Any]]:
    """Liquidation episodes of every venue, largest first, as JSON-ready objects.

    `label` is the watchlist's name for the liquidated account, else its leaderboard display
    name (None when neither names it).
    """
    params = {
        "min_usd": min_usd,
        "since": since,
        "address": address,
        "large_usd": large_usd,
        "watched": list(watched),
        "watched_only": watched_only,
        "coin": coin,
    }
    rows = _rows(db, "liquidations", params)
    for row in rows:
        row["sources"] = row["sources"].split(",") if row["sources"] else []
        name = row.pop("leaderboard_name", None)
        row["label"] = (labels or {}).get(row["address"]) or name
    return [jsonable(r) for r in rows]


def liquidations_daily(
    db: Path,
    *,
    min_usd: Decimal,
    since: datetime | None,
    address: str | None,
    watched_only: bool = False,
    coin: str | None = None,
    labels: Mapping[str, str] | None = None,
    watched: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Liquidations of both venues per UTC day, venue and coin: count, notional (all, long,
    short) and the largest single one, newest day first, as JSON-ready objects. `watched`: the
    Ethereum watchlist addresses (an Aave borrower among them is watched)."""
    params = {
        "min_usd": min_usd,
        "since": since,
        "address": address,
        "watched_only": watched_only,
        "coin": coin,
        "watched": list(watched),
    }
    out = []
    for row in _rows(db, "liquidations_daily", params):
        largest = row["largest_address"]
        out.append(
            jsonable(
                {
                    "day": row["day"].isoformat(),
                    "venue": row["venue"],
                    "coin": row["coin"],
                    "count": row["count"],
                    "notional_usd": row["notional_usd"],
                    "long_notional_usd": row["long_notional_usd"],
                    "short_notional_usd": row["short_notional_usd"],
                    "largest": {
                        "address": largest,
                        "label": (labels or {}).get(largest) or row["largest_leaderboard_name"],
                        "notional_usd": row["largest_notional_usd"],
                        "method": row["largest_method"],
                        "watched": row["largest_watched"],
                        "episode_id": row["largest_episode_id"],
                    },
                }
            )
        )
    return out


def alerts(
    db: Path, *, limit: int, kind: str | None, after: datetime | None = None
) -> list[dict[str, Any]]:
    """Stored alerts, newest first, with the sinks each reached (after: created after then)."""
    rows = _rows(db, "alerts", {"limit": limit, "kind": kind, "after": after})
    for row in rows:
        row["delivered_to"] = row["delivered_to"] or []
        row["failed_sinks"] = row["failed_sinks"] or []
    return [jsonable(r) for r in rows]


def status(settings: Settings) -> dict[str, Any]:
    """The running daemon's status file (if any) and what the store says, endpoints redacted."""
    from tracker.redact import redact_url

    doc: dict[str, Any] = {
        "db": str(settings.db_path),
        "endpoints": {
            "hyperliquid_api": redact_url(settings.hl_api_url),
            "hyperliquid_ws": redact_url(settings.hl_ws_url),
            "ethereum_rpc": redact_url(rpc.reveal()) if (rpc := settings.eth_rpc_url) else None,
        },
        "daemon": None,  # only a daemon in live mode writes the status file
    }
    path = status_path(settings.db_path)
    doc["status_file"] = str(path)
    if path.is_file():
        try:
            daemon = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            daemon = None
        if isinstance(daemon, dict):
            daemon["running"] = _alive(daemon.get("pid"))
            doc["daemon"] = daemon
    if settings.db_path.exists():
        with open_store(settings.db_path, read_only=True) as store:
            last = store.con.execute(resources.sql("reads", "status_last_run")).fetchall()
            stalest = store.con.execute(resources.sql("reads", "status_stalest")).fetchall()
            universe = store.con.execute(resources.sql("reads", "status_universe")).fetchone()
        doc["last_pass"] = (
            jsonable(
                dict(
                    zip(
                        ("ts", "command", "addresses", "addresses_ok", "positions", "weight"),
                        last[0],
                        strict=True,
                    )
                )
            )
            if last
            else None
        )
        doc["stalest_stored"] = [jsonable({"address": a, "last_snapshot": ts}) for a, ts in stalest]
        # `tracker run --discover`: the universe of its last leaderboard read, and how much of it
        # was swept (an account is seen once a state of it is stored)
        doc["universe"] = (
            jsonable(
                dict(
                    zip(
                        ("accounts", "seen", "min_account_value_usd", "listed_at"),
                        universe,
                        strict=True,
                    )
                )
            )
            if universe and universe[0]
            else None
        )
    return doc


def _alive(pid: Any) -> bool:
    import os

    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
