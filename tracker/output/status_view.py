"""`tracker status` for people: the store, the daemon's status file, the universe."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tracker.jsonable import trimmed
from tracker.output.fit import full_time


def _daemon_lines(daemon: dict[str, Any]) -> list[Any]:
    """The running daemon's part: its budget, stream, latencies, liquidations, stalest accounts."""
    parts: list[Any] = []
    running = (
        "running"
        if daemon.get("running")
        else "NOT running (its last status below; a polling daemon writes none)"
    )
    budget, stream = daemon["budget"], daemon["stream"]
    parts.append(
        Text(
            f"daemon pid {daemon['pid']} {running}, {daemon['mode']} mode, "
            f"status at {daemon['time']}"
        )
    )
    parts.append(
        Text(
            f"budget: {budget['used_last_min']}/{budget['per_min'] or 'unlimited'}"
            f" weight in the last minute (max {budget['max_in_any_min']})"
        )
    )
    parts.append(
        Text(
            f"stream: {stream['state']}, {stream['reconnects']} reconnects, last "
            f"message {stream['last_message_s_ago']} s ago, "
            f"{len(stream['users_followed'])} users followed, "
            f"{stream['coins']} coins"
        )
    )
    parts.append(
        Text(
            f"mark to risk p99 {daemon['mark_to_risk_p99_ms']} ms, trade to "
            f"refresh p99 {daemon['trade_to_refresh_p99_s']} s, staleness p50 "
            f"{daemon['staleness_p50_s']} s"
        )
    )
    liq = daemon.get("liquidations")
    if liq:  # issue 15: the tape's liquidation candidates
        parts.append(
            Text(
                f"liquidations: {liq['candidates']} candidates, {liq['confirmed']} "
                f"confirmed, {liq['rejected']} rejected, {liq['dropped_for_budget']} "
                f"dropped for lack of budget, {liq['pending']} pending; confirm weight "
                f"{liq['weight_used_last_min']}/{liq['weight_per_min']} (max "
                f"{liq['weight_max_in_any_min']}); confirmed from WebSocket snapshots "
                f"{liq.get('confirmed_ws', 0)}, over REST {liq.get('confirmed_rest', 0)}"
            )
        )
    if "loop_lag_ms_max" in daemon:  # `tracker run --loop-lag`
        parts.append(
            Text(
                f"event loop lag: max {daemon['loop_lag_ms_max']} ms, p99 "
                f"{daemon['loop_lag_ms_p99']} ms ({daemon['loop_lag_wakeups']} wake-ups)"
            )
        )
    stalest = Table(title="Stalest accounts", title_justify="left", pad_edge=False)
    stalest.add_column("address")
    stalest.add_column("staleness s", justify="right")
    for row in daemon["stalest"]:
        stalest.add_row(row["address"], str(row["staleness_s"]))
    parts.append(stalest)
    return parts


def status_view(doc: dict[str, Any]) -> Group:
    """`tracker status` for people."""
    parts: list[Any] = [Text.assemble(("tracker status ", "bold"), doc["db"])]
    endpoints = Table(show_header=False, pad_edge=False)
    for name, url in doc["endpoints"].items():
        endpoints.add_row(name, url or "-")
    parts.append(endpoints)
    daemon = doc.get("daemon")
    if not daemon:
        parts.append(Text(NO_STATUS_FILE, "dim"))
    else:
        parts.extend(_daemon_lines(daemon))
    if doc.get("last_pass"):
        p = doc["last_pass"]
        parts.append(
            Text(
                f"last stored pass {p['ts']} ({p['command']}): {p['addresses_ok']}/"
                f"{p['addresses']} addresses, {p['positions']} positions, weight {p['weight']}"
            )
        )
    elif "last_pass" in doc:
        parts.append(Text("no pass stored yet", "dim"))
    if universe := doc.get("universe"):
        threshold = _plain_number(universe["min_account_value_usd"])
        parts.append(
            Text(
                f"universe (tracker run --discover {threshold}): "
                f"{universe['seen']}/{universe['accounts']} accounts seen, "
                f"{universe['accounts'] - universe['seen']} to sweep; leaderboard read "
                f"{universe['listed_at']}"
            )
        )
    if not daemon and doc.get("stalest_stored"):
        stored = Table(title="Stalest stored accounts", title_justify="left", pad_edge=False)
        stored.add_column("address", no_wrap=True)
        stored.add_column("last snapshot (UTC)", no_wrap=True)
        for row in doc["stalest_stored"]:
            stored.add_row(row["address"], full_time(row["last_snapshot"]))
        parts.append(stored)
    return Group(*parts)


NO_STATUS_FILE = (
    "no live status file: `tracker run` writes one every 2 s in live mode only. In polling mode "
    "(`tracker run --no-live`), as after `tracker snapshot`, this shows what the store holds: "
    "the last stored pass and the accounts whose latest snapshot is oldest."
)


def _plain_number(value: object) -> str:
    """1000000 for the store's 1000000.000000000000000000 (a threshold as the user typed it)."""
    try:
        return str(trimmed(Decimal(str(value))))
    except ArithmeticError:
        return str(value)
