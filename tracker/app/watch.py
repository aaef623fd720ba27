"""`tracker watch`: one address, polled once or followed live (REST polls + WebSocket marks).

The library calls behind the command; the CLI parses, calls one of them and renders what it gets
(`watch_once` returns the result, `watch_live` hands every refresh to the CLI's `show`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tracker.app.ethereum_pass import EthereumLink, ethereum_link, ethereum_side
from tracker.app.poller import HyperliquidPoller
from tracker.app.runner import Watched, hyperliquid_poller, pass_runner
from tracker.app.snapshot_pass import PassReport
from tracker.config import Settings
from tracker.records import AccountReport, EthereumReport
from tracker.times import wait_set

ETH_WATCH_INTERVAL_S = 12.0  # about one Ethereum block


@dataclass(frozen=True, slots=True)
class WatchOnce:
    """One poll of one address on both venues."""

    report: AccountReport
    eth: EthereumReport | None
    errors: tuple[str, ...]  # the Ethereum side's (the report holds Hyperliquid's)
    skipped: str | None  # why the Ethereum side was skipped, for people


@dataclass(slots=True)
class WatchState:
    """What `tracker watch` has seen so far, for its status line."""

    eth: EthereumReport | None = None
    eth_at: float = field(default=float("-inf"))
    polls: int = 0
    marks: int = 0


Show = Callable[[AccountReport, str, WatchState], None]


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


async def watch_once(settings: Settings, address: str) -> WatchOnce:
    """Poll ADDRESS once on Hyperliquid and Ethereum, store it, return what was seen."""
    async with hyperliquid_poller(settings) as poller, ethereum_link(settings) as ethereum:
        result = await (await _watch_runner(poller, settings, address, ethereum))()
        report = result.reports[0]
        side = await ethereum_side(ethereum, [address], report.ts)
    eth = side.result.reports[0] if side.result else None
    return WatchOnce(report=report, eth=eth, errors=tuple(side.errors), skipped=side.skipped)


async def watch_live(settings: Settings, address: str, interval: float, show: Show) -> None:
    """Poll over REST every `interval` s (and at once when the account's own fills or liquidation
    arrive on the WebSocket); between polls re-mark the positions on every allMids message.

    `show(report, how, state)` gets every refresh ("polled") and re-mark ("re-marked").
    """
    from tracker.records import MidsUpdate, UserFills, UserLiquidation
    from tracker.risk.live.book import LiveBook
    from tracker.sources.hyperliquid.stream import HyperliquidStream

    eth_every = max(interval, ETH_WATCH_INTERVAL_S)
    state = WatchState()
    book = LiveBook()
    due = asyncio.Event()
    async with hyperliquid_poller(settings) as poller, ethereum_link(settings) as ethereum:
        poll = await _watch_runner(poller, settings, address, ethereum)

        async def refresh() -> None:
            while True:
                report = (await poll()).reports[0]
                for account in report.venue_accounts:
                    book.upsert(account, poller.meta_for(account.dex))
                if time.monotonic() - state.eth_at >= eth_every:
                    side = await ethereum_side(ethereum, [address], report.ts)
                    state.eth = side.result.reports[0] if side.result else None
                    state.eth_at = time.monotonic()
                state.polls += 1
                show(report, "polled", state)
                due.clear()
                await wait_set(due, interval)

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
                        state.marks += 1
                        accounts = tuple(book.snapshots(address))
                        remarked = AccountReport(
                            address=address, ts=event.ts, accounts=accounts, spot=()
                        )
                        show(remarked, "re-marked", state)
                    elif isinstance(event, UserFills | UserLiquidation) and not (
                        isinstance(event, UserFills) and event.snapshot
                    ):
                        due.set()  # the account traded or was liquidated: poll now

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(refresh())
                group.create_task(stream_marks())
        except* Exception as failed:  # one line and its exit code, not a group traceback
            raise failed.exceptions[0] from None
