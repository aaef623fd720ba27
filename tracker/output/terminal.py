"""Rendering records for people (rich tables) and programs (JSON with decimals as strings)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tracker.jsonable import jsonable
from tracker.output.fit import Fitted, compact_table, money, pct, scaled
from tracker.plain import plain
from tracker.records import AccountReport, AccountSnapshot, EthereumReport, Holding, Position
from tracker.venues import HYPERLIQUID

DANGER_PCT = (Decimal(2), Decimal(5), Decimal(10))


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


def _full_table(title: str, columns: Sequence[tuple[str, str]]) -> Table:
    """The wide layout: every value whole, no cell ever wrapped or cut."""
    table = Table(title=title, title_justify="left", pad_edge=False)
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    return table


def _compact(title: str, columns: Sequence[tuple[str, str]], wrap: str = "") -> Table:
    """The narrow layout: only the column named `wrap` may wrap (at spaces, never cut)."""
    table = compact_table(title)
    for name, justify in columns:
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=name != wrap,
            overflow="fold",
        )
    return table


def _side(side: str) -> Text:
    return Text(side, "green" if side == "long" else "red")


def positions_table(positions: Sequence[Position]) -> Fitted:
    """Positions sorted by notional, distance to liquidation coloured by danger."""
    full = _full_table(
        "Positions",
        [
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
        ],
    )
    compact = _compact(
        "Positions",
        [
            ("position", "left"),
            ("notional", "right"),
            ("uPnL", "right"),
            ("entry", "right"),
            ("mark", "right"),
            ("liq px", "right"),
            ("to liq", "right"),
        ],
        wrap="position",
    )
    for p in sorted(positions, key=lambda p: p.notional_usd, reverse=True):
        pnl_style = "green" if p.unrealized_pnl_usd >= 0 else "red"
        danger = danger_style(p.distance_to_liq_pct)
        full.add_row(
            Text(p.coin),
            _side(p.side),
            fmt(p.size, 4),
            fmt_px(p.entry_px),
            fmt_px(p.mark_px),
            fmt(p.notional_usd, 0),
            Text(fmt(p.unrealized_pnl_usd, 0), pnl_style),
            fmt(p.roe * 100 if p.roe is not None else None, 1),
            f"{p.leverage}x" if p.leverage else "-",
            p.margin_mode,
            fmt_px(p.liquidation_px),
            fmt_px(p.venue_liquidation_px),
            Text(fmt(p.distance_to_liq_pct, 2), danger),
        )
        position = Text.assemble(Text(p.coin), " ", _side(p.side))
        if p.leverage:
            position.append(f" {p.leverage}x")
        compact.add_row(
            position,
            money(p.notional_usd),
            Text(money(p.unrealized_pnl_usd), pnl_style),
            fmt_px(p.entry_px),
            fmt_px(p.mark_px),
            fmt_px(p.liquidation_px),
            Text(pct(p.distance_to_liq_pct), danger),
        )
    return Fitted(full, compact)


def accounts_table(accounts: Sequence[AccountSnapshot]) -> Fitted:
    """Account summary per venue and dex, with the shock to liquidation."""
    names = ("value", "notional", "margin", "maint", "withdrawable", "shock to liq")
    full = _full_table(
        "Accounts",
        [
            ("venue", "left"),
            *((f"{n} {'%' if n == 'shock to liq' else '$'}", "right") for n in names),
        ],
    )
    compact = _compact(
        "Accounts",
        [("venue", "left"), *((n if n != "withdrawable" else "free", "right") for n in names)],
        wrap="venue",
    )
    for a in accounts:
        shock = a.shock_to_liq_pct
        danger = danger_style(abs(shock) if shock is not None else None)
        dex = a.dex or "main"
        figures = (
            a.account_value_usd,
            a.notional_usd,
            a.margin_used_usd,
            a.maintenance_margin_usd,
            a.withdrawable_usd,
        )
        full.add_row(
            f"hyperliquid {dex}" if a.venue == HYPERLIQUID else a.venue,
            *(fmt(v, 0) for v in figures),
            Text(fmt(shock, 2), danger),
        )
        compact.add_row(
            f"HL {dex}" if a.venue == HYPERLIQUID else a.venue,
            *(money(v) for v in figures),
            Text(pct(shock), danger),
        )
    return Fitted(full, compact)


def holdings_table(holdings: Sequence[Holding]) -> Fitted:
    """On-chain holdings, largest first."""
    columns = [("venue", "left"), ("asset", "left"), ("amount", "right")]
    full = _full_table("Holdings", [*columns, ("price $", "right"), ("value $", "right")])
    compact = _compact("Holdings", [*columns, ("price", "right"), ("value", "right")])
    for h in sorted(holdings, key=lambda h: h.usd_value or 0, reverse=True):
        asset = Text(h.asset)  # a token's symbol is the deployer's text: never markup
        full.add_row(h.venue, asset, fmt(h.amount, 4), fmt_px(h.price_usd), fmt(h.usd_value, 0))
        compact.add_row(h.venue, asset, scaled(h.amount), fmt_px(h.price_usd), money(h.usd_value))
    return Fitted(full, compact)


def watch_view(
    report: AccountReport, label: str | None, status: str, eth: EthereumReport | None = None
) -> Group:
    """The whole live screen of `tracker watch`: Hyperliquid and, when known, Ethereum."""
    title = Text.assemble(
        ("tracker watch ", "bold"),
        (report.address, "cyan"),
        (f"  {plain(label)}" if label else "", "magenta"),
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
