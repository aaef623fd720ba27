"""`tracker chart`, `liqmap`, `export`, `report`: parse -> Settings -> one library call -> render.

`register(app)` adds the commands to the main typer app. Errors are `BadInput` (exit 2, one line
from `tracker.cli.main`). The drawing modules are imported inside the commands: matplotlib takes
about half a second to load, which no other command should pay.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.addresses import normalise_address
from tracker.cli.common import DbOption, settings_for
from tracker.config import environment
from tracker.errors import BadInput
from tracker.times import option_time
from tracker.venues import HYPERLIQUID

if TYPE_CHECKING:
    from rich.console import Console

    from tracker.watchlists import WatchedAddress

log = logging.getLogger(__name__)


class ExportFormat(StrEnum):
    """File formats of `tracker export` (DuckDB's COPY)."""

    parquet = "parquet"
    csv = "csv"
    json = "json"


def register(app: typer.Typer) -> None:
    """Add chart, liqmap, export and report to app."""
    app.command("chart")(chart)
    app.command("liqmap")(liqmap)
    app.command("export")(export)
    app.command("report")(report)


def chart(
    address: Annotated[str, typer.Argument(help="Account address, 0x + 40 hex digits, any case.")],
    out: Annotated[Path, typer.Option("--out", help="Image file to write: .png or .svg.")],
    coin: Annotated[
        str | None, typer.Option("--coin", help="Only this coin's panel (e.g. ETH, flx:CRCL).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this time (ISO 8601; UTC unless given).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Chart ADDRESS over time: account value, unrealized PnL, mark vs liquidation price."""
    who = normalise_address(address)
    when = option_time(since, "--since") if since else None
    settings = settings_for(db)
    from tracker.output import charts

    series, picture = charts.write_chart(
        settings.db_path, who, out, coin=coin, since=when, label=watchlist_labels().get(who)
    )
    coins = ", ".join(c.coin for c in series.coins) or "no positions"
    _console().print(
        f"wrote {picture.path} ({picture.width_px}x{picture.height_px} px, "
        f"{picture.size_bytes / 1000:,.0f} kB): {len(series.ts)} snapshots; {coins}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def liqmap(
    coin: Annotated[str, typer.Argument(help="Coin, as the venue names it (ETH, flx:CRCL).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Image file (.png or .svg); without it, bars in the terminal."),
    ] = None,
    buckets: Annotated[
        int, typer.Option("--buckets", min=2, max=500, help="Price buckets around the mark.")
    ] = 40,
    db: DbOption = None,
) -> None:
    """Notional of watched positions liquidated at each price level of COIN, around the mark."""
    from tracker.output.terminal import fmt_px

    settings = settings_for(db)
    from tracker.output import liqmap as liqmaps

    if out is None:
        console = _console()
        result = liqmaps.load_liqmap(settings.db_path, coin, buckets)
        console.print(liqmaps.liqmap_table(result, console.width))
        return
    result, picture = liqmaps.write_liqmap(settings.db_path, coin, out, buckets)
    _console().print(
        f"wrote {picture.path} ({picture.width_px}x{picture.height_px} px, "
        f"{picture.size_bytes / 1000:,.0f} kB): {result.coin}, {result.positions} positions "
        f"in {buckets} buckets around the mark {fmt_px(result.mark_px)}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def export(
    out: Annotated[
        Path, typer.Option("--out", help="File to write; its suffix must match the format.")
    ],
    table: Annotated[
        str | None, typer.Argument(help="Table or view to export (positions, fills, ...).")
    ] = None,
    fmt: Annotated[
        ExportFormat | None,
        typer.Option("--format", help="parquet, csv or json (default: from the --out suffix)."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Export a named query from sql/queries instead.")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="k=v parameter of the named query.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    db: DbOption = None,
) -> None:
    """Write TABLE (or --name QUERY) to a Parquet, CSV or JSON file with DuckDB's COPY."""
    settings = settings_for(db)
    from tracker.output import export as exports

    done = exports.export(
        settings.db_path,
        out,
        table=table,
        name=name,
        params=param or [],
        fmt=fmt.value if fmt else None,
        force=force,
    )
    _console().print(
        f"wrote {done.rows:,} rows of {done.source} to {done.path} ({done.fmt})",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def report(
    out: Annotated[Path, typer.Option("--out", help="Folder to write index.html into.")],
    watchlist: Annotated[
        list[str] | None,
        typer.Option(
            "--watchlist", "-w", help="Watchlist NAME or PATH; repeatable. Default: every file."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Write an offline HTML report (charts, positions, liquidations) of the watchlists."""
    watched = _watched(watchlist)
    settings = settings_for(db)
    from tracker.output import report as reports

    done = reports.write_report(settings.db_path, out, watched)
    missing = f"; no snapshot yet: {len(done.missing)}" if done.missing else ""
    _console().print(
        f"wrote {done.path} ({done.size_bytes / 1000:,.0f} kB): {done.accounts} accounts, "
        f"{done.charts} charts, {done.liqmaps} liquidation maps{missing}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def watchlist_entries() -> list[WatchedAddress]:
    """Every watchlist's entries, merged; none without a folder, or when one cannot be read (a
    warning says why).

    For commands that only label or mark what they show, so a broken watchlist does not stop them.
    """
    from tracker import watchlists

    try:
        found = watchlists.labelling(watchlists.watchlists_dir(environment()))
    except BadInput as exc:
        log.warning("no labels from the watchlists: %s", exc)
        return []
    return watchlists.merge(found)


def watchlist_labels() -> dict[str, str]:
    """Address -> label from the watchlists folder; none when it cannot be read (only titles)."""
    return {entry.address: entry.label for entry in watchlist_entries()}


def _watched(names: list[str] | None) -> list[WatchedAddress]:
    from tracker import watchlists

    chosen = watchlists.chosen(names, watchlists.watchlists_dir(environment()))
    return [e for e in chosen if HYPERLIQUID in e.venues]


def _console() -> Console:
    # Made per call, not at import: rich reads the terminal width when a Console is created.
    from rich.console import Console

    return Console(highlight=False)
