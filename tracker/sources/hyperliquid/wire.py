"""Shared wire parsing for Hyperliquid answers: strict shapes, lenient number encodings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tracker.errors import VenueResponseError
from tracker.venues import HYPERLIQUID

VENUE = HYPERLIQUID


class _Bad(ValueError):
    """A wire value of the wrong shape; turned into VenueResponseError with context."""


def _dec(obj: dict[str, Any], key: str) -> Decimal:
    value = obj.get(key) if isinstance(obj, dict) else None
    if value is None:
        raise _Bad(f"missing {key!r}")
    return _to_dec(value, key)


def _opt_dec(obj: dict[str, Any], key: str) -> Decimal | None:
    value = obj.get(key)
    return None if value is None else _to_dec(value, key)


def _to_dec(value: Any, key: str) -> Decimal:
    if isinstance(value, bool):
        raise _Bad(f"{key!r} is a boolean")
    if isinstance(value, str | int):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise _Bad(f"{key!r} is not a number: {value!r:.40}") from None
    elif isinstance(value, float):
        number = Decimal(repr(value))  # schema drift: a JSON number where a string is expected
    else:
        raise _Bad(f"{key!r} has type {type(value).__name__}")
    if not number.is_finite():
        raise _Bad(f"{key!r} is not finite")
    return number


def _int(obj: dict[str, Any], key: str, default: int | None = None) -> int:
    value = obj.get(key)
    if value is None:
        if default is not None:
            return default
        raise _Bad(f"missing {key!r}")
    if isinstance(value, bool):
        raise _Bad(f"{key!r} is a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _Bad(f"{key!r} is not a whole number: {value!r:.40}")


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(f"{what} is {type(value).__name__}, expected an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Bad(f"{what} is {type(value).__name__}, expected a list")
    return value


def ms_to_datetime(ms: int) -> datetime:
    """Epoch milliseconds to an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class _wrap:
    """Turn a wire-shape error inside parse_* into VenueResponseError with context."""

    __slots__ = ("address", "dex", "request")

    def __init__(self, request: str, address: str | None = None, dex: str | None = None) -> None:
        self.request, self.address, self.dex = request, address, dex

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, _Bad | KeyError | TypeError | AttributeError):
            raise VenueResponseError(
                f"unexpected {self.request} answer: {exc}",
                venue=VENUE,
                request=self.request,
                address=self.address,
                dex=self.dex,
            ) from None


def _coin(obj: dict[str, Any]) -> str:
    coin = obj.get("coin")
    if not isinstance(coin, str) or not coin:
        raise _Bad("missing 'coin'")
    return coin
