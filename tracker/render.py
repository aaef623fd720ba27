"""Rendering records for people (rich tables) and programs (JSON with decimals as strings)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tracker.records import AccountReport, AccountSnapshot, EthereumReport, Holding, Position

DANGER_PCT = (Decimal(2), Decimal(5), Decimal(10))


def jsonable(value: Any) -> Any:
    """Decimals as strings, datetimes as ISO 8601 UTC, containers recursively."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def position_json(p: Position) -> dict[str, Any]:
    """The documented JSON object of one position."""
    doc: dict[str, Any] = jsonable(
        {
            "venue": p.venue,
            "address": p.address,
            "dex": p.dex,
            "coin": p.coin,
            "side": p.side,
            "size": p.size,
            "entry_px": p.entry_px,
            "mark_px": p.mark_px,
            "notional_usd": p.notional_usd,
            "unrealized_pnl": p.unrealized_pnl_usd,
            "roe": p.roe,
            "leverage": p.leverage,
            "margin_mode": p.margin_mode,
            "liquidation_px": p.liquidation_px,
            "venue_liquidation_px": p.venue_liquidation_px,
            "distance_to_liq_pct": p.distance_to_liq_pct,
            "effective_leverage": p.effective_leverage,
            "margin_used_usd": p.margin_used_usd,
            "maintenance_margin_usd": p.maintenance_margin_usd,
            "max_leverage": p.max_leverage,
        }
    )
    return doc


def account_json(a: AccountSnapshot) -> dict[str, Any]:
    """The JSON object of one account on one dex."""
    doc: dict[str, Any] = jsonable(
        {
            "venue": a.venue,
            "address": a.address,
            "dex": a.dex,
            "account_value_usd": a.account_value_usd,
            "cross_account_value_usd": a.cross_account_value_usd,
            "notional_usd": a.notional_usd,
            "margin_used_usd": a.margin_used_usd,
            "maintenance_margin_usd": a.maintenance_margin_usd,
            "withdrawable_usd": a.withdrawable_usd,
            "shock_to_liq_pct": a.shock_to_liq_pct,
            "positions": len(a.positions),
            "venue_time": a.venue_time,
        }
    )
    return doc


def holding_json(h: Holding) -> dict[str, Any]:
    """The JSON object of one on-chain holding."""
    doc: dict[str, Any] = jsonable(
        {
            "venue": h.venue,
            "asset": h.asset,
            "amount": h.amount,
            "usd_value": h.usd_value,
            "price_usd": h.price_usd,
            "token_address": h.token_address,
            "chain_id": h.chain_id,
            "block_number": h.block_number,
        }
    )
    return doc


def watch_json(report: AccountReport, eth: EthereumReport | None = None) -> dict[str, Any]:
    """The `tracker watch --once --json` document: both venues of one address."""
    accounts = [*report.accounts, *(eth.accounts if eth else ())]
    positions = [
        *report.positions,
        *(p for a in (eth.accounts if eth else ()) for p in a.positions),
    ]
    positions.sort(key=lambda p: p.notional_usd, reverse=True)
    return {
        "address": report.address,
        "time": jsonable(report.ts),
        "accounts": [account_json(a) for a in accounts],
        "positions": [position_json(p) for p in positions],
        "holdings": [holding_json(h) for h in (eth.holdings if eth else ())],
        "errors": [*report.errors, *(eth.errors if eth else ())],
    }


def fmt(value: Decimal | None, places: int = 2) -> str:
    """Thousands separators and fixed places; '-' for None."""
    if value is None:
        return "-"
    return f"{value:,.{places}f}"


def fmt_px(value: Decimal | None) -> str:
    """A price with about 6 significant digits."""
    if value is None:
        return "-"
    magnitude = abs(value)
    places = 2 if magnitude >= 1000 else 4 if magnitude >= 1 else 8
    return f"{value:,.{places}f}"


def danger_style(distance_pct: Decimal | None) -> str:
    """Colour of a distance to liquidation: red under 2 %, orange under 5 %, yellow under 10 %."""
    if distance_pct is None:
        return "green"
    if distance_pct < DANGER_PCT[0]:
        return "bold white on red"
    if distance_pct < DANGER_PCT[1]:
        return "bold red"
    if distance_pct < DANGER_PCT[2]:
        return "yellow"
    return "green"


