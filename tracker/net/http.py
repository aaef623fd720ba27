"""JSON POST with timeouts and retries for idempotent reads, in one place.

Retried: HTTP 429 and 5xx, timeouts, connection errors and answers that are not valid JSON; with
exponential backoff and full jitter, honouring `Retry-After`. Not retried: other 4xx.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import aiohttp
import orjson

from tracker.errors import VenueResponseError, VenueUnavailable
from tracker.net.limiter import WeightLimiter

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently to retry an idempotent read."""

    retries: int = 5
    base_delay_s: float = 0.25
    max_delay_s: float = 30.0
    timeout_s: float = 10.0

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the given 0-based retry attempt."""
        return random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2**attempt))


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestContext:
    """What a request was for, carried into errors and logs."""

    venue: str
    request: str
    address: str | None = None
    dex: str | None = None


def retry_after_s(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), if usable."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import datetime

    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


class Retryable(Exception):
    """A failed attempt worth another: its reason, and the server's wait when it named one."""

    def __init__(self, reason: str, wait_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait_s = wait_s


class GaveUp(Exception):
    """Every attempt failed; the message says how many and the last reason."""


async def with_retries(
    attempt: Callable[[int], Awaitable[T]],
    policy: RetryPolicy,
    *,
    label: str,
    on_retry: Callable[[str], None] | None = None,
) -> T:
    """Run attempt(0), attempt(1), ... until one returns or raises anything but Retryable.

    Between attempts waits the server's Retry-After when there is one, else full-jitter
    backoff, capped at policy.max_delay_s. on_retry hears the reason of each failed attempt
    that is retried ("HTTP 429", "timed out", ...). Raises GaveUp after policy.retries + 1.
    """
    last = "no attempt"
    for n in range(policy.retries + 1):
        try:
            return await attempt(n)
        except Retryable as exc:
            last = exc.reason
            if n == policy.retries:
                break
            wait = exc.wait_s if exc.wait_s is not None else policy.backoff(n)
            wait = min(wait, policy.max_delay_s)
            if on_retry is not None:
                on_retry(exc.reason.split(" (")[0])
            log.info("%s: %s; retry %d in %.2fs", label, exc.reason, n + 1, wait)
            await asyncio.sleep(wait)
    raise GaveUp(f"gave up after {policy.retries + 1} attempts: {last}")


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    *,
    ctx: RequestContext,
    policy: RetryPolicy,
    limiter: WeightLimiter | None = None,
    weight: int = 0,
    surcharge: Callable[[Any], int] | None = None,
    max_surcharge: int = 0,
    on_retry: Callable[[str], None] | None = None,
) -> Any:
    """POST body as JSON and return the decoded answer, retrying transient failures.

    Each attempt holds weight + max_surcharge of the limiter's budget until its answer, then
    costs weight plus surcharge(answer) (see tracker.net.limiter for why). on_retry hears
    the reason of each failed attempt that is retried ("HTTP 429", "timed out", ...).
    """
    payload = orjson.dumps(body)
    timeout = _client_timeout(policy.timeout_s)

    async def once(n: int) -> Any:
        if limiter is None:
            return await _attempt(session, url, payload, timeout, ctx)
        async with limiter.spend(weight + max_surcharge, priority=n > 0) as spent:
            spent.weight = weight  # what a failed attempt costs
            data = await _attempt(session, url, payload, timeout, ctx)
            if surcharge is not None:
                spent.weight = weight + surcharge(data)
            return data

    label = f"{ctx.venue} {ctx.request}"
    try:
        return await with_retries(once, policy, label=label, on_retry=on_retry)
    except GaveUp as exc:
        raise VenueUnavailable(
            str(exc), venue=ctx.venue, request=ctx.request, address=ctx.address, dex=ctx.dex
        ) from None


@functools.cache
def _client_timeout(total_s: float) -> aiohttp.ClientTimeout:
    """One ClientTimeout per total (built per request, it was a visible share of a pass's CPU)."""
    return aiohttp.ClientTimeout(total=total_s)


_JSON_HEADERS = {"Content-Type": "application/json"}


async def _attempt(
    session: aiohttp.ClientSession,
    url: str,
    payload: bytes,
    client_timeout: aiohttp.ClientTimeout,
    ctx: RequestContext,
) -> Any:
    try:
        async with session.post(
            url, data=payload, headers=_JSON_HEADERS, timeout=client_timeout
        ) as resp:
            raw = await resp.read()
            status = resp.status
            retry_after = resp.headers.get("Retry-After")
    except TimeoutError:
        raise Retryable("timed out") from None
    except aiohttp.ClientError as exc:
        raise Retryable(f"connection error: {type(exc).__name__}") from None
    if status == 429 or status >= 500:
        raise Retryable(f"HTTP {status}", retry_after_s(retry_after))
    if status >= 400:
        snippet = raw[:200].decode("utf-8", "replace").strip()
        raise VenueResponseError(
            f"HTTP {status}: {snippet}",
            venue=ctx.venue,
            request=ctx.request,
            address=ctx.address,
            dex=ctx.dex,
        )
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Retryable(f"answer is not JSON ({len(raw)} bytes)") from None
