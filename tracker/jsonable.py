"""JSON-ready values: the one conversion every JSON document of the tracker goes through."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any


def jsonable(value: Any) -> Any:
    """Decimals as strings, datetimes as ISO 8601 UTC, containers recursively."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def trimmed(value: Decimal) -> Decimal:
    """value without trailing zeros (the store keeps 18 decimals), never in exponent form."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral() else normal
