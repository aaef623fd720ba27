"""`tracker market` in the terminal: the coin's figures, cohorts, largest positions, liquidation
clusters, recent changes and liquidations; or the list of tracked coins.

Tables with an address are `Fitted`: whole values when the terminal is wide, compact cells
(`$222.6M`, `label 0xb317…83ae`) at 80 columns. Labels are strangers' text: rich `Text` with
control characters escaped, never markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from rich.console import Group, JustifyMethod, RenderableType
from rich.table import Table
from rich.text import Text

from tracker.output.fit import Fitted, compact_table, full_time, money, pct, scaled, when, who
from tracker.output.market import CoinMarket, CoinRow, Quote, Tracked
from tracker.output.terminal import fmt, fmt_px
from tracker.plain import plain


def _label(label: str | None) -> str | None:
    return plain(label) if label else None


def _share(tracked: Tracked, oi: Decimal | None, side: str) -> str:
    share = tracked.share_of_oi(oi)[side]
    return "-" if share is None else pct(share * 100)


def _side(side: str | None) -> Text:
    return Text(side or "-", "green" if side == "long" else "red" if side == "short" else "")


def _header(m: CoinMarket) -> Text:
    q = m.quote
    where = f" on dex {m.dex}" if m.dex else ""
    text = Text(f"{m.coin}{where}", "bold")
    if q is None:
        return text.append("  no market figures (neither the venue nor the store has them)", "")
    funding = q.funding_rate_hourly
    apr = q.funding_apr
    text.append(
        f"\nmark {fmt_px(q.mark_px)}  oracle {fmt_px(q.oracle_px)}  funding "
        f"{'-' if funding is None else f'{funding * 100:.4f}%'}/h "
        f"({'-' if apr is None else f'{apr * 100:.2f}%'} a year)",
        "",
    )
    text.append(
        f"\nopen interest {scaled(q.open_interest)} {m.coin} ({money(q.open_interest_usd)})  "
        f"24h volume {money(q.volume_24h_usd)}",
        "",
    )
    return text


def cohorts_table(m: CoinMarket) -> Table:
    """Tracked longs and shorts: all of them, then per cohort (share of open interest in coins)."""
    oi = m.quote.open_interest if m.quote else None
    table = compact_table("Tracked positions by cohort")
    table.add_column("cohort", no_wrap=True)
    for name in ("longs", "accts", "shorts", "accts", "L % OI", "S % OI"):
        table.add_column(name, justify="right", no_wrap=True)

    def row(name: str, t: Tracked, style: str = "") -> None:
        table.add_row(
            Text(name, style),
            money(t.long_notional_usd),
            str(t.accounts_long),
            money(t.short_notional_usd),
            str(t.accounts_short),
            _share(t, oi, "long"),
            _share(t, oi, "short"),
        )

    row("all tracked", m.tracked, "bold")
    kind = ""
    for c in m.cohorts:
        if c.kind != kind:
            kind = c.kind
            heading = "by account value" if kind == "account_value" else "by all-time PnL"
            table.add_row(Text(heading, "italic"))
        if c.tracked.accounts_long or c.tracked.accounts_short:
            row(f"  {c.cohort}", c.tracked)
    return table


def _tables(title: str, full_columns: str, compact_columns: str) -> tuple[Table, Table]:
    """The wide and the compact table of one list of accounts: columns named in a space-separated
    string, `_` for a space in a name; `<` marks a left-aligned column (the rest align right).
    `address` and `label` (wide) and `account` (compact, label then short address) may wrap."""
    full = Table(title=title, title_justify="left", pad_edge=False)
    compact = compact_table(title)
    for table, names in ((full, full_columns), (compact, compact_columns)):
        for spec in names.split():
            name = spec.lstrip("<").replace("_", " ")
            justify: JustifyMethod = "left" if spec.startswith("<") else "right"
            if name == "account":
                table.add_column(name, overflow="fold")
            else:
                table.add_column(name, justify=justify, no_wrap=name != "label")
    return full, compact


def largest_table(rows: Sequence[Mapping[str, Any]]) -> Fitted:
    """The largest tracked positions."""
    full, compact = _tables(
        "Largest tracked positions",
        "<address <label <side size notional_$ entry liq_px to_liq_%",
        "<account <side size notional entry liq_px to_liq",
    )
    for r in rows:
        label = _label(r.get("label"))
        full.add_row(
            str(r["address"]),
            Text(label or ""),
            _side(r["side"]),
            fmt(r["size"], 4),
            fmt(r["notional_usd"], 0),
            fmt_px(r["entry_px"]),
            fmt_px(r["liquidation_px"]),
            fmt(r["distance_to_liq_pct"], 2),
        )
        compact.add_row(
            who(str(r["address"]), label),
            _side(r["side"]),
            scaled(r["size"]),
            money(r["notional_usd"]),
            fmt_px(r["entry_px"]),
            fmt_px(r["liquidation_px"]),
            pct(r["distance_to_liq_pct"]),
        )
    return Fitted(full, compact)


def clusters_table(m: CoinMarket) -> Table:
    """The nearest liquidation clusters below (longs) and above (shorts) the mark."""
    table = compact_table("Nearest liquidation clusters")
    for name in ("side", "price range", "notional", "from mark"):
        table.add_column(name, justify="left" if name == "side" else "right", no_wrap=True)
    for c in m.clusters:
        table.add_row(
            _side(c.side),
            f"{fmt_px(c.price_low)} – {fmt_px(c.price_high)}",
            money(c.notional_usd),
            pct(c.distance_pct),
        )
    return table


def changes_table(rows: Sequence[Mapping[str, Any]]) -> Fitted:
    """The newest large position changes on the coin."""
    full, compact = _tables(
        "Recent large position changes",
        "<time_(UTC) <address <label <kind <side size notional_$ price",
        "<time <account <kind notional price",
    )
    for r in rows:
        label = _label(r.get("label"))
        full.add_row(
            full_time(r["ts"]),
            str(r["address"]),
            Text(label or ""),
            str(r["kind"]),
            str(r["side"]),
            fmt(r["size"], 4),
            fmt(r["notional_usd"], 0),
            fmt_px(r["avg_px"]),
        )
        compact.add_row(
            when(r["ts"]),
            who(str(r["address"]), label),
            str(r["kind"]),
            money(r["notional_usd"]),
            fmt_px(r["avg_px"]),
        )
    return Fitted(full, compact)


def liquidations_table(rows: Sequence[Mapping[str, Any]]) -> Fitted:
    """The newest liquidation episodes on the coin."""
    full, compact = _tables(
        "Recent liquidations",
        "<start_(UTC) <address <label <side notional_$ <method mark",
        "<start <account <side notional mark",
    )
    for r in rows:
        label = _label(r.get("label"))
        full.add_row(
            full_time(r["start_ts"]),
            str(r["address"]),
            Text(label or ""),
            _side(r["side"]),
            fmt(r["notional_usd"], 0),
            str(r["method"]),
            fmt_px(r["mark_px"]),
        )
        compact.add_row(
            when(r["start_ts"]),
            who(str(r["address"]), label),
            _side(r["side"]),
            money(r["notional_usd"]),
            fmt_px(r["mark_px"]),
        )
    return Fitted(full, compact)


def coin_view(m: CoinMarket) -> Group:
    """Everything about one coin, section by section (empty sections say so in one line)."""
    parts: list[RenderableType] = [_header(m), "", cohorts_table(m), ""]
    sections: tuple[tuple[Sequence[Any], RenderableType, str], ...] = (
        (m.largest, largest_table(m.largest), "no tracked positions"),
        (m.clusters, clusters_table(m), "no liquidation prices among the tracked positions"),
        (m.changes, changes_table(m.changes), "no large position changes stored"),
        (m.liquidations, liquidations_table(m.liquidations), "no liquidations stored"),
    )
    for items, table, empty in sections:
        parts += [table if items else Text(f"{m.coin}: {empty}", "dim"), ""]
    return Group(*parts[:-1])


def list_table(rows: Sequence[CoinRow]) -> Table:
    """Tracked coins by tracked notional, with the venue's mark and open interest."""
    table = compact_table("Tracked coins by tracked notional")
    table.add_column("coin", no_wrap=True)
    for name in ("longs", "accts", "shorts", "accts", "mark", "OI", "L % OI", "S % OI"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in rows:
        q: Quote | None = r.quote
        oi = q.open_interest if q else None
        table.add_row(
            Text(r.coin),
            money(r.tracked.long_notional_usd),
            str(r.tracked.accounts_long),
            money(r.tracked.short_notional_usd),
            str(r.tracked.accounts_short),
            fmt_px(q.mark_px if q else None),
            money(q.open_interest_usd if q else None),
            _share(r.tracked, oi, "long"),
            _share(r.tracked, oi, "short"),
        )
    return table
