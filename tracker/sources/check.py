"""The edge check every source shares: a venue's answer is an object with the keys its shape needs.

A shape is a TypedDict of what we read from one kind of answer (`sources/<venue>/shapes.py`).
`Shape.of` checks that a value is an object holding every required key (one set comparison in
C, so the hot paths pay almost nothing), then hands it on typed as that shape. The JSON type of
each value is checked where parse_* reads it, by the venue's readers, so every value is looked at
once. Either check raises `WireError` naming the key; parse_* turns it into a VenueResponseError
naming the request. No validation library: the parse path is hot (thousands of trades a second).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


class WireError(ValueError):
    """A value of the wrong shape in a venue's answer; parse_* adds the request and address."""


def kind(value: object) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


class Shape(Generic[T]):
    """The required keys of one TypedDict, checked on values claimed to be of that shape."""

    __slots__ = ("name", "required")

    def __init__(self, typed_dict: Any) -> None:
        self.name: str = typed_dict.__name__
        self.required: frozenset[str] = typed_dict.__required_keys__

    def of(self, value: object, what: str) -> T:
        """VALUE as this shape: an object holding every required key (WireError otherwise)."""
        if type(value) is dict or isinstance(value, Mapping):
            if value.keys() >= self.required:
                return cast(T, value)
            missing = sorted(self.required - value.keys())
            raise WireError(f"{what} lacks {', '.join(repr(k) for k in missing)}")
        raise WireError(f"{what} is {kind(value)}, expected an object")
