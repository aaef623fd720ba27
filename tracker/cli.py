"""The `tracker` command: parse -> Settings -> open resources -> one library call -> render.

Exit codes: 0 ok, 1 partial failure (some address or the venue failed), 2 bad input.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.live import Live

from tracker import (
    __version__,
    cli_charts,
    cli_db,
    cli_entity,
    cli_watchlist,
    logs,
    render,
    render_events,
    views,
    watchlists,
)
from tracker import query as queries
from tracker.addresses import normalise_address
from tracker.config import Settings, environment
from tracker.daemon import LoopLag, build_schedules, run_daemon
from tracker.errors import BadInput, StoreError, TrackerError, VenueError
from tracker.ethereum_side import EthereumLink, ethereum_link, ethereum_side
from tracker.live import heap
from tracker.passes import PassReport
from tracker.poll import HyperliquidPoller
from tracker.records import AccountReport
from tracker.render import watch_json, watch_view
from tracker.service import Watched, hyperliquid_poller, pass_runner
from tracker.store import open_store

app = typer.Typer(
    name="tracker",
    help="Track whales on Hyperliquid and Ethereum: positions, liquidation prices, DuckDB history.",
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

app.add_typer(cli_watchlist.app, name="watchlist")
app.add_typer(cli_entity.app, name="entity")
app.add_typer(cli_db.app, name="db")
cli_charts.register(app)

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db", help="DuckDB file (default: $TRACKER_DB or ~/.local/share/tracker/tracker.duckdb)."
    ),
]


def fail(message: str, code: int) -> NoReturn:
    """Print one line to stderr and exit with code."""
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def settings_for(db: Path | None) -> Settings:
    """Settings from the environment, with --db taking precedence (logging: the root callback)."""
    settings = Settings.from_env()
    if db is not None:
        from dataclasses import replace

        settings = replace(settings, db_path=db.expanduser())
    return settings


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
    target = normalise_address(address)
    settings = settings_for(db)
    if once:
        code = asyncio.run(_watch_once(settings, target, as_json))
        raise typer.Exit(code)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_watch_live(settings, target, interval, as_json))


async def _watch_runner(
    poller: HyperliquidPoller, settings: Settings, address: str, ethereum: EthereumLink
) -> Callable[[], Awaitable[PassReport]]:
    watched = Watched(addresses=[address], intervals={address: None}, labels={})
    run_pass = await pass_runner(
        poller,
        settings,
        watched,
        command="watch",
        history_required=False,
        console_alerts=False,
        follow_liquidators=False,  # market-wide backstops are the daemon's business
        ethereum=ethereum,
    )
    return lambda: run_pass([address])


async def _watch_once(settings: Settings, address: str, as_json: bool) -> int:
    async with hyperliquid_poller(settings) as poller, ethereum_link(settings) as ethereum:
        result = await (await _watch_runner(poller, settings, address, ethereum))()
        report = result.reports[0]
        side = await ethereum_side(ethereum, [address], report.ts)
    eth = side.result.reports[0] if side.result else None
    if side.skipped:
        err.print(side.skipped, markup=False, highlight=False)
    if as_json:
        doc = watch_json(report, eth)
        doc["errors"] = list(dict.fromkeys([*doc["errors"], *side.errors]))
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
    else:
        out.print(watch_view(report, None, f"stored in {settings.db_path}", eth))
    errors = [*report.errors, *side.errors]
    if errors:
        err.print(f"error: {errors[0]}", markup=False, highlight=False)
        return 1
    return 0


async def _watch_live(settings: Settings, address: str, interval: float, as_json: bool) -> None:
    """Poll over REST every --interval (and at once when the account's own fills or liquidation
    arrive on the WebSocket); between polls re-mark the positions on every allMids message."""
    from tracker.live.book import LiveBook
    from tracker.records import MidsUpdate, UserFills, UserLiquidation
    from tracker.sources.hyperliquid_ws import HyperliquidStream

    eth_every = max(interval, ETH_WATCH_INTERVAL_S)  # about one Ethereum block
    state: dict[str, Any] = {"eth": None, "eth_at": float("-inf"), "polls": 0, "marks": 0}
    book = LiveBook()
    due = asyncio.Event()
    async with hyperliquid_poller(settings) as poller, ethereum_link(settings) as ethereum:
        poll = await _watch_runner(poller, settings, address, ethereum)
        with contextlib.ExitStack() as stack:
            live = (
                None
                if as_json
                else stack.enter_context(Live(console=out, auto_refresh=False, screen=False))
            )

            def show(report: AccountReport, how: str) -> None:
                if live is None:
                    doc = watch_json(report, state["eth"])
                    sys.stdout.write(orjson.dumps(doc).decode() + "\n")
                    sys.stdout.flush()
                    return
                status = (
                    f"{how} at {datetime.now(UTC):%H:%M:%S} UTC: {state['polls']} polls "
                    f"every {interval:g}s, {state['marks']} mark updates; stored in "
                    f"{settings.db_path}; Ctrl-C to stop"
                )
                live.update(watch_view(report, None, status, state["eth"]), refresh=True)

            async def refresh() -> None:
                while True:
                    try:
                        result = await poll()
                    except StoreError as exc:
                        fail(str(exc), 1)
                    report = result.reports[0]
                    for account in report.venue_accounts:
                        book.upsert(account, poller.meta_for(account.dex))
                    if time.monotonic() - state["eth_at"] >= eth_every:
                        side = await ethereum_side(ethereum, [address], report.ts)
                        state["eth"] = side.result.reports[0] if side.result else None
                        state["eth_at"] = time.monotonic()
                    state["polls"] += 1
                    show(report, "polled")
                    due.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(due.wait(), timeout=interval)

            async def stream_marks() -> None:
                async with HyperliquidStream(poller.client.session, settings.hl_ws_url) as stream:
                    for dex in await poller.dex_names():
                        stream.subscribe_mids(dex)
                    stream.subscribe_user(address)
                    async for event in stream:
                        if (
                            isinstance(event, MidsUpdate)
                            and book.apply_marks(event.mids, event.dex).positions
                        ):
                            state["marks"] += 1
                            accounts = tuple(book.snapshots(address))
                            show(
                                AccountReport(
                                    address=address, ts=event.ts, accounts=accounts, spot=()
                                ),
                                "re-marked",
                            )
                        elif isinstance(event, UserFills | UserLiquidation) and not (
                            isinstance(event, UserFills) and event.snapshot
                        ):
                            due.set()  # the account traded or was liquidated: poll now

            async with asyncio.TaskGroup() as group:
                group.create_task(refresh())
                group.create_task(stream_marks())


ETH_WATCH_INTERVAL_S = 12.0


WatchlistOption = Annotated[
    list[str] | None,
    typer.Option(
        "--watchlist",
        "-w",
        help="Watchlist NAME (in the watchlists folder) or PATH; "
        "repeatable. Default: every file in the folder.",
    ),
]


def _watched(names: list[str] | None) -> Watched:
    """Addresses of the chosen watchlists per venue, their own intervals and labels."""
    entries = watchlists.chosen(names, watchlists.watchlists_dir(environment()))
    return Watched(
        addresses=[e.address for e in entries if "hyperliquid" in e.venues],
        intervals={e.address: e.interval_s for e in entries},
        labels={e.address: e.label for e in entries},
        eth_addresses=[e.address for e in entries if "ethereum" in e.venues],
    )


def _check_store(settings: Settings) -> None:
    """Open (create, migrate) the store before any network I/O: a bad --db fails at once."""
    with open_store(settings.db_path):
        pass


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
    watched = _watched(watchlist)
    settings = settings_for(db)
    _check_store(settings)
    report = asyncio.run(_snapshot(settings, watched, full_history))
    if as_json:
        sys.stdout.write(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
    else:
        out.print(report.line(), highlight=False, soft_wrap=True)
    eth_failed = bool(report.ethereum and report.ethereum.get("errors"))
    raise typer.Exit(1 if report.failed or eth_failed else 0)


async def _snapshot(settings: Settings, watched: Watched, force: bool) -> PassReport:
    async with hyperliquid_poller(settings) as poller, ethereum_link(settings) as ethereum:
        run_pass = await pass_runner(
            poller,
            settings,
            watched,
            command="snapshot",
            force_history=force,
            progress=_progress,
            ethereum=ethereum,
        )
        return await run_pass(list(watched.intervals))


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
    db: DbOption = None,
) -> None:
    """Track until SIGINT/SIGTERM; one JSON line per refresh pass on stdout.

    In live mode --interval is the longest an account goes without a REST refresh (riskier
    accounts and accounts seen trading are refreshed sooner); with --no-live every address is
    polled every --interval seconds.
    """
    watched = _watched(watchlist)
    settings = settings_for(db)
    _check_store(settings)
    heap.limit_arenas()  # before any other thread allocates: see tracker/live/heap.py
    stats = asyncio.run(_run(settings, watched, interval, live, LoopLag() if loop_lag else None))
    raise typer.Exit(0 if stats.passes or not stats.failed_passes else 1)


def _dump_tasks() -> None:
    """SIGUSR1: every asyncio task and the chain of awaits it waits in, on stderr."""
    out = [f"tracker: {len(asyncio.all_tasks())} tasks"]
    for task in asyncio.all_tasks():
        out.append(f"task {task.get_name()}:")
        coro: Any = task.get_coro()
        while coro is not None:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is not None:
                code = frame.f_code
                out.append(f"  {code.co_filename}:{frame.f_lineno} {code.co_name}")
            coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    sys.stderr.write("\n".join(out) + "\n")
    sys.stderr.flush()


async def _run(
    settings: Settings, watched: Watched, interval: float, live: bool, lag: LoopLag | None
) -> Any:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, _dump_tasks)

    def on_pass(report: PassReport) -> None:
        line = {"event": "pass", **report.as_json(), **(lag.summary() if lag else {})}
        sys.stdout.write(orjson.dumps(line).decode() + "\n")
        sys.stdout.flush()

    async with contextlib.AsyncExitStack() as stack:
        if lag is not None:
            await stack.enter_async_context(lag.running())
        poller = await stack.enter_async_context(hyperliquid_poller(settings))
        ethereum = await stack.enter_async_context(ethereum_link(settings))
        runner = await pass_runner(
            poller, settings, watched, command="run", progress=_progress, ethereum=ethereum
        )
        eth_only = {
            a: watched.intervals[a]
            for a in watched.eth_addresses
            if a not in set(watched.addresses)
        }
        if not live or not watched.addresses:
            return await run_daemon(
                runner, build_schedules(watched.intervals, interval), stop, on_pass=on_pass
            )
        from tracker.live.engine import LiveEngine
        from tracker.live.scheduler import SchedulerConfig
        from tracker.sources.hyperliquid_ws import HyperliquidStream

        async with HyperliquidStream(poller.client.session, settings.hl_ws_url) as stream:
            engine = LiveEngine(
                poller=poller,
                stream=stream,
                run_pass=runner,
                addresses=watched.addresses,
                db=settings.db_path,
                alerting=runner.context,
                sinks=runner.sinks,
                on_pass=on_pass,
                config=SchedulerConfig(max_staleness_s=max(interval, 1.0)),
                loop_lag=lag,
            )
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(engine.run(stop))
                    if eth_only:  # Ethereum-only entries keep their plain schedule
                        schedules = build_schedules(eth_only, interval)
                        group.create_task(run_daemon(runner, schedules, stop, on_pass=on_pass))
            except* TrackerError as failed:  # one line and its exit code, not a group traceback
                raise failed.exceptions[0] from None
        return engine.stats


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """What the running `tracker run` reports: budget use, stream health, stalest accounts."""
    settings = settings_for(db)
    doc = views.status(settings)
    if as_json:
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    out.print(render.status_view(doc))


@app.command()
def liquidations(
    min_usd: Annotated[
        float, typer.Option("--min-usd", min=0, help="Only episodes of at least this notional.")
    ] = 0.0,
    since: Annotated[
        str | None, typer.Option("--since", help="Only episodes ending at or after (ISO 8601).")
    ] = None,
    address: Annotated[str | None, typer.Option("--address", help="Only this account.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    db: DbOption = None,
) -> None:
    """Liquidation episodes (market slices and backstops merged), largest first."""
    who = normalise_address(address) if address else None
    when = _iso8601(since) if since else None
    settings = settings_for(db)
    entries = cli_charts.watchlist_entries()
    rows = views.liquidations(
        settings.db_path,
        min_usd=Decimal(str(min_usd)),
        since=when,
        address=who,
        large_usd=settings.large_liquidation_usd,
        watched=[e.address for e in entries if "ethereum" in e.venues],  # Aave borrowers
        labels={e.address: e.label for e in entries},
    )
    if as_json:
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    out.print(render_events.liquidations_table(rows))


@app.command()
def alerts(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 50,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind of alert.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    db: DbOption = None,
) -> None:
    """Alerts raised so far (each stored once) and the sinks they reached."""
    settings = settings_for(db)
    rows = views.alerts(settings.db_path, limit=limit, kind=kind)
    if as_json:
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    out.print(render_events.alerts_table(rows))


def _iso8601(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(
            f"--since must be an ISO 8601 time like 2026-01-31T00:00:00Z, got {text!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class Format(StrEnum):
    """Output formats of `tracker query`."""

    table = "table"
    csv = "csv"
    json = "json"


@app.command()
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
    if list_queries:
        sys.stdout.write(queries.render_list(queries.list_named(), out))
        return
    settings = settings_for(db)
    statement, params = queries.resolve(sql, name, param or [])
    result = queries.run(settings.db_path, statement, params, write=write)
    sys.stdout.write(queries.render(result, fmt.value, out))


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


def fail_now(message: str, code: int) -> NoReturn:
    """One line on stderr and exit, outside typer's own handling."""
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)
