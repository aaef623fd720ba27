"""`tracker status`, `liquidations`, `alerts` and `query`: the read side of the store, rendered."""

from __future__ import annotations

import sys
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

import orjson
import typer

from tracker.addresses import normalise_address
from tracker.cli import charts as cli_charts
from tracker.cli.common import DbOption, out, settings_for
from tracker.errors import BadInput
from tracker.times import option_time
from tracker.venues import ETHEREUM


def register(app: typer.Typer) -> None:
    """Add status, liquidations, alerts and query to app (in that order, after run)."""
    app.command()(status)
    app.command()(liquidations)
    app.command()(alerts)
    app.command()(query)


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """What the running `tracker run` reports: budget use, stream health, stalest accounts."""
    from tracker.output import reads as views
    from tracker.output import status_view as render

    settings = settings_for(db)
    doc = views.status(settings)
    if as_json:
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    out.print(render.status_view(doc))


def liquidations(
    min_usd: Annotated[
        float, typer.Option("--min-usd", min=0, help="Only episodes of at least this notional.")
    ] = 0.0,
    since: Annotated[
        str | None, typer.Option("--since", help="Only episodes ending at or after (ISO 8601).")
    ] = None,
    address: Annotated[str | None, typer.Option("--address", help="Only this account.")] = None,
    watched_only: Annotated[
        bool, typer.Option("--watched", help="Only accounts on a watchlist.")
    ] = False,
    coin: Annotated[
        str | None, typer.Option("--coin", help="Only this coin (BTC, xyz:XYZ100).")
    ] = None,
    daily: Annotated[
        bool,
        typer.Option(
            "--daily",
            help="Per UTC day, venue and coin: count, notional, long/short, the largest one.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    db: DbOption = None,
) -> None:
    """Liquidation episodes of every account (market slices and backstops merged), largest
    first; --daily sums them per UTC day and coin."""
    from tracker.output import reads as views
    from tracker.output import terminal_events as render_events

    who = normalise_address(address) if address else None
    when = option_time(since, "--since") if since else None
    if coin is not None and (not coin.strip() or any(c.isspace() for c in coin)):
        raise BadInput(f"--coin must name one coin like BTC, got {coin!r}")
    settings = settings_for(db)
    entries = cli_charts.watchlist_entries()
    labels = {e.address: e.label for e in entries}
    if daily:
        days = views.liquidations_daily(
            settings.db_path,
            min_usd=Decimal(str(min_usd)),
            since=when,
            address=who,
            watched_only=watched_only,
            coin=coin,
            labels=labels,
            watched=[e.address for e in entries if ETHEREUM in e.venues],  # Aave borrowers
        )
        if as_json:
            sys.stdout.write(orjson.dumps(days, option=orjson.OPT_INDENT_2).decode() + "\n")
            return
        out.print(render_events.liquidations_daily_table(days))
        return
    rows = views.liquidations(
        settings.db_path,
        min_usd=Decimal(str(min_usd)),
        since=when,
        address=who,
        large_usd=settings.large_liquidation_usd,
        watched=[e.address for e in entries if ETHEREUM in e.venues],  # Aave borrowers
        labels=labels,
        watched_only=watched_only,
        coin=coin,
    )
    if as_json:
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    out.print(render_events.liquidations_table(rows))


def alerts(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 50,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind of alert.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    db: DbOption = None,
) -> None:
    """Alerts raised so far (each stored once) and the sinks they reached."""
    from tracker.output import reads as views
    from tracker.output import terminal_events as render_events

    settings = settings_for(db)
    rows = views.alerts(settings.db_path, limit=limit, kind=kind)
    if as_json:
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    out.print(render_events.alerts_table(rows))


class Format(StrEnum):
    """Output formats of `tracker query`."""

    table = "table"
    csv = "csv"
    json = "json"


def query(
    sql: Annotated[str | None, typer.Argument(help="SQL to run against the DuckDB file.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, csv or json.")] = Format.table,
    name: Annotated[
        str | None, typer.Option("--name", help="Run a named query from sql/queries.")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="k=v parameter of a named query.")
    ] = None,
    list_queries: Annotated[bool, typer.Option("--list", help="List the named queries.")] = False,
    write: Annotated[
        bool, typer.Option("--write", help="Allow statements that change data.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Run SQL (read-only unless --write) or a named query against the DuckDB file."""
    from tracker.output import user_query as queries

    if list_queries:
        sys.stdout.write(queries.render_list(queries.list_named(), out))
        return
    settings = settings_for(db)
    statement, params = queries.resolve(sql, name, param or [])
    result = queries.run(settings.db_path, statement, params, write=write)
    sys.stdout.write(queries.render(result, fmt.value, out))
