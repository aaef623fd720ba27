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


def discover_table(picked: Sequence[Discovered], title: str) -> Table:
    """The picked accounts, one row each (sub-accounts indented under their master)."""
    table = Table(title=Text(title), title_justify="left", pad_edge=False)
    table.add_column("rank", justify="right", no_wrap=True)
    table.add_column("address", no_wrap=True, min_width=42)
    table.add_column("name")
    for name in ("account value", "pnl all time", "pnl month", "roi all time", "volume month"):
        table.add_column(name, justify="right", no_wrap=True)
    for found in picked:
        row = found.row
        table.add_row(
            str(found.rank),
            row.address,
            Text(plain(row.display_name or "")),
            fmt(row.account_value_usd, 0),
            fmt(row.pnl_all_time_usd, 0),
            fmt(row.pnl_month_usd, 0),
            fmt(row.roi_all_time, 4),
            fmt(row.volume_month_usd, 0),
        )
        for sub in found.sub_accounts:
            table.add_row("", sub.address, Text(f"sub {plain(sub.name)}"))
    return table
