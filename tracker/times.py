"""Time as people and files give it: the one ISO 8601 parser (aware UTC out)."""

from __future__ import annotations

from datetime import UTC, datetime

from tracker.errors import BadInput


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
