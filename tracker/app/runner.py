"""The library calls the CLI makes: open resources once, poll, store, return records."""

from __future__ import annotations

import logging
from collections import ChainMap
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from tracker.app.history_plan import HistoryAllowance, HistoryPolicy
from tracker.app.poller import HyperliquidPoller
from tracker.app.snapshot_pass import PassReport, Progress, snapshot_pass
from tracker.config import Settings
from tracker.errors import VenueError
from tracker.net.http import RetryPolicy
from tracker.net.limiter import WeightLimiter
from tracker.sources.hyperliquid import client as hl
from tracker.sources.hyperliquid.client import HyperliquidClient

if TYPE_CHECKING:
    from tracker.alerts.engine import AlertContext
    from tracker.alerts.move_engine import MoveAlerter
    from tracker.alerts.sinks import Sink
    from tracker.app.ethereum_pass import EthereumLink
    from tracker.app.universe import Universe

log = logging.getLogger(__name__)


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


def history_policy(
    settings: Settings, *, force: bool = False, budgeted: bool = False
) -> HistoryPolicy:
    """The history policy the settings ask for; budgeted (the daemon) caps history by age."""
    lifted = settings.hl_weight_per_min <= 0 or settings.history_weight_per_min <= 0
    return HistoryPolicy(
        history_max_age_s=settings.history_max_age_s,
        funding_max_age_s=settings.funding_max_age_s,
        force=force,
        allowance=(
            HistoryAllowance(settings.history_weight_per_min) if budgeted and not lifted else None
        ),
    )


HLP_PARENT = "0xdfc24b077bc1425ad1dea75bcb6f8158e10df303"
# The backstop liquidator named in the official vaultDetails example (reference §4.2, tier A).
KNOWN_LIQUIDATORS = frozenset({"0x2e3d94f0562703b25c83308a05046ddaf9a8dd14"})


async def discover_liquidators(client: HyperliquidClient) -> frozenset[str]:
    """HLP's liquidator vaults: children of the HLP parent whose name says liquidator.

    Falls back to the documented liquidator when the venue cannot tell (logged).
    """
    try:
        _, children = hl.parse_vault_details(
            await client.fetch_vault_details(HLP_PARENT), HLP_PARENT
        )
        found = set()
        for child in children:
            name, _ = hl.parse_vault_details(await client.fetch_vault_details(child), child)
            if (name and "liquidator" in name.lower()) or child in KNOWN_LIQUIDATORS:
                found.add(child)
    except VenueError as exc:
        log.warning(
            "could not discover HLP liquidator vaults (%s); following %s",
            exc,
            ", ".join(sorted(KNOWN_LIQUIDATORS)),
        )
        return KNOWN_LIQUIDATORS
    if not found:
        log.warning(
            "vaultDetails named no liquidator vault; following %s",
            ", ".join(sorted(KNOWN_LIQUIDATORS)),
        )
        return KNOWN_LIQUIDATORS
    log.info("following liquidator vaults %s", ", ".join(sorted(found)))
    return frozenset(found)


@dataclass(frozen=True, slots=True, kw_only=True)
class Watched:
    """Addresses to poll per venue, each one's own interval if any, and their labels."""

    addresses: list[str]  # Hyperliquid
    intervals: dict[str, float | None]  # every watched address, both venues
    labels: dict[str, str]
    eth_addresses: list[str] = field(default_factory=list)


PassRunner = Callable[[Sequence[str]], Coroutine[Any, Any, PassReport]]
# A pass over addresses; with keep_s, unchanged accounts are stored once per keep_s seconds.
KeepingRunner = Callable[[Sequence[str], float | None], Coroutine[Any, Any, PassReport]]


