"""Time as people and files give it: the one ISO 8601 parser (aware UTC out)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tracker.errors import BadInput

if TYPE_CHECKING:
    import asyncio  # imported when waited on: light commands never load asyncio


def parse_iso(text: str) -> datetime:
    """An ISO 8601 time ('Z', an offset, or none: then UTC) as an aware UTC datetime.

    Raises ValueError when text is not such a time.
    """
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def option_time(text: str, option: str) -> datetime:
    """parse_iso for a command-line option: BadInput naming the option, one line."""
    try:
        return parse_iso(text)
    except ValueError:
        raise BadInput(
            f"{option} must be an ISO 8601 time like 2026-01-31T00:00:00Z, got {text!r}"
        ) from None


async def wait_set(event: asyncio.Event, timeout_s: float) -> bool:
    """True once event is set, False after timeout_s.

    A cancellation always propagates: `asyncio.wait_for` on Python 3.11 can swallow one that
    arrives as the awaited event is set, so a task cancelled at that moment went on running (the
    live engine's refresher did, under a steady stream of trades).
    """
    import asyncio

    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        return False
    return True
