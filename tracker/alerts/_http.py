"""POST an alert as JSON: timeouts, bounded retries with backoff + jitter, Retry-After.

Retried: HTTP 429 and 5xx, timeouts and connection errors. The wait is the server's when it
says one (`retry_after` in a JSON body as Discord and Telegram send it, else the Retry-After
header), otherwise full-jitter backoff. Not retried: other 4xx, and 3xx (a redirect is not
followed, so the body never goes somewhere unexpected). A chat message is not idempotent, so a
retry after a lost answer can post twice: delivery is at least once.

Reasons never contain the URL (it carries the token) and pass through `redact_text`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from tracker.errors import SinkError
from tracker.net.http import GaveUp, Retryable, RetryPolicy, retry_after_s, with_retries
from tracker.redact import redact_text


@dataclass(frozen=True, slots=True)
class Answer:
    """A 2xx answer: its status and body."""

    status: int
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


async def post_alert(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    *,
    sink: str,
    policy: RetryPolicy,
    secrets: Sequence[str],
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """POST body as JSON to url and return the 2xx answer, or raise a redacted SinkError."""
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    timeout = aiohttp.ClientTimeout(total=policy.timeout_s)

    async def once(_: int) -> Answer:
        return await _attempt(session, url, payload, all_headers, timeout, sink, secrets)

    try:
        return await with_retries(once, policy, label=sink)
    except GaveUp as exc:
        raise SinkError(sink, str(exc)) from None


async def _attempt(
    session: aiohttp.ClientSession,
    url: str,
    payload: bytes,
    headers: Mapping[str, str],
    client_timeout: aiohttp.ClientTimeout,
    sink: str,
    secrets: Sequence[str],
) -> Answer:
    try:
        async with session.post(
            url, data=payload, headers=headers, timeout=client_timeout, allow_redirects=False
        ) as resp:
            raw = await resp.read()
            status = resp.status
            retry_after = resp.headers.get("Retry-After")
    except TimeoutError:
        raise Retryable("timed out") from None
    except aiohttp.ClientError as exc:
        # The type only: aiohttp's messages name the URL.
        raise Retryable(f"connection error: {type(exc).__name__}") from None
    if status == 429 or status >= 500:
        wait = _body_retry_after(raw)
        raise Retryable(f"HTTP {status}", wait if wait is not None else retry_after_s(retry_after))
    if not 200 <= status < 300:
        snippet = " ".join(raw[:200].decode("utf-8", "replace").split())
        reason = f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}"
        raise SinkError(sink, redact_text(reason, list(secrets)))
    return Answer(status, raw)


def _body_retry_after(raw: bytes) -> float | None:
    """Seconds from a body {"retry_after": s} (Discord) or {"parameters": {"retry_after": s}}."""
    doc = Answer(0, raw).json()
    if not isinstance(doc, dict):
        return None
    params = doc.get("parameters")
    value = doc.get("retry_after", params.get("retry_after") if isinstance(params, dict) else None)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)
