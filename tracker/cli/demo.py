"""`tracker demo`: parse -> one library call (`app.demo.demo`) -> print the page's address."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tracker.cli.common import err, out


def register(app: typer.Typer) -> None:
    """Add `demo` to app."""
    app.command()(demo)


def demo(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port of the page (0: a free one).")
    ] = 8765,
    speed: Annotated[
        float,
        typer.Option("--speed", min=0.01, max=1000, help="Play the replay this many times faster."),
    ] = 1.0,
) -> None:
    """See the tracker work without the network: a replayed cascade (whales, a liquidation in
    slices and a backstop, a whale opening a short) tracked live and served on 127.0.0.1."""
    import asyncio

    from tracker.app.demo import demo as run_demo

    def started(url: str) -> None:
        out.print(f"tracker demo: a replay, served at {url}", markup=False, highlight=False)
        sys.stdout.flush()
        err.print("Ctrl-C stops it (the replay and its database are removed)", style="dim")

    asyncio.run(run_demo(port=port, speed=speed, started=started))
