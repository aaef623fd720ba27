"""How an alert reads: the JSON object programs receive and the line people read."""

from __future__ import annotations

import json
import logging
from datetime import UTC
from typing import Any

from tracker.jsonable import jsonable
from tracker.plain import plain
from tracker.records import Alert

log = logging.getLogger(__name__)


def alert_json(alert: Alert) -> dict[str, Any]:
    """The documented JSON object of an alert (webhook body and JSONL line): a contract.

    `side`, `size_change` and `price` repeat the details' keys of those names (null when the
    alert's kind has none): whale moves have all three.
    """
    more = details(alert)
    doc: dict[str, Any] = jsonable(
        {
            "id": alert.id,
            "kind": alert.kind,
            "time": alert.ts.astimezone(UTC),
            "venue": alert.venue,
            "address": alert.address,
            "label": alert.label,
            "coin": alert.coin,
            "notional_usd": alert.notional_usd,
            "side": more.get("side"),
            "size_change": more.get("size_change"),
            "price": more.get("price"),
            "severity": alert.severity,
            "message": alert.message,
            "details": more,
        }
    )
    return doc


def details(alert: Alert) -> dict[str, Any]:
    """The alert's details as an object; text that is not a JSON object is kept under "unparsed"."""
    try:
        value = json.loads(alert.details)
    except ValueError:
        value = None
    if isinstance(value, dict):
        return value
    # Malformed details are a bug upstream, but the alert itself must still go out.
    log.warning("alert %s: details are not a JSON object; sent as text", alert.id)
    return {"unparsed": alert.details}


def alert_text(alert: Alert) -> str:
    """The text chat sinks and the console show: the rule's message on one plain line.

    The rules already write it for people (kind, who, coin, side, K/M/B money, price, time);
    an empty message falls back to what the fields say. Whitespace is collapsed and control
    characters written as escapes (`plain`): a label can neither break the line nor drive a
    terminal. Each chat sink then neutralises its own markup.
    """
    message = plain(" ".join(alert.message.split()))
    if message:
        return message
    who = f"{plain(alert.label)} ({alert.address})" if alert.label else alert.address
    what = " ".join(p for p in (alert.kind.replace("_", " ").upper(), who, alert.coin) if p)
    return f"{what} {alert.ts.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
