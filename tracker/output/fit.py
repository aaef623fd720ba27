"""Tables that fit the terminal: full cells where they fit, compact ones where it is narrow.

An 80-column terminal cannot hold a 42-character address, a 19-character time and eleven
digits of notional in one row; rich would cut every cell to "0xb3…". So each table is built
twice, and `Fitted` draws the full one only when every cell of it fits uncut, otherwise the
compact one: $222.6M, "1011 whale 0xb317…83ae", "01-31 22:00" for this year's times.
Programs read `--json`, which always carries the full values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from tracker.addresses import short_address
from tracker.plain import plain
from tracker.times import parse_iso

_UNITS = (("B", Decimal(10) ** 9), ("M", Decimal(10) ** 6), ("K", Decimal(10) ** 3))
_TENTH = Decimal("0.1")
_UNBOUNDED = 100_000  # columns: measure a table as if the terminal had no right edge


class Fitted:
    """Draws `full` when all its cells fit the width uncut, else `compact`."""

    def __init__(self, full: Table, compact: Table) -> None:
        self.full = full
        self.compact = compact

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        need = Measurement.get(console, options.update_width(_UNBOUNDED), self.full).minimum
        yield self.full if need <= options.max_width else self.compact


def compact_table(title: str) -> Table:
    """A table of plain columns two spaces apart, like `ps`: no rules, the room goes to cells."""
    return Table(
        title=title,
        title_justify="left",
        box=None,
        pad_edge=False,
        header_style="bold underline",
    )


def money(value: Decimal | None) -> str:
    """US dollars in about six characters: $222.6M, -$3.2M, $15.0K, $950; '-' for None."""
    return scaled(value, "$")


def scaled(value: Decimal | None, prefix: str = "") -> str:
    """A magnitude with K/M/B and one decimal (222.6M), small ones as they are; '-' for None."""
    if value is None:
        return "-"
    sign, amount = ("-" if value < 0 else ""), abs(value)
    for i, (unit, size) in enumerate(_UNITS):
        if amount >= size:
            shown = (amount / size).quantize(_TENTH, ROUND_HALF_EVEN)
            if shown >= 1000 and i > 0:  # 999.96K shows as 1.0M, not 1,000.0K
                unit, size = _UNITS[i - 1]
                shown = (amount / size).quantize(_TENTH, ROUND_HALF_EVEN)
            return f"{sign}{prefix}{shown:,}{unit}"
    return f"{sign}{prefix}{amount:,.0f}" if amount >= 10 else f"{sign}{prefix}{amount:.2f}"


def pct(value: Decimal | None) -> str:
    """-23.14%; '-' for None."""
    return "-" if value is None else f"{value:,.2f}%"


def who(address: str, label: str | None) -> Text:
    """'1011 whale 0xb317…83ae': the watchlist label (plain text, not markup), then the address."""
    text = Text(plain(label or ""), style="magenta")
    if label:
        text.append(" ")
    text.append(short_address(address))
    return text


def when(value: str | datetime | None, now: datetime | None = None) -> str:
    """'01-31 22:00' (UTC) within the current year, '2025-10-10' before; '-' for None."""
    if value is None:
        return "-"
    ts = value if isinstance(value, datetime) else parse_iso(value)
    ts = ts.astimezone(UTC)
    if ts.year == (now or datetime.now(UTC)).astimezone(UTC).year:
        return f"{ts:%m-%d %H:%M}"
    return f"{ts:%Y-%m-%d}"


def full_time(value: str | datetime | None) -> str:
    """'2026-01-31 22:00:00' (UTC); '-' for None."""
    if value is None:
        return "-"
    ts = value if isinstance(value, datetime) else parse_iso(value)
    return f"{ts.astimezone(UTC):%Y-%m-%d %H:%M:%S}"
