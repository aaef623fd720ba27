"""`tracker market`: parse -> Settings -> one library call (`app.market.market`) -> render."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer

from tracker.cli.common import DbOption, err, settings_for


def register(app: typer.Typer) -> None:
    """Add `market` to app."""
    app.command()(market)


def market(
    coin: Annotated[
        str | None,
        typer.Argument(help="Coin as the venue names it (ETH, xyz:XYZ100); none: every coin."),
    ] = None,
    dex: Annotated[
        str | None,
        typer.Option(
            "--dex", help="Only this builder dex (e.g. xyz); a COIN without a prefix is on it."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """The market of COIN: venue figures, tracked longs and shorts per cohort, largest
    positions, liquidation clusters, recent changes and liquidations. Without COIN: every
    tracked coin by tracked notional."""
    import asyncio

    from rich.console import Console

    from tracker.app.market import market as read_market
    from tracker.cli.charts import watchlist_labels
    from tracker.output import market as views
    from tracker.output import market_view

    settings = settings_for(db)
    report = asyncio.run(read_market(settings, coin, dex, watchlist_labels()))
    note = None
    if report.venue_error is not None:
        stored = (
            f"the newest stored ones (as of {report.as_of:%Y-%m-%d %H:%M:%S} UTC)"
            if report.as_of
            else "none (none stored)"
        )
        note = f"the venue could not be reached ({report.venue_error}); market figures: {stored}"
    if as_json:
        doc = views.coin_json(report.coin) if report.coin else views.list_json(report.coins)
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif report.coin is not None:
        Console(highlight=False).print(market_view.coin_view(report.coin))
    elif not report.coins:
        Console(highlight=False).print(
            f"no tracked positions{f' on dex {dex}' if dex else ''} in {settings.db_path} yet: "
            "run 'tracker snapshot' or 'tracker run' first",
            markup=False,
            soft_wrap=True,
        )
    else:
        Console(highlight=False).print(market_view.list_table(report.coins))
    if note is not None:
        err.print(f"warning: {note}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1 if report.venue_error else 0)
