"""`tracker run --serve`: the dashboard served from the daemon's own event loop.

The same app as `tracker serve` (tracker.web.server); its reads open the file read-only in
worker threads, taking turns with the daemon's writes through the store's per-process lock, so a
read waiting for a pass never holds up the loop. Each stored pass bumps the app's change counter
with the pass's addresses, so open pages re-read right after it (an account page only after a pass
over its address) instead of at the next look at the file. In live mode the pages' figures come
from the engine's book as well (`Dashboard.live`, tracker.web.live), once a second per account.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tracker.app.snapshot_pass import PassReport
from tracker.config import Settings, environment
from tracker.redact import revealed

if TYPE_CHECKING:
    from tracker.web.live import LiveFeed, LiveSource
    from tracker.web.stream import Changes

OnPass = Callable[[PassReport], None]


@dataclass(frozen=True, slots=True)
class Listen:
    """Where `tracker run --serve` listens, and what to tell once it does."""

    host: str
    port: int
    started: Callable[[str, str | None], None]  # (url, one-time login url or None)
    watchlists: tuple[str, ...] = ()  # the daemon's -w names and paths: labels and filters
    banner: str | None = None  # a line every page shows on top (`tracker demo`: a replay)


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The dashboard the daemon serves: on_pass announces each pass to the open pages."""

    on_pass: OnPass
    changes: Changes

    @contextlib.asynccontextmanager
    async def live(self, source: LiveSource) -> AsyncIterator[LiveFeed]:
        """The book's figures pushed to the pages while the block runs (the live engine's)."""
        from tracker.web.live import LiveFeed

        feed = LiveFeed(self.changes, source)
        self.changes.latest = feed.latest
        task = asyncio.create_task(feed.run(), name="web-live-feed")
        try:
            yield feed
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.changes.latest = None


@contextlib.asynccontextmanager
async def serving(settings: Settings, listen: Listen, on_pass: OnPass) -> AsyncIterator[Dashboard]:
    """The dashboard listening while the block runs."""
    from tracker import watchlists
    from tracker.web.reads import Reader
    from tracker.web.server import listening

    # the daemon's own watchlists (-w, wherever they are) and those of the folder, if any
    found = watchlists.labelling(watchlists.watchlists_dir(environment()), listen.watchlists)
    reader = Reader(settings.db_path, found, settings.large_liquidation_usd)
    token = revealed(settings.serve_token)
    served = listening(reader, listen.host, listen.port, token=token, banner=listen.banner)
    async with served as (where, changes):
        changes.unannounced = frozenset()  # every pass this daemon stores is announced below
        listen.started(where.url, where.login_url)

        def announced(report: PassReport) -> None:
            on_pass(report)
            # an Ethereum side names no account here: any page may re-read
            changes.bump(None if report.ethereum else [r.address for r in report.reports])

        yield Dashboard(announced, changes)
