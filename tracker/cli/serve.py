"""`tracker serve`: the dashboard over the DuckDB file, read-only, in a browser."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli.common import DbOption, err, out, settings_for

if TYPE_CHECKING:
    from tracker.app.serving import Listen
    from tracker.redact import Secret


def register(app: typer.Typer) -> None:
    """Add serve to app."""
    app.command()(serve)


def serve(
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on (off loopback: TRACKER_SERVE_TOKEN)."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8765,
    db: DbOption = None,
) -> None:
    """Serve the dashboard: accounts by risk, positions, liquidations, alerts, live, read-only."""
    import asyncio

    from tracker import watchlists
    from tracker.config import environment
    from tracker.redact import revealed
    from tracker.web.reads import Reader
    from tracker.web.server import Serving, check_host
    from tracker.web.server import serve as serve_web

    settings = settings_for(db)
    check_host(host)
    found = watchlists.labelling(watchlists.watchlists_dir(environment()))
    reader = Reader(settings.db_path, found, settings.large_liquidation_usd)

    def started(serving: Serving) -> None:
        out.print(f"serving {settings.db_path} at {serving.url}", markup=False, highlight=False)
        if serving.login_url:  # a one-time code, not the token: it opens one browser's session
            out.print(f"open once to sign in: {serving.login_url}", markup=False, highlight=False)
        err.print("Ctrl-C stops it", style="dim")

    with contextlib.suppress(KeyboardInterrupt):
        token = revealed(settings.serve_token)
        asyncio.run(serve_web(reader, host, port, token=token, started=started))


def listen(value: str, token: Secret | None, watchlists: Sequence[str] | None = None) -> Listen:
    """`tracker run --serve [HOST:]PORT` checked before any I/O (BadInput: one line, exit 2).

    Once listening, the address and, with a token, the one-time link go to stderr: `tracker
    run`'s stdout carries the passes' JSON lines.
    """
    from tracker.app.serving import Listen
    from tracker.redact import revealed
    from tracker.web.server import check_token, parse_listen

    host, port = parse_listen(value)
    check_token(host, revealed(token))

    def started(url: str, login_url: str | None) -> None:
        err.print(f"serving at {url}", markup=False, highlight=False)
        if login_url:  # a one-time code, not the token: it opens one browser's session
            err.print(f"open once to sign in: {login_url}", markup=False, highlight=False)

    return Listen(host, port, started, tuple(watchlists or ()))
