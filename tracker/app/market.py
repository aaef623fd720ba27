"""`tracker market`: the venue's market figures (one `metaAndAssetCtxs` per dex) and the store's
tracked side of the market, put together.

The venue is asked once per dex; when it cannot be reached (or answers nonsense) the newest stored
`markets` rows stand in, and the report says so (`venue_error`, `quotes_from`). The store is only
ever opened read-only, never while the venue is being asked: nothing is written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tracker.config import Settings
from tracker.errors import VenueError
from tracker.output import market as view
from tracker.output.market import check_dex, resolve_coin, split_coin
from tracker.records import Market
from tracker.store import open_store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketReport:
    """What `tracker market` renders: one coin in full, or the list of tracked coins."""

    coin: view.CoinMarket | None  # with COIN
    coins: tuple[view.CoinRow, ...]  # without COIN
    quotes_from: str  # "venue", or "store" when the venue failed
    venue_error: str | None
    as_of: datetime | None  # of the quotes shown (the newest stored row when from the store)


async def _venue_quotes(
    settings: Settings, dexes: Sequence[str]
) -> tuple[dict[str, dict[str, view.Quote]], str | None]:
    """Quotes per dex from the venue; ({}, the error) when any dex fails."""
    import asyncio

    from tracker.app.poller import fetch_parsed
    from tracker.app.runner import hyperliquid_poller
    from tracker.sources.hyperliquid import client as hl

    found: dict[str, dict[str, view.Quote]] = {}
    failed: list[VenueError] = []
    ts = datetime.now(UTC)
    try:
        async with hyperliquid_poller(settings) as poller:

            async def one(dex: str) -> None:
                meta = await fetch_parsed(
                    lambda: poller.client.fetch_meta_and_asset_ctxs(dex),
                    lambda raw: hl.parse_meta_and_asset_ctxs(raw, dex, ts),
                )
                found[dex] = {coin: _quote(m) for coin, m in meta.markets.items()}

            async with asyncio.TaskGroup() as group:
                for dex in dict.fromkeys(dexes):
                    group.create_task(one(dex))
    except* VenueError as group_error:
        failed += [e for e in group_error.exceptions if isinstance(e, VenueError)]
    if failed:
        log.info("metaAndAssetCtxs failed: %s", failed[0])  # the command prints one warning
        return {}, str(failed[0])
    return found, None


def _quote(m: Market) -> view.Quote:
    return view.Quote(
        dex=m.dex,
        coin=m.coin,
        ts=m.ts,
        mark_px=m.mark_px,
        oracle_px=m.oracle_px,
        funding_rate_hourly=m.funding_rate,
        open_interest=m.open_interest,
        volume_24h_usd=m.day_notional_volume_usd,
    )


async def market(
    settings: Settings, coin: str | None, dex: str | None, labels: Mapping[str, str]
) -> MarketReport:
    """The market of COIN (on its dex), or every tracked coin (of --dex) by tracked notional."""
    check_dex(dex)
    if coin is None:
        return await _listing(settings, dex)
    on_dex, name = split_coin(coin, dex)
    quotes, error = await _venue_quotes(settings, [on_dex])
    with open_store(settings.db_path, read_only=True) as store:
        view.check_schema(store)
        stored = view.known_coins(store)
        fallback = view.stored_quotes(store, on_dex) if error else {}
        table = quotes.get(on_dex, fallback)
        name = resolve_coin(name, on_dex, list(quotes.get(on_dex, {})), stored, error)
        quote = table.get(name)
        shown = view.read_coin(store, on_dex, name, quote, labels)
    return MarketReport(
        coin=shown,
        coins=(),
        quotes_from="store" if error else "venue",
        venue_error=error,
        as_of=quote.ts if quote else None,
    )


async def _listing(settings: Settings, dex: str | None) -> MarketReport:
    with open_store(settings.db_path, read_only=True) as store:
        view.check_schema(store)
        rows = view.coin_rows(store, dex)
    dexes = sorted({d for d, _, _ in rows})
    quotes, error = await _venue_quotes(settings, dexes) if dexes else ({}, None)
    if error:
        with open_store(settings.db_path, read_only=True) as store:
            quotes = {d: view.stored_quotes(store, d) for d in dexes}
    coins = tuple(
        view.CoinRow(dex=d, coin=c, tracked=t, quote=quotes.get(d, {}).get(c)) for d, c, t in rows
    )
    times = [r.quote.ts for r in coins if r.quote is not None]
    return MarketReport(
        coin=None,
        coins=coins,
        quotes_from="store" if error else "venue",
        venue_error=error,
        as_of=min(times) if times else None,
    )
