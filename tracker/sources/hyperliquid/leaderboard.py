"""The venue's leaderboard (stats-data GET /Mainnet/leaderboard) and sub-accounts of a master.

`fetch_leaderboard` streams the 25-35 MB body in chunks (progress per chunk) and retries like every
idempotent read; `parse_leaderboard` validates row by row: a bad row is counted and skipped, a body
that is not a leaderboard raises VenueResponseError. Wire keys (`ethAddress`, `vlm`, ...) stay here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import aiohttp
import orjson

from tracker.addresses import normalise_address
from tracker.errors import BadAddress, VenueResponseError, VenueUnavailable
from tracker.net.http import GaveUp, Retryable, RetryPolicy, retry_after_s, with_retries
from tracker.records.leaderboard import Leaderboard, LeaderboardRow, SubAccount
from tracker.sources.hyperliquid import shapes
from tracker.sources.hyperliquid.client import HyperliquidClient
from tracker.sources.hyperliquid.wire import _Bad, _num, _opt_num, _seq
from tracker.venues import HYPERLIQUID

REQUEST = "leaderboard"
_CHUNK = 1 << 16
_WIRE_WINDOWS = {"day": "day", "week": "week", "month": "month", "allTime": "all_time"}

Progress = Callable[[int, int | None], None]  # bytes read so far, total bytes if known


def leaderboard_url(stats_url: str) -> str:
    """The leaderboard's URL under the stats base URL."""
    return stats_url.rstrip("/") + "/Mainnet/leaderboard"


async def fetch_leaderboard(
    session: aiohttp.ClientSession,
    stats_url: str,
    *,
    policy: RetryPolicy,
    progress: Progress | None = None,
) -> bytes:
    """The raw leaderboard body, streamed; VenueUnavailable when every attempt failed."""
    url = leaderboard_url(stats_url)

    async def attempt(_: int) -> bytes:
        try:
            timeout = aiohttp.ClientTimeout(total=None, sock_read=policy.timeout_s)
            async with session.get(url, timeout=timeout) as response:
                if response.status == 429 or response.status >= 500:
                    wait = retry_after_s(response.headers.get("Retry-After"))
                    raise Retryable(f"HTTP {response.status}", wait)
                if response.status != 200:
                    raise VenueUnavailable(
                        f"HTTP {response.status} from {url}", venue=HYPERLIQUID, request=REQUEST
                    )
                total = response.content_length
                parts: list[bytes] = []
                read = 0
                async for chunk in response.content.iter_chunked(_CHUNK):
                    parts.append(chunk)
                    read += len(chunk)
                    if progress is not None:
                        progress(read, total)
                return b"".join(parts)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise Retryable(f"{type(exc).__name__}: {exc}") from None

    try:
        return await with_retries(attempt, policy, label=f"GET {url}")
    except GaveUp as exc:
        raise VenueUnavailable(str(exc), venue=HYPERLIQUID, request=REQUEST) from None


async def fetch_sub_accounts(client: HyperliquidClient, master: str) -> object:
    """Raw `subAccounts` answer of one master account (a list, or null)."""
    return await client.info({"type": "subAccounts", "user": master}, address=master)


# ---------------------------------------------------------------- parse_* (pure)


def parse_leaderboard(body: bytes, ts: datetime) -> Leaderboard:
    """Every valid row of a leaderboard body; bad rows counted in `skipped`."""
    try:
        board = shapes.LEADERBOARD_BODY.of(orjson.loads(body), "the body")
        rows_raw = _seq(board["leaderboardRows"], "'leaderboardRows'")
    except (orjson.JSONDecodeError, _Bad) as exc:
        raise VenueResponseError(
            f"not a leaderboard: {exc}", venue=HYPERLIQUID, request=REQUEST
        ) from None
    rows: list[LeaderboardRow] = []
    seen: set[str] = set()
    skipped = 0
    first_problem: str | None = None
    for index, item in enumerate(rows_raw):
        try:
            row = _row(item, ts)
            if row.address in seen:
                raise _Bad(f"{row.address} listed twice")
        except (_Bad, BadAddress) as exc:
            skipped += 1
            first_problem = first_problem or f"row {index}: {exc}"
            continue
        seen.add(row.address)
        rows.append(row)
    return Leaderboard(ts=ts, rows=tuple(rows), skipped=skipped, first_problem=first_problem)


def _row(item: object, ts: datetime) -> LeaderboardRow:
    obj = shapes.LEADERBOARD_ROW.of(item, "a row")
    address = obj["ethAddress"]
    if not isinstance(address, str):
        raise _Bad("'ethAddress' is not text")
    name = obj.get("displayName")
    if name is not None and not isinstance(name, str):
        raise _Bad("'displayName' is not text")
    account_value = _num(obj["accountValue"], "accountValue")
    windows: dict[str, Decimal | None] = {}
    for pair in _seq(obj.get("windowPerformances", []), "'windowPerformances'"):
        parts = _seq(pair, "a window")
        if len(parts) != 2:
            raise _Bad("a window is not a [name, performance] pair")
        window, perf_raw = parts
        if isinstance(window, str) and window in _WIRE_WINDOWS:
            perf = shapes.WINDOW_PERFORMANCE.of(perf_raw, f"window {window}")
            name_ = _WIRE_WINDOWS[window]
            windows[f"pnl_{name_}_usd"] = _opt_num(perf.get("pnl"), "pnl")
            windows[f"roi_{name_}"] = _opt_num(perf.get("roi"), "roi")
            windows[f"volume_{name_}_usd"] = _opt_num(perf.get("vlm"), "vlm")
    return LeaderboardRow(
        ts=ts,
        address=normalise_address(address),
        account_value_usd=account_value,
        display_name=name,
        **windows,
    )


def parse_sub_accounts(raw: object, master: str) -> tuple[SubAccount, ...]:
    """The sub-accounts of MASTER from a `subAccounts` answer (null = none)."""
    if raw is None:
        return ()
    subs: list[SubAccount] = []
    try:
        for item in _seq(raw, "the subAccounts answer"):
            obj = shapes.SUB_ACCOUNT.of(item, "a sub-account")
            address, name = obj["subAccountUser"], obj["name"]
            if not isinstance(address, str) or not isinstance(name, str):
                raise _Bad("a sub-account's 'subAccountUser' or 'name' is not text")
            try:
                address = normalise_address(address)
            except BadAddress as exc:
                raise _Bad(f"'subAccountUser' {exc}") from None
            subs.append(SubAccount(address=address, name=name, master=master))
    except (_Bad, BadAddress) as exc:
        raise VenueResponseError(
            f"unexpected subAccounts answer: {exc}",
            venue=HYPERLIQUID,
            request="subAccounts",
            address=master,
        ) from None
    return tuple(subs)
