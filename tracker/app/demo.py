"""`tracker demo`: the tracker at work on the package's own replay venue, offline, in one command.

The replay venue (tracker.replay) listens on a free port of 127.0.0.1, staged with the scenario's
whales and playing its cascade (tracker/replay/script.py); then the very pipeline of `tracker run
--discover DEMO_DISCOVER_USD --serve 127.0.0.1:PORT` (tracker.app.run) tracks it, with a database
in a temporary folder that is removed afterwards. Its settings are built here, not read from the
environment or .env: every URL is the replay's, Ethereum is off and no alert sink is configured,
so nothing leaves the machine and no real channel receives a made-up whale's alert. The pages say
it is a replay. Runs until SIGINT/SIGTERM, like `tracker run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from tracker.app import run as tracking
from tracker.app.runner import Watched
from tracker.app.serving import Listen
from tracker.app.snapshot_pass import PassReport
from tracker.config import Settings
from tracker.replay import scenario, script
from tracker.replay.server import ReplayServer

log = logging.getLogger(__name__)

DEMO_DISCOVER_USD = Decimal(1_000_000)
BANNER = (
    "Replay: a scripted January 31-like cascade on tracker's own local venue (tracker demo). "
    "The accounts are made up; every number is computed by the tracker from the replay."
)
Started = Callable[[str], None]  # the dashboard's address, once it listens


def demo_settings(venue: ReplayServer, folder: Path) -> Settings:
    """Settings pointing every endpoint at the replay and the database into folder."""
    return Settings(
        db_path=folder / "demo.duckdb",
        hl_api_url=venue.url,
        hl_ws_url=venue.ws_url,
        hl_stats_url=venue.url,
    )


async def demo(*, port: int, speed: float, started: Started) -> Any:
    """Serve the replay and track it until SIGINT/SIGTERM; the live engine's stats then."""
    with tempfile.TemporaryDirectory(prefix="tracker-demo-") as folder:
        async with ReplayServer() as venue:
            scenario.stage(venue)
            settings = demo_settings(venue, Path(folder))
            tracking.check_store(settings)
            listen = Listen("127.0.0.1", port, lambda url, _login: started(url), banner=BANNER)
            playing = asyncio.create_task(_play(venue, speed), name="replay")
            playing.add_done_callback(_failed)
            try:
                return await tracking.run(
                    settings,
                    Watched(addresses=[], intervals={}, labels={}),
                    interval=60.0,
                    live=True,
                    lag=None,
                    on_pass=_quiet,
                    progress=None,
                    discover=DEMO_DISCOVER_USD,
                    serve=listen,
                )
            finally:
                playing.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await playing  # a failure was logged as it happened


async def _play(venue: ReplayServer, speed: float) -> None:
    await script.ready(venue)
    await script.play(venue, speed=speed)


def _failed(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the replay's script failed", exc_info=task.exception())


def _quiet(report: PassReport) -> None:
    """The passes go to the log, not the terminal: the page is the demo's output."""
    log.info("pass: %s", report.line())
