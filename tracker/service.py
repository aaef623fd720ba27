"""The library calls the CLI makes: open resources once, poll, store, return records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import aiohttp

from tracker.config import Settings
from tracker.poll import HyperliquidPoller, PollResult
from tracker.sources.http import RetryPolicy
from tracker.sources.hyperliquid import HyperliquidClient
from tracker.sources.limiter import WeightLimiter
from tracker.store import open_store
from tracker.store.writes import PassSummary, write_pass


@asynccontextmanager
async def hyperliquid_poller(settings: Settings) -> AsyncIterator[HyperliquidPoller]:
    """One aiohttp session, one weight budget, one poller for the life of a command."""
    connector = aiohttp.TCPConnector(limit=max(settings.hl_concurrency * 2, 8))
    async with aiohttp.ClientSession(connector=connector) as session:
        client = HyperliquidClient(
            session,
            settings.hl_api_url,
            limiter=WeightLimiter(settings.hl_weight_per_min),
            policy=RetryPolicy(retries=settings.http_retries, timeout_s=settings.http_timeout_s),
        )
        yield HyperliquidPoller(
            client,
            dexes=settings.hl_dexes,
            markets_ttl_s=settings.markets_ttl_s,
            concurrency=settings.hl_concurrency,
        )


def now_utc() -> datetime:
    """The poll time: aware UTC, millisecond precision (what the store keeps)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


async def poll_and_store(
    poller: HyperliquidPoller, settings: Settings, addresses: Sequence[str], command: str
) -> PollResult:
    """Poll addresses once and write everything learnt in one transaction."""
    ts = now_utc()
    result = await poller.poll(addresses, ts)
    ok = [r for r in result.reports if not r.errors]
    summary = PassSummary(
        ts=ts,
        command=command,
        addresses=len(addresses),
        addresses_ok=len(ok),
        positions=sum(len(r.positions) for r in ok),
        finished_at=datetime.now(UTC),
        errors=tuple(f"{r.address}: {e}" for r in result.failed for e in r.errors),
    )
    with open_store(settings.db_path) as store:
        write_pass(store, ok, result.markets, summary)
    return result
