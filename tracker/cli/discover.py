"""`tracker discover`: read the leaderboard, store it, print (or watch) the large accounts."""

from __future__ import annotations

import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import orjson
import typer

from tracker.cli.common import DbOption, err, out, settings_for
from tracker.config import environment
from tracker.errors import BadInput


def register(app: typer.Typer) -> None:
    """Add `discover` to app."""
    app.command()(discover)


def usd(text: str, option: str = "--min-account-value") -> Decimal:
    """A USD amount of 0 or more (`1000000`, `1_000_000`, `1,000,000`), else BadInput."""
    try:
        value = Decimal(text.replace("_", "").replace(",", ""))
    except InvalidOperation:
        raise BadInput(f"{option} must be a number of USD, got {text[:40]!r}") from None
    if not value.is_finite() or value < 0:
        raise BadInput(f"{option} must be 0 or more USD, got {text[:40]!r}")
    return value


class _Progress:
    """Bytes read so far on stderr, redrawn in place; only when stderr is a terminal."""

    def __init__(self) -> None:
        self.shown = -1

    def __call__(self, read: int, total: int | None) -> None:
        mb = read // 1_000_000
        if mb == self.shown:
            return
        self.shown = mb
        of = f" of {total / 1e6:.0f}" if total else ""
        sys.stderr.write(f"\rreading the leaderboard: {mb}{of} MB")
        sys.stderr.flush()

    def done(self) -> None:
        if self.shown >= 0:
            sys.stderr.write("\n")


def discover(
    min_account_value: Annotated[
        str, typer.Option("--min-account-value", help="Only accounts worth at least this (USD).")
    ] = "0",
    top: Annotated[
        int | None, typer.Option("--top", min=1, help="Print at most N accounts.")
    ] = None,
    sort: Annotated[
        str,
        typer.Option("--sort", help="Order by this column of the leaderboard table, descending."),
    ] = "account_value_usd",
    watchlist: Annotated[
        str | None,
        typer.Option("--watchlist", help="Add the accounts to watchlist NAME (or a .toml path)."),
    ] = None,
    sub_accounts: Annotated[
        bool,
        typer.Option(
            "--sub-accounts",
            help="Also list each account's sub-accounts (one weight-20 request per account).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    db: DbOption = None,
) -> None:
    """Read the leaderboard, store every row, print the accounts that pass, largest first."""
    import asyncio

    from tracker import watchlists
    from tracker.app import discover as discovery
    from tracker.output.discover import discover_json, discover_table

    query = discovery.DiscoverQuery(
        min_account_value_usd=usd(min_account_value),
        top=top,
        sort=discovery.check_sort(sort),
        sub_accounts=sub_accounts,
    )
    path: Path | None = None
    if watchlist is not None:
        path = watchlists.resolve(watchlist, watchlists.watchlists_dir(environment()))
        discovery.check_watchlist(path)
    settings = settings_for(db)
    progress = _Progress() if sys.stderr.isatty() else None
    try:
        report = asyncio.run(discovery.discover(settings, query, progress=progress))
    finally:
        if progress is not None:
            progress.done()
    if path is not None:
        discovery.add_to_watchlist(report, path)
    board = report.board
    if as_json:
        doc = discover_json(report.picked, sub_accounts=sub_accounts)
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        title = (
            f"{len(report.picked)} of {len(board.rows)} leaderboard accounts "
            f"(stored {report.stored} rows in {settings.db_path})"
        )
        out.print(discover_table(report.picked, title))
    if board.skipped:
        err.print(
            f"warning: {board.skipped} bad leaderboard rows skipped (first: {board.first_problem})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if path is not None:
        err.print(
            f"watchlist {path}: {report.added} added, {report.kept} already there",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    for error in report.errors:
        err.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1 if report.errors else 0)
