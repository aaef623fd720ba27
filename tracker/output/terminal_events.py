"""Liquidation episodes and alerts for people: whole values when the terminal is wide, compact
ones ($222.6M, "1011 whale 0xb317…83ae", "01-31 22:00") when it is narrow (tracker.output.fit).

Rows are the JSON-ready objects of tracker.output.reads, read by key with .get: a venue that adds
its own columns (Aave's debt, say) changes nothing here. Labels, coins, methods and messages are
text from strangers and go in as rich Text, never as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich.table import Table
from rich.text import Text

from tracker.output.fit import Fitted, compact_table, full_time, money, when, who
from tracker.output.terminal import fmt, fmt_px
from tracker.plain import plain

MESSAGE_MIN_WIDTH = 50  # columns
SENT_MAX_WIDTH = 16  # columns: the message gets the room
_SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow"}


def liquidations_table(rows: Sequence[Mapping[str, Any]], now: datetime | None = None) -> Fitted:
    """Liquidation episodes, as tracker.views.liquidations lists them (largest first)."""
    labelled = any(r.get("label") for r in rows)
    full = Table(title="Liquidations", title_justify="left", pad_edge=False)
    for name in (
        "start (UTC)",
        "address",
        *(("label",) if labelled else ()),
        "coin",
        "side",
        "notional $",
        "fills",
        "method",
        "mark",
        "loss $",
        "large",
    ):
        right = name in ("notional $", "fills", "mark", "loss $")
        full.add_column(name, justify="right" if right else "left", no_wrap=name != "label")
    compact = compact_table("Liquidations")
    compact.add_column("start", no_wrap=True)
    compact.add_column("account", overflow="fold")  # wraps between label and address
    compact.add_column("coin", no_wrap=True)
    for name in ("notional", "mark", "loss"):  # fills and method: wide layout and --json
        compact.add_column(name, justify="right", no_wrap=True)
    for r in rows:
        address, label, large = str(r.get("address", "")), r.get("label"), bool(r.get("large"))
        notional, loss = _dec(r.get("notional_usd")), _dec(r.get("realized_loss_usd"))
        side, mark, fills = r.get("side") or "", fmt_px(_dec(r.get("mark_px"))), str(r.get("fills"))
        full.add_row(
            full_time(r.get("start")),
            address,
            *((Text(label or ""),) if labelled else ()),
            Text(str(r.get("coin", ""))),
            side or "-",
            fmt(notional, 0),
            fills,
            Text(str(r.get("method", ""))),
            mark,
            fmt(loss, 0),
            Text("LARGE", "bold red") if large else "",
        )
        compact.add_row(
            when(r.get("start"), now),
            who(address, label),
            Text.assemble(Text(str(r.get("coin", ""))), f" {side}" if side else ""),
            Text(money(notional), "bold red" if large else ""),
            mark,
            money(loss),
        )
    return Fitted(full, compact)


def alerts_table(rows: Sequence[Mapping[str, Any]], now: datetime | None = None) -> Fitted:
    """Alerts, as tracker.views.alerts lists them (newest first), with the sinks each reached."""
    full = Table(title="Alerts", title_justify="left", pad_edge=False)
    for name in ("time (UTC)", "kind", "severity", "message", "delivered to"):
        wraps = name == "message"  # the wide layout only when the message gets room to read
        full.add_column(name, no_wrap=not wraps, min_width=MESSAGE_MIN_WIDTH if wraps else None)
    compact = compact_table("Alerts")
    compact.add_column("time", no_wrap=True)
    compact.add_column("severity", no_wrap=True)
    compact.add_column("message", overflow="fold", ratio=1)
    compact.add_column("sent to", overflow="fold", max_width=SENT_MAX_WIDTH)
    for r in rows:
        severity = str(r.get("severity", ""))
        style = _SEVERITY_STYLE.get(severity, "")
        message = Text(plain(str(r.get("message", ""))))  # carries labels: never markup
        sent = ", ".join(r.get("delivered_to") or ()) or "-"
        full.add_row(
            full_time(r.get("time")),
            str(r.get("kind", "")),
            Text(severity, style),
            message,
            sent,
        )
        compact.add_row(when(r.get("time"), now), Text(severity, style), message, sent)
    return Fitted(full, compact)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def liquidations_daily_table(rows: Sequence[Mapping[str, Any]]) -> Fitted:
    """Episodes per UTC day and coin, as tracker.output.reads.liquidations_daily lists them."""
    full = Table(title="Liquidations per day (UTC)", title_justify="left", pad_edge=False)
    for name in (
        "day",
        "venue",
        "coin",
        "count",
        "total $",
        "long $",
        "short $",
        "largest $",
        "method",
    ):
        right = name.endswith("$") or name == "count"
        full.add_column(name, justify="right" if right else "left", no_wrap=True)
    full.add_column("largest: account", overflow="fold")
    compact = compact_table("Liquidations per day")
    for name in ("day", "coin", "n", "total", "largest"):
        compact.add_column(name, justify="left" if name in ("day", "coin") else "right")
    compact.add_column("account", overflow="fold")
    for r in rows:
        top = r.get("largest") or {}
        account = who(str(top.get("address", "")), top.get("label"))  # strangers' text
        total, largest = _dec(r.get("notional_usd")), _dec(top.get("notional_usd"))
        full.add_row(
            str(r.get("day", "")),
            str(r.get("venue", "")),
            Text(str(r.get("coin", ""))),
            str(r.get("count", "")),
            fmt(total, 0),
            fmt(_dec(r.get("long_notional_usd")), 0),
            fmt(_dec(r.get("short_notional_usd")), 0),
            fmt(largest, 0),
            Text(str(top.get("method", ""))),
            account,
        )
        compact.add_row(
            str(r.get("day", ""))[5:],
            Text(str(r.get("coin", ""))),
            str(r.get("count", "")),
            money(total),
            money(largest),
            account,
        )
    return Fitted(full, compact)
