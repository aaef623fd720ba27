"""The `tracker` command: parse -> Settings -> open resources -> one library call -> render.

Exit codes: 0 ok, 1 partial failure (some address or the venue failed), 2 bad input.
"""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, NoReturn

import orjson
import typer

from tracker import __version__, logs
from tracker.addresses import normalise_address
from tracker.cli import charts as cli_charts
from tracker.cli import db as cli_db
from tracker.cli import demo as cli_demo
from tracker.cli import discover as cli_discover
from tracker.cli import entity as cli_entity
from tracker.cli import market as cli_market
from tracker.cli import reads as cli_reads
from tracker.cli import serve as cli_serve
from tracker.cli import watchlist as cli_watchlist
from tracker.cli.common import DbOption, err, out, real, settings_for
from tracker.config import Settings, environment
from tracker.errors import BadInput, StoreError, TrackerError, VenueError
from tracker.venues import ETHEREUM, HYPERLIQUID

if TYPE_CHECKING:  # imported by the commands that use them, not by `tracker --help`
    from rich.live import Live

    from tracker.app.runner import Watched
    from tracker.app.snapshot_pass import PassReport
    from tracker.app.watch import Show, WatchOnce, WatchState
    from tracker.records import AccountReport

app = typer.Typer(
    name="tracker",
    help="Track whales on Hyperliquid and Ethereum: positions, liquidation prices, DuckDB history.",
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(cli_watchlist.app, name="watchlist")
app.add_typer(cli_entity.app, name="entity")
app.add_typer(cli_db.app, name="db")
cli_charts.register(app)


def _version(value: bool) -> None:
    if value:
        out.print(f"tracker {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Track whales on Hyperliquid and Ethereum."""
    environment()  # refuses private keys in the environment or .env for every command
    logs.configure(ctx.invoked_subcommand)  # every command and sub-command logs through it


@app.command()
def watch(
    address: Annotated[str, typer.Argument(help="Account address, 0x + 40 hex digits, any case.")],
    interval: Annotated[
        float, typer.Option("--interval", min=0.2, help="Seconds between polls.")
    ] = 5.0,
    once: Annotated[bool, typer.Option("--once", help="Poll once, print, exit.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    db: DbOption = None,
) -> None:
    """Show every open position of ADDRESS, refreshed live; every poll is stored."""
    import asyncio

    from tracker.app.watch import watch_live, watch_once

    target = normalise_address(address)
    settings = settings_for(db)
    if once:
        raise typer.Exit(_show_once(asyncio.run(watch_once(settings, target)), settings, as_json))
    from tracker.app.live import heap

    heap.limit_arenas()  # watching runs for hours: the daemon's C heap settings (see `run`)
    heap.pin_mmap_threshold()
    with contextlib.suppress(KeyboardInterrupt), contextlib.ExitStack() as stack:
        live = None if as_json else stack.enter_context(_live_screen())
        show = _show_live(live, settings, interval)
        asyncio.run(watch_live(settings, target, interval, show))


def _live_screen() -> Live:
    from rich.live import Live

    return Live(console=real(out), auto_refresh=False, screen=False)


def _show_once(seen: WatchOnce, settings: Settings, as_json: bool) -> int:
    """Print `tracker watch --once`; its exit code."""
    from tracker.output.terminal import watch_json, watch_view

    if seen.skipped:
        err.print(seen.skipped, markup=False, highlight=False)
    if as_json:
        doc = watch_json(seen.report, seen.eth)
        doc["errors"] = list(dict.fromkeys([*doc["errors"], *seen.errors]))
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
    else:
        out.print(watch_view(seen.report, None, f"stored in {settings.db_path}", seen.eth))
    errors = [*seen.report.errors, *seen.errors]
    if errors:
        err.print(f"error: {errors[0]}", markup=False, highlight=False)
        return 1
    return 0


def _show_live(live: Live | None, settings: Settings, interval: float) -> Show:
    """Render each refresh of `tracker watch`: a JSON line, or the live screen redrawn."""
    from tracker.output.terminal import watch_json, watch_view

    def show(report: AccountReport, how: str, state: WatchState) -> None:
        if live is None:
            sys.stdout.write(orjson.dumps(watch_json(report, state.eth)).decode() + "\n")
            sys.stdout.flush()
            return
        status = (
            f"{how} at {datetime.now(UTC):%H:%M:%S} UTC: {state.polls} polls "
            f"every {interval:g}s, {state.marks} mark updates; stored in "
            f"{settings.db_path}; Ctrl-C to stop"
        )
        live.update(watch_view(report, None, status, state.eth), refresh=True)

    return show


WatchlistOption = Annotated[
    list[str] | None,
    typer.Option(
        "--watchlist",
        "-w",
        help="Watchlist NAME (in the watchlists folder) or PATH; "
        "repeatable. Default: every file in the folder.",
    ),
]


def _watched(names: list[str] | None, *, may_be_empty: bool = False) -> Watched:
    """Addresses of the chosen watchlists per venue, their own intervals and labels.

    With may_be_empty (`tracker run --discover` and no --watchlist), no watchlist is no address.
    """
    from tracker import watchlists
    from tracker.app.runner import Watched

    try:
        entries = watchlists.chosen(names, watchlists.watchlists_dir(environment()))
    except watchlists.WatchlistError:
        if not may_be_empty or names:
            raise
        entries = []
    return Watched(
        addresses=[e.address for e in entries if HYPERLIQUID in e.venues],
        intervals={e.address: e.interval_s for e in entries},
        labels={e.address: e.label for e in entries},
        eth_addresses=[e.address for e in entries if ETHEREUM in e.venues],
    )


def _progress(address: str, fills: int) -> None:
    if fills and fills % 2000 == 0:
        err.print(f"backfill {address}: {fills} fills so far", highlight=False)


@app.command()
def snapshot(
    watchlist: WatchlistOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
    full_history: Annotated[
        bool, typer.Option("--full-history", help="Read every history stream now.")
    ] = False,
    db: DbOption = None,
) -> None:
    """One pass over every watched address: state on every dex, positions, markets, history."""
    import asyncio
    import gc

    # One pass makes hundreds of thousands of short-lived objects (answers, decimals, records)
    # and few cycles: collecting the young generation every 100,000 allocations instead of 700
    # saves about 40 ms of a 1,000-account pass. (A one-shot command only; the daemon keeps
    # Python's defaults, under which its memory was measured flat: docs/hardening.md.)
    gc.set_threshold(100_000, 50, 100)
    from tracker.app import run as tracking

    watched = _watched(watchlist)
    settings = settings_for(db)
    with tracking.store_checked(settings):
        report = asyncio.run(
            tracking.snapshot(settings, watched, force_history=full_history, progress=_progress)
        )
    if as_json:
        sys.stdout.write(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
    else:
        out.print(report.line(), highlight=False, soft_wrap=True)
    eth_failed = bool(report.ethereum and report.ethereum.get("errors"))
    raise typer.Exit(1 if report.failed or eth_failed else 0)


# Over ~80 lines only by its options' declarations (their help texts are the --help page); the
# body is the parse, one library call (tracker.app.run.run) and the pass lines.
@app.command()
def run(
    watchlist: WatchlistOption = None,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            min=0.1,
            help="Seconds between passes (default 60; a "
            "watchlist's own `interval` wins for its addresses).",
        ),
    ] = 60.0,
    live: Annotated[
        bool,
        typer.Option(
            "--live/--no-live",
            help="Live mode (WebSocket marks and trades, risk "
            "re-marked locally, REST on demand; the default) or plain polling.",
        ),
    ] = True,
    loop_lag: Annotated[
        bool,
        typer.Option(
            "--loop-lag",
            help="Measure how late the event loop wakes a 50 ms timer: worst and p99 in "
            "the status file and in each pass line.",
        ),
    ] = False,
    discover: Annotated[
        str | None,
        typer.Option(
            "--discover",
            metavar="USD",
            help="Also track every leaderboard account worth at least USD (state, risk, "
            "alerts, position changes), re-reading the leaderboard every "
            "TRACKER_DISCOVER_INTERVAL seconds.",
        ),
    ] = None,
    serve: Annotated[
        str | None,
        typer.Option(
            "--serve",
            metavar="[HOST:]PORT",
            help="Also serve the dashboard (as `tracker serve` does) from the daemon; host "
            "127.0.0.1 unless given (off loopback: TRACKER_SERVE_TOKEN).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Track until SIGINT/SIGTERM; one JSON line per refresh pass on stdout.

    In live mode --interval is the longest an account goes without a REST refresh (riskier
    accounts and accounts seen trading are refreshed sooner); with --no-live every address is
    polled every --interval seconds. An account whose positions did not change is stored at
    most once per --interval (watchlist passes of --no-live store every account).
    """
    import asyncio

    from tracker.app import run as tracking
    from tracker.app.daemon import LoopLag
    from tracker.app.live import heap

    # First, before any thread allocates: opening DuckDB (check_store) starts its threads, and
    # glibc then ignores a later arena limit (tracker/app/live/heap.py)
    heap.limit_arenas()
    heap.pin_mmap_threshold()
    threshold = None if discover is None else cli_discover.usd(discover, "--discover")
    watched = _watched(watchlist, may_be_empty=threshold is not None)
    settings = settings_for(db)
    listen = None if serve is None else cli_serve.listen(serve, settings.serve_token, watchlist)
    tracking.check_store(settings)
    lag = LoopLag() if loop_lag else None

    def on_pass(report: PassReport) -> None:
        line = {"event": "pass", **report.as_json(), **(lag.summary() if lag else {})}
        sys.stdout.write(orjson.dumps(line).decode() + "\n")
        sys.stdout.flush()

    stats = asyncio.run(
        tracking.run(
            settings,
            watched,
            interval=interval,
            live=live,
            lag=lag,
            on_pass=on_pass,
            progress=_progress,
            discover=threshold,
            serve=listen,
        )
    )
    raise typer.Exit(0 if stats.passes or not stats.failed_passes else 1)


cli_discover.register(app)
cli_market.register(app)
cli_reads.register(app)  # after run: `tracker --help` lists the commands in this order
cli_serve.register(app)
cli_demo.register(app)


def main() -> None:
    """Console-script entry point: turn every expected failure into one line and an exit code."""
    try:
        code = app(standalone_mode=False)  # click returns typer.Exit codes in this mode
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except BadInput as exc:
        fail_now(str(exc), 2)
    except (VenueError, StoreError) as exc:
        fail_now(str(exc), 1)
    except TrackerError as exc:
        fail_now(str(exc), 1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        # Usage errors from typer's click: one line, their own exit code (2 for usage).
        if type(exc).__name__ == "Abort":
            sys.exit(130)
        message = getattr(exc, "format_message", None)
        exit_code = getattr(exc, "exit_code", None)
        if callable(message) and isinstance(exit_code, int):
            fail_now(f"{message()} (see 'tracker --help')", exit_code)
        raise
    sys.exit(code if isinstance(code, int) else 0)


def console() -> NoReturn:
    """The `tracker` console script and `python -m tracker`: main(), then leave at once.

    When main() ends, every command has closed what it opened and written what it prints. The
    interpreter's teardown would then only free memory the process hands back anyway: about
    60 ms after a 1,000-account `tracker snapshot`, a twentieth of its wall time. So the
    streams and logging are flushed and the process exits without it (os._exit). An exception
    main() does not handle ends the process the usual way, traceback and all. In-process
    callers (tests) call main(), which ends in SystemExit.
    """
    import logging
    import os

    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("text"): the text on stderr, status 1
        sys.stderr.write(f"{code}\n")
        code = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        # a reader that left (| head), a closed stream: nothing more to say to it
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(code)


def fail_now(message: str, code: int) -> NoReturn:
    """One line on stderr and exit, outside typer's own handling."""
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)
