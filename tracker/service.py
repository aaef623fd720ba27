"""The library calls the CLI makes: open resources once, poll, store, return records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import aiohttp

from tracker.config import Settings
from tracker.passes import HistoryPolicy
from tracker.poll import HyperliquidPoller
from tracker.sources.http import RetryPolicy
from tracker.sources.hyperliquid import HyperliquidClient
from tracker.sources.limiter import WeightLimiter


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


def history_policy(settings: Settings, *, force: bool = False) -> HistoryPolicy:
    """The history policy the settings ask for."""
    return HistoryPolicy(
        history_max_age_s=settings.history_max_age_s,
        funding_max_age_s=settings.funding_max_age_s,
        force=force,
    )