@dataclass(frozen=True, slots=True)
class Runner:
    """A configured pass over some watched addresses, with the alerting it shares."""

    run: KeepingRunner
    context: AlertContext
    sinks: list[Sink]
    db: Path
    keep_s: float | None = None  # what a pass called without keep_s uses
    moves: MoveAlerter | None = None  # its on_position_changes takes the tape's changes

    async def __call__(self, addresses: Sequence[str]) -> PassReport:
        """One pass over these addresses."""
        return await self.run(addresses, self.keep_s)

    async def refresh(self, addresses: Sequence[str], keep_s: float | None) -> PassReport:
        """One pass storing unchanged accounts only once per keep_s (tracker.app.changes)."""
        return await self.run(addresses, keep_s)


async def pass_runner(
    poller: HyperliquidPoller,
    settings: Settings,
    watched: Watched,
    *,
    command: str,
    force_history: bool = False,
    history_required: bool = True,
    progress: Progress | None = None,
    console_alerts: bool = True,
    follow_liquidators: bool | None = None,
    ethereum: EthereumLink,
    universe: Universe | None = None,
    keep_s: float | None = None,
) -> Runner:
    """A function running one pass over some of the watched addresses, alerts included.

    Done once per command: HLP's liquidator vaults are discovered, sinks built from settings.
    Watched Ethereum addresses are polled through `ethereum`, the command's one session.
    Addresses of the universe (`tracker run --discover`) get their state only, and their
    leaderboard names as labels where the watchlists give none.
    """
    from tracker.alerts.move_engine import MoveAlerter, MoveSettings
    from tracker.alerts.sinks import build_sinks
    from tracker.app.ethereum_pass import ethereum_pass

    follow = settings.follow_liquidators if follow_liquidators is None else follow_liquidators
    liquidators = await discover_liquidators(poller.client) if follow else frozenset()
    context = _alert_context(settings, watched, universe, liquidators)
    sinks = [
        s
        for s in build_sinks(settings, poller.client.session)
        if console_alerts or s.name != "console"
    ]
    policy = history_policy(settings, force=force_history, budgeted=command == "run")

    hl_set, eth_set = set(watched.addresses), set(watched.eth_addresses)

    async def run(addresses: Sequence[str], keep_s: float | None) -> PassReport:
        lite = frozenset(a for a in addresses if a not in hl_set and a in (universe or ()))
        report = await snapshot_pass(
            poller,
            settings.db_path,
            [a for a in addresses if a in hl_set or a in lite],
            command=command,
            policy=policy,
            progress=progress,
            history_required=history_required,
            alerting=context,
            sinks=sinks,
            follow_fills=sorted(liquidators),
            keep_s=keep_s,
            state_only=lite,
        )
        if universe is not None:
            universe.seen.update(a for a in lite if a not in report.failed and a in universe)
            report = replace(report, universe=universe.progress())
        eth = [a for a in addresses if a in eth_set]
        if not eth:
            return report
        summary = await ethereum_pass(ethereum, eth, report, context, sinks)
        return replace(report, ethereum=summary)

    moves = MoveAlerter(
        settings.db_path,
        MoveSettings(
            threshold_usd=settings.position_alert_usd,
            cooldown_s=settings.position_alert_cooldown_s,
            labels=context.labels,
        ),
        sinks,
        timeout_s=poller.client.policy.timeout_s * 2,
    )
    return Runner(run, context, sinks, settings.db_path, keep_s, moves)


def _alert_context(
    settings: Settings, watched: Watched, universe: Universe | None, liquidators: frozenset[str]
) -> AlertContext:
    """What the alert rules of every pass of a command share: thresholds, who is watched, labels
    (the watchlists', else the leaderboard's names) and the liquidator vaults."""
    from tracker.alerts.engine import AlertContext

    return AlertContext(
        large_usd=settings.large_liquidation_usd,
        near_levels_pct=settings.near_liq_pct,
        gap_s=settings.liquidation_gap_s,
        watched=frozenset(watched.addresses),
        labels=watched.labels if universe is None else ChainMap(watched.labels, universe.labels),
        liquidators=liquidators,
        position_alert_usd=settings.position_alert_usd,
        position_alert_cooldown_s=settings.position_alert_cooldown_s,
        large_basis=settings.large_liquidation_basis,
    )
