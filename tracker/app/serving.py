"""`tracker run --serve`: the dashboard served from the daemon's own event loop.

The same app as `tracker serve` (tracker.web.server); its reads open the file read-only in
worker threads, taking turns with the daemon's writes through the store's per-process lock, so a
read waiting for a pass never holds up the loop. Each stored pass bumps the app's change counter,
so open pages re-read right after it instead of at the next look at the file.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from tracker.app.snapshot_pass import PassReport
from tracker.config import Settings, environment
from tracker.redact import revealed

OnPass = Callable[[PassReport], None]


@dataclass(frozen=True, slots=True)
class Listen:
    """Where `tracker run --serve` listens, and what to tell once it does."""

    host: str
    port: int
    started: Callable[[str, str | None], None]  # (url, one-time login url or None)
    watchlists: tuple[str, ...] = ()  # the daemon's -w names and paths: labels and filters
    banner: str | None = None  # a line every page shows on top (`tracker demo`: a replay)


@contextlib.asynccontextmanager
async def serving(settings: Settings, listen: Listen, on_pass: OnPass) -> AsyncIterator[OnPass]:
    """The dashboard listening while the block runs; on_pass that also announces each pass."""
    from tracker import watchlists
    from tracker.web.reads import Reader
    from tracker.web.server import listening

    # the daemon's own watchlists (-w, wherever they are) and those of the folder, if any
    found = watchlists.labelling(watchlists.watchlists_dir(environment()), listen.watchlists)
    reader = Reader(settings.db_path, found, settings.large_liquidation_usd)
    token = revealed(settings.serve_token)
    served = listening(reader, listen.host, listen.port, token=token, banner=listen.banner)
    async with served as (where, changes):
        listen.started(where.url, where.login_url)

        def announced(report: PassReport) -> None:
            on_pass(report)
            changes.bump()

        yield announced
