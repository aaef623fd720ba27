"""Shared wire reading for Hyperliquid answers: strict shapes, lenient number encodings.

An answer is checked at the edge against its shape (`shapes.py`, `Shape.of`: an object with the
keys it needs); each value's JSON type is checked here, where parse_* reads it. Decimals arrive
as JSON text and a JSON number is read too (schema drift); integers arrive as numbers and numeric
text is read too. Any mismatch raises `_Bad`, which `_wrap` turns into one VenueResponseError
naming the request, the address and the key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from types import TracebackType

from tracker.errors import VenueResponseError
from tracker.sources.check import WireError, kind
from tracker.venues import HYPERLIQUID

VENUE = HYPERLIQUID
_Bad = WireError  # a wire value of the wrong shape; turned into VenueResponseError with context


def _num(value: object, key: str) -> Decimal:
    """A required decimal: JSON text (or, drifting, a number) to a finite Decimal."""
    if type(value) is str:
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise _Bad(f"{key!r} is not a number: {value!r:.40}") from None
    elif value is None:
        raise _Bad(f"missing {key!r}")
    elif isinstance(value, bool):
        raise _Bad(f"{key!r} is a boolean, expected a number")
    elif isinstance(value, float):
        number = Decimal(repr(value))  # schema drift: a JSON number where text is expected
    elif isinstance(value, int | str):
        number = Decimal(value)
    else:
        raise _Bad(f"{key!r} is {kind(value)}, expected a number")
    if not number.is_finite():
        raise _Bad(f"{key!r} is not finite")
    return number


def _opt_num(value: object, key: str) -> Decimal | None:
    """An optional decimal: absent or null reads as None."""
    return None if value is None else _num(value, key)


def _whole(value: object, key: str) -> int:
    """A required integer: a JSON number, or numeric text as some recordings send."""
    if type(value) is int:
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None:
        raise _Bad(f"missing {key!r}")
    if isinstance(value, bool):
        raise _Bad(f"{key!r} is a boolean, expected a whole number")
    if isinstance(value, int):  # an int subclass
        return int(value)
    raise _Bad(f"{key!r} is not a whole number: {value!r:.40}")


def _opt_whole(value: object, key: str) -> int | None:
    """An optional integer: absent or null reads as None."""
    return None if value is None else _whole(value, key)


def _text(value: object, key: str) -> str:
    """Required non-empty text (a coin, a type name)."""
    if type(value) is str and value:
        return value
    raise _Bad(f"missing {key!r}" if value is None else f"{key!r} is {kind(value)}, not a name")


def _opt_text(value: object) -> str | None:
    """Text read defensively: anything but non-empty text reads as absent."""
    return value if type(value) is str and value else None


def _obj(value: object, what: str) -> dict[str, object]:
    """A JSON object."""
    if type(value) is dict or isinstance(value, dict):
        return value
    raise _Bad(f"{what} is {kind(value)}, expected an object")


def _seq(value: object, what: str) -> list[object]:
    """A JSON list."""
    if type(value) is list or isinstance(value, list):
        return value
    raise _Bad(f"{what} is {kind(value)}, expected a list")


def ms_to_datetime(ms: int) -> datetime:
    """Epoch milliseconds to an aware UTC datetime."""
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise _Bad(f"time {ms} ms is out of range") from None


class _wrap:
    """Turn a wire-shape error inside parse_* into VenueResponseError with context."""

    __slots__ = ("address", "dex", "request")

    def __init__(self, request: str, address: str | None = None, dex: str | None = None) -> None:
        self.request, self.address, self.dex = request, address, dex

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, _Bad):
            raise VenueResponseError(
                f"unexpected {self.request} answer: {exc}",
                venue=VENUE,
                request=self.request,
                address=self.address,
                dex=self.dex,
            ) from None