def positions_table(positions: Sequence[Position]) -> Table:
    """Positions sorted by notional, distance to liquidation coloured by danger."""
    table = Table(title="Positions", title_justify="left", expand=False, pad_edge=False)
    for name, justify in (
        ("coin", "left"),
        ("side", "left"),
        ("size", "right"),
        ("entry", "right"),
        ("mark", "right"),
        ("notional $", "right"),
        ("uPnL $", "right"),
        ("ROE %", "right"),
        ("lev", "right"),
        ("mode", "left"),
        ("liq px", "right"),
        ("venue liq", "right"),
        ("to liq %", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for p in sorted(positions, key=lambda p: p.notional_usd, reverse=True):
        pnl_style = "green" if p.unrealized_pnl_usd >= 0 else "red"
        table.add_row(
            p.coin,
            Text(p.side, "green" if p.side == "long" else "red"),
            fmt(p.size, 4),
            fmt_px(p.entry_px),
            fmt_px(p.mark_px),
            fmt(p.notional_usd, 0),
            Text(fmt(p.unrealized_pnl_usd, 0), pnl_style),
            fmt(p.roe * 100 if p.roe is not None else None, 1),
            f"{p.leverage}x",
            p.margin_mode,
            fmt_px(p.liquidation_px),
            fmt_px(p.venue_liquidation_px),
            Text(fmt(p.distance_to_liq_pct, 2), danger_style(p.distance_to_liq_pct)),
        )
    return table


def accounts_table(accounts: Sequence[AccountSnapshot]) -> Table:
    """Account summary per venue and dex, with the shock to liquidation."""
    table = Table(title="Accounts", title_justify="left", pad_edge=False)
    for name in (
        "venue",
        "value $",
        "notional $",
        "margin $",
        "maint $",
        "withdrawable $",
        "shock to liq %",
    ):
        table.add_column(name, justify="left" if name == "venue" else "right")
    for a in accounts:
        shock = a.shock_to_liq_pct
        where = f"hyperliquid {a.dex or 'main'}" if a.venue == "hyperliquid" else a.venue
        table.add_row(
            where,
            fmt(a.account_value_usd, 0),
            fmt(a.notional_usd, 0),
            fmt(a.margin_used_usd, 0),
            fmt(a.maintenance_margin_usd, 0),
            fmt(a.withdrawable_usd, 0),
            Text(fmt(shock, 2), danger_style(abs(shock) if shock is not None else None)),
        )
    return table


def holdings_table(holdings: Sequence[Holding]) -> Table:
    """On-chain holdings, largest first."""
    table = Table(title="Holdings", title_justify="left", pad_edge=False)
    for name in ("venue", "asset", "amount", "price $", "value $"):
        table.add_column(name, justify="left" if name in ("venue", "asset") else "right")
    for h in sorted(holdings, key=lambda h: h.usd_value or 0, reverse=True):
        table.add_row(h.venue, h.asset, fmt(h.amount, 4), fmt_px(h.price_usd), fmt(h.usd_value, 0))
    return table


def watch_view(
    report: AccountReport, label: str | None, status: str, eth: EthereumReport | None = None
) -> Group:
    """The whole live screen of `tracker watch`: Hyperliquid and, when known, Ethereum."""
    title = Text.assemble(
        ("tracker watch ", "bold"),
        (report.address, "cyan"),
        (f"  {label}" if label else "", "magenta"),
    )
    parts: list[Any] = [title]
    eth_accounts = eth.accounts if eth else ()
    accounts = [*report.accounts, *eth_accounts]
    positions = [*report.positions, *(p for a in eth_accounts for p in a.positions)]
    if accounts:
        parts.append(accounts_table(accounts))
    if positions:
        parts.append(positions_table(positions))
    elif not report.errors:
        parts.append(Text("no open positions", style="dim"))
    if eth and eth.holdings:
        parts.append(holdings_table(eth.holdings))
    for error in [*report.errors, *(eth.errors if eth else ())]:
        parts.append(Text(f"error: {error}", style="red"))
    parts.append(Text(status, style="dim"))
    return Group(*parts)


def liquidations_table(rows: Sequence[dict[str, Any]]) -> Table:
    """Liquidation episodes for people."""
    table = Table(title="Liquidations", title_justify="left", pad_edge=False)
    for name in (
        "start (UTC)",
        "address",
        "coin",
        "side",
        "notional $",
        "fills",
        "method",
        "mark",
        "loss $",
        "large",
    ):
        table.add_column(
            name, justify="right" if name in ("notional $", "fills", "mark", "loss $") else "left"
        )
    for r in rows:
        table.add_row(
            str(r["start"])[:19].replace("T", " "),
            r["address"],
            r["coin"],
            r["side"] or "-",
            fmt(_dec(r["notional_usd"]), 0),
            str(r["fills"]),
            r["method"],
            fmt_px(_dec(r["mark_px"])),
            fmt(_dec(r["realized_loss_usd"]), 0),
            Text("LARGE", "bold red") if r["large"] else "",
        )
    return table


def alerts_table(rows: Sequence[dict[str, Any]]) -> Table:
    """Alerts for people."""
    table = Table(title="Alerts", title_justify="left", pad_edge=False)
    for name in ("time (UTC)", "kind", "severity", "message", "delivered to"):
        table.add_column(name)
    for r in rows:
        style = {"critical": "bold red", "warning": "yellow"}.get(r["severity"], "")
        table.add_row(
            str(r["time"])[:19].replace("T", " "),
            r["kind"],
            Text(r["severity"], style),
            r["message"],
            ", ".join(r["delivered_to"]) or "-",
        )
    return table


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def status_view(doc: dict[str, Any]) -> Group:
    """`tracker status` for people."""
    parts: list[Any] = [Text.assemble(("tracker status ", "bold"), doc["db"])]
    endpoints = Table(show_header=False, pad_edge=False)
    for name, url in doc["endpoints"].items():
        endpoints.add_row(name, url or "-")
    parts.append(endpoints)
    daemon = doc.get("daemon")
    if not daemon:
        parts.append(Text("no daemon status (is `tracker run` running with this --db?)", "dim"))
    else:
        running = "running" if daemon.get("running") else "NOT running (last status below)"
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
        stalest = Table(title="Stalest accounts", title_justify="left", pad_edge=False)
        stalest.add_column("address")
        stalest.add_column("staleness s", justify="right")
        for row in daemon["stalest"]:
            stalest.add_row(row["address"], str(row["staleness_s"]))
        parts.append(stalest)
    if doc.get("last_pass"):
        p = doc["last_pass"]
        parts.append(
            Text(
                f"last stored pass {p['ts']} ({p['command']}): {p['addresses_ok']}/"
                f"{p['addresses']} addresses, {p['positions']} positions"
            )
        )
    return Group(*parts)
