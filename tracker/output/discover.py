"""`tracker discover` rendered: the picked accounts as JSON or a terminal table.

Display names are strangers' text: shown as plain text (rich `Text`, never markup) with control
and format characters (newlines, escapes, bidi overrides) written as visible escapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from tracker.jsonable import jsonable
from tracker.output.fit import Fitted, compact_table, money, pct, who
from tracker.output.terminal import fmt
from tracker.plain import plain
from tracker.records.leaderboard import LEADERBOARD_FIELDS, Discovered


def discover_json(picked: Sequence[Discovered], *, sub_accounts: bool) -> list[dict[str, Any]]:
    """One object per account with exactly the `leaderboard` table's keys (+ `sub_accounts`)."""
    docs: list[dict[str, Any]] = []
    for found in picked:
        doc = {name: jsonable(getattr(found.row, name)) for name in LEADERBOARD_FIELDS}
        if sub_accounts:
            doc["sub_accounts"] = [
                {"address": s.address, "name": s.name} for s in found.sub_accounts
            ]
        docs.append(doc)
    return docs


def discover_table(picked: Sequence[Discovered], title: str) -> Fitted:
    """The picked accounts, one row each (sub-accounts under their master); compact when narrow."""
    full = Table(title=Text(title), title_justify="left", pad_edge=False)
    full.add_column("rank", justify="right", no_wrap=True)
    full.add_column("address", no_wrap=True, min_width=42)
    full.add_column("name")
    for name in ("account value", "pnl all time", "pnl month", "roi all time", "volume month"):
        full.add_column(name, justify="right", no_wrap=True)
    compact = compact_table(title)
    compact.add_column("rank", justify="right", no_wrap=True)
    compact.add_column("account", overflow="fold")
    for name in ("value", "pnl all", "pnl month", "roi all", "vlm month"):
        compact.add_column(name, justify="right", no_wrap=True)
    for found in picked:
        row = found.row
        full.add_row(
            str(found.rank),
            row.address,
            Text(plain(row.display_name or "")),
            fmt(row.account_value_usd, 0),
            fmt(row.pnl_all_time_usd, 0),
            fmt(row.pnl_month_usd, 0),
            fmt(row.roi_all_time, 4),
            fmt(row.volume_month_usd, 0),
        )
        compact.add_row(
            str(found.rank),
            who(row.address, row.display_name),
            money(row.account_value_usd),
            money(row.pnl_all_time_usd),
            money(row.pnl_month_usd),
            pct(None if row.roi_all_time is None else row.roi_all_time * 100),
            money(row.volume_month_usd),
        )
        for sub in found.sub_accounts:
            full.add_row("", sub.address, Text(f"sub {plain(sub.name)}"))
            compact.add_row("", who(sub.address, f"sub {sub.name}"))
    return Fitted(full, compact)
