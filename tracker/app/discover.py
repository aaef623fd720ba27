"""`tracker discover`: read the venue's leaderboard, store every row, pick the accounts that pass.

One read: stream the leaderboard, parse it row by row (bad rows counted and skipped), store all of
its rows in one transaction, then filter (minimum account value), sort (descending) and cut (top
N). Optionally the sub-accounts of each picked master are listed (one weight-20 `subAccounts`
request each) and the picked accounts are added to a watchlist file.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tracker import watchlists
from tracker.config import Settings
from tracker.errors import BadInput, VenueError
from tracker.records.leaderboard import LEADERBOARD_FIELDS, Discovered, Leaderboard, LeaderboardRow
from tracker.sources.hyperliquid.leaderboard import Progress

log = logging.getLogger(__name__)

SORT_FIELDS = LEADERBOARD_FIELDS
DEFAULT_SORT = "account_value_usd"
TAG = "leaderboard"


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscoverQuery:
    """What `tracker discover` keeps of a read: threshold (USD), order (a column), how many."""

    min_account_value_usd: Decimal = Decimal(0)
    top: int | None = None
    sort: str = DEFAULT_SORT
    sub_accounts: bool = False


def label_of(row: LeaderboardRow, rank: int) -> str:
    """The watchlist label: the display name, else the rank on the leaderboard."""
    name = (row.display_name or "").strip()
    return name or f"leaderboard #{rank}"


@dataclass(slots=True, kw_only=True)
class DiscoverReport:
    """The outcome of one `tracker discover`."""

    url: str
    board: Leaderboard
    stored: int
    picked: list[Discovered]
    errors: list[str] = field(default_factory=list)
    added: int = 0  # entries added to the watchlist
    kept: int = 0  # already on the watchlist: left as they are


def check_sort(sort: str) -> str:
    """The sort column, or BadInput naming the columns there are."""
    if sort not in SORT_FIELDS:
        raise BadInput(f"--sort must be one of {', '.join(SORT_FIELDS)}; got {sort!r}")
    return sort


def pick(board: Leaderboard, query: DiscoverQuery) -> list[Discovered]:
    """Accounts at or above the threshold, by the sort column descending (nulls last), top N."""
    by_value = sorted(board.rows, key=lambda r: (-r.account_value_usd, r.address))
    ranks = {row.address: rank for rank, row in enumerate(by_value, start=1)}
    passing = [r for r in by_value if r.account_value_usd >= query.min_account_value_usd]
    column = check_sort(query.sort)

    def key(row: LeaderboardRow) -> tuple[bool, Any]:
        value = getattr(row, column)
        return (value is not None, value if value is not None else 0)

    # A stable sort on the column after the account-value order: ties stay largest first.
    ordered = sorted(passing, key=key, reverse=True) if column != DEFAULT_SORT else passing
    if query.top is not None:
        ordered = ordered[: query.top]
    return [
        Discovered(row=r, rank=ranks[r.address], label=label_of(r, ranks[r.address]))
        for r in ordered
    ]


async def discover(
    settings: Settings, query: DiscoverQuery, *, progress: Progress | None = None
) -> DiscoverReport:
    """Read, store and filter the leaderboard (and list sub-accounts when asked)."""
    import aiohttp

    from tracker.net.http import RetryPolicy
    from tracker.net.limiter import WeightLimiter
    from tracker.sources.hyperliquid.client import HyperliquidClient
    from tracker.sources.hyperliquid.leaderboard import (
        fetch_leaderboard,
        fetch_sub_accounts,
        leaderboard_url,
        parse_leaderboard,
        parse_sub_accounts,
    )
    from tracker.store import open_store
    from tracker.store.leaderboard import write_leaderboard

    check_sort(query.sort)
    with open_store(settings.db_path):
        pass  # a bad --db fails now, before 30 MB are read
    policy = RetryPolicy(retries=settings.http_retries, timeout_s=settings.http_timeout_s)
    async with aiohttp.ClientSession() as session:
        body = await fetch_leaderboard(
            session, settings.hl_stats_url, policy=policy, progress=progress
        )
        board = parse_leaderboard(body, datetime.now(UTC))
        del body
        if board.skipped:
            log.info(  # the command prints the one warning line
                "leaderboard: %d bad rows skipped (first: %s)", board.skipped, board.first_problem
            )
        with open_store(settings.db_path) as store:
            stored = write_leaderboard(store, board)
        report = DiscoverReport(
            url=leaderboard_url(settings.hl_stats_url),
            board=board,
            stored=stored,
            picked=pick(board, query),
        )
        if query.sub_accounts:
            client = HyperliquidClient(
                session,
                settings.hl_api_url,
                limiter=WeightLimiter(settings.hl_weight_per_min),
                policy=policy,
            )
            expanded: list[Discovered] = []
            for found in report.picked:
                address = found.row.address
                try:
                    raw = await fetch_sub_accounts(client, address)
                    subs = parse_sub_accounts(raw, address)
                except VenueError as exc:
                    log.warning("sub-accounts of %s: %s", address, exc)
                    report.errors.append(f"sub-accounts of {address}: {exc}")
                    subs = ()
                expanded.append(replace(found, sub_accounts=subs))
            report.picked = expanded
    return report


def check_watchlist(path: Path) -> None:
    """Fail before any network I/O if the watchlist cannot take entries (BadInput)."""
    if path.exists():
        watchlists.load(path)  # a broken file is reported now, not after the read
    elif not path.parent.is_dir():
        raise BadInput(f"{path}: its folder {path.parent} does not exist")


def add_to_watchlist(report: DiscoverReport, path: Path) -> None:
    """Add the picked accounts and their sub-accounts to the watchlist file at PATH.

    Existing entries are left as they are (their own labels, tags and sources).
    """
    present = {e.address for e in watchlists.load(path).entries} if path.exists() else set()
    new: list[watchlists.NewEntry] = []
    for address, label in _entries(report.picked):
        if address in present:
            report.kept += 1
            continue
        new.append(
            watchlists.NewEntry(address=address, label=label, tags=(TAG,), sources=(report.url,))
        )
        present.add(address)
    if new:
        watchlists.add_all(path, new)  # one read, one validated atomic write
    report.added = len(new)


def _entries(picked: Sequence[Discovered]) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []
    for found in picked:
        entries.append((found.row.address, found.label))
        for sub in found.sub_accounts:
            name = sub.name.strip() or sub.address
            entries.append((sub.address, f"{found.label} sub {name}"))
    return entries
