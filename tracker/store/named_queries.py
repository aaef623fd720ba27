"""Named queries and their typed parameters: the header syntax, parsing it, checking values.

A named query, `sql/queries/NAME.sql`, opens with comment lines: the first says what it answers,
then one line per parameter it takes:

    -- param: NAME TYPE [MIN..MAX] (= DEFAULT | optional | required) [what it is, in words]

TYPE is one of

    INTEGER    a whole number (64-bit)
    DECIMAL    an exact decimal number, at most 18 decimal places and under 1e20 in size
    TEXT       any text up to 200 characters, no control characters
    ADDRESS    0x followed by 40 hex digits, in any letter case; bound in lower case
    COIN       a coin or asset as the venue names it (ETH, kPEPE, flx:CRCL, @107, stETH)
    TIMESTAMP  an ISO 8601 time (2026-01-31, 2026-01-31T12:00:00Z); UTC unless it says
    BOOLEAN    true or false (also 1/0, yes/no)

`MIN..MAX` (either end may be left out: `1..`) bounds an INTEGER or DECIMAL, ends included.
`= DEFAULT` is bound when the parameter is not given, `optional` binds NULL (the SQL says what
NULL means), `required` refuses to run without it. Every `$NAME` in the SQL is declared and
every declared parameter is used; a shipped query that breaks this fails to load.

`--param NAME=VALUE` values are converted here into Python values of the declared type before
DuckDB sees them, so a wrong value is the same one-line error (exit 2) on an empty database as
on a full one, and never depends on how a DuckDB release casts (or skips casting) text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from tracker import resources
from tracker.addresses import is_address, normalise_address
from tracker.errors import QueryError
from tracker.times import parse_iso

PARAM_REFERENCE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DECLARATION = re.compile(
    r"--\s*param:\s*(?P<name>\S+)\s+(?P<type>\S+)"
    r"(?:\s+(?P<low>[^\s.]*)\.\.(?P<high>\S*))?"
    r"\s+(?:=\s*(?P<default>\S+)|(?P<kind>optional|required))"
    r"(?:\s+(?P<help>.*\S))?\s*$"
)
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_COIN = re.compile(r"[A-Za-z0-9@][A-Za-z0-9:._@/-]{0,63}")
_LONG_HEX = re.compile(r"(?:0x)?[0-9a-fA-F]{41,}")
_INT64 = (-(2**63), 2**63 - 1)
_DECIMAL_LIMIT = Decimal("1e20")  # DECIMAL(38, 18) holds 20 digits before the point
_TEXT_MAX = 200
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def _integer(text: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise ValueError("is not a whole number")
    value = int(text)
    if not _INT64[0] <= value <= _INT64[1]:
        raise ValueError("is too large")
    return value


def _decimal(text: str) -> Decimal:
    if not _DECIMAL.fullmatch(text):
        raise ValueError("is not a decimal number")
    try:
        value = Decimal(text)
    except InvalidOperation:  # the pattern admits only finite numbers; kept for safety
        raise ValueError("is not a decimal number") from None
    if abs(value) >= _DECIMAL_LIMIT:
        raise ValueError("is too large")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -18:
        raise ValueError("has more than 18 decimal places")
    return value


def _text(text: str) -> str:
    if not text:
        raise ValueError("is empty")
    if len(text) > _TEXT_MAX:
        raise ValueError(f"is longer than {_TEXT_MAX} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError("holds control characters")
    return text


def _address(text: str) -> str:
    if not is_address(text):
        raise ValueError("is not an address (0x followed by 40 hex digits)")
    return normalise_address(text)


def _coin(text: str) -> str:
    if not _COIN.fullmatch(text):
        raise ValueError("is not a coin name (letters, digits and : . _ @ / -)")
    return text


def _timestamp(text: str) -> datetime:
    try:
        return parse_iso(text)
    except ValueError:
        raise ValueError("is not an ISO 8601 time such as 2026-01-31T12:00:00Z") from None


def _boolean(text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ValueError("is not true or false")


# TYPE -> (converter, whether MIN..MAX applies)
TYPES: dict[str, tuple[Callable[[str], Any], bool]] = {
    "INTEGER": (_integer, True),
    "DECIMAL": (_decimal, True),
    "TEXT": (_text, False),
    "ADDRESS": (_address, False),
    "COIN": (_coin, False),
    "TIMESTAMP": (_timestamp, False),
    "BOOLEAN": (_boolean, False),
}


def shown(text: str, limit: int = 60) -> str:
    """A value as it may appear in an error line: quoted, cut to limit, never a private key."""
    if _LONG_HEX.search(text):
        return "a long hex value (not shown: the tracker never needs a private key)"
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    """One declared parameter of a named query."""

    name: str
    type: str  # a key of TYPES
    low: int | Decimal | None = None
    high: int | Decimal | None = None
    required: bool = False
    default: Any = None  # already converted; None binds NULL
    default_text: str | None = None  # as written in the header
    help: str = ""

    def usage(self) -> str:
        """The declaration in the header's own words, e.g. `limit INTEGER 1..10000 = 20`."""
        parts = [self.name, self.type]
        if self.low is not None or self.high is not None:
            parts.append(
                f"{'' if self.low is None else self.low}..{'' if self.high is None else self.high}"
            )
        if self.required:
            parts.append("required")
        elif self.default_text is None:
            parts.append("optional")
        else:
            parts.append(f"= {self.default_text}")
        return " ".join(parts)

    def convert(self, text: str) -> Any:
        """The value of `--param NAME=text`, of this type and within bounds, or ValueError."""
        value = TYPES[self.type][0](text)
        if self.low is not None and value < self.low:
            raise ValueError(f"is below {self.low}")
        if self.high is not None and value > self.high:
            raise ValueError(f"is above {self.high}")
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class NamedQuery:
    """A shipped query: its SQL, what it answers and the parameters it takes."""

    name: str
    description: str
    params: tuple[Param, ...]
    sql: str

    def bind(self, given: list[tuple[str, str]]) -> dict[str, Any]:
        """Every declared parameter's value from `(key, text)` pairs, checked; or QueryError."""
        declared = {p.name: p for p in self.params}
        seen: set[str] = set()
        bound: dict[str, Any] = {}
        for key, text in given:
            param = declared.get(key)
            if param is None:
                takes = ", ".join(p.name for p in self.params) or "none"
                raise QueryError(
                    f"query {self.name!r} takes no parameter {key!r}; it takes: {takes}"
                )
            if key in seen:
                raise QueryError(f"--param {key} is given twice")
            seen.add(key)
            try:
                bound[key] = param.convert(text)
            except ValueError as exc:
                raise QueryError(
                    f"--param {key}: {shown(text)} {exc} ({self.name} takes {param.usage()})"
                ) from None
        for param in self.params:
            if param.name in bound:
                continue
            if param.required:
                raise QueryError(
                    f"query {self.name!r} needs --param {param.name}=… ({param.usage()})"
                )
            bound[param.name] = param.default
        return bound


def _bound(text: str, type_name: str, where: str) -> int | Decimal | None:
    if not text:
        return None
    try:
        value: int | Decimal = _integer(text) if type_name == "INTEGER" else _decimal(text)
    except ValueError:
        raise QueryError(f"{where}: bound {text!r} is not a {type_name}") from None
    return value


def _declaration(line: str, where: str) -> Param:
    match = _DECLARATION.fullmatch(line.strip())
    if match is None:
        raise QueryError(
            f"{where}: cannot read {line.strip()!r}; write "
            "'-- param: NAME TYPE [MIN..MAX] (= DEFAULT | optional | required) [help]'"
        )
    name, type_name = match["name"], match["type"]
    if not _NAME.fullmatch(name):
        raise QueryError(f"{where}: {name!r} is not a parameter name")
    if type_name not in TYPES:
        raise QueryError(f"{where}: unknown type {type_name!r}; types: {', '.join(TYPES)}")
    bounded = match["low"] is not None
    if bounded and not TYPES[type_name][1]:
        raise QueryError(f"{where}: {type_name} takes no MIN..MAX")
    param = Param(
        name=name,
        type=type_name,
        low=_bound(match["low"] or "", type_name, where),
        high=_bound(match["high"] or "", type_name, where),
        required=match["kind"] == "required",
        default_text=match["default"],
        help=match["help"] or "",
    )
    if param.default_text is None:
        return param
    try:
        default = param.convert(param.default_text)
    except ValueError as exc:
        raise QueryError(f"{where}: default {param.default_text!r} {exc}") from None
    return replace(param, default=default)


def parse(name: str, text: str) -> NamedQuery:
    """A named query from its file's text; QueryError names the file and line of a defect."""
    lines = text.splitlines()
    header = []
    for line in lines:
        if not line.startswith("--"):
            break
        header.append(line)
    if not header:
        raise QueryError(f"sql/queries/{name}.sql: the first line must say what it answers")
    params: list[Param] = []
    for number, line in enumerate(header[1:], start=2):
        if re.match(r"--\s*params?\b", line):
            param = _declaration(line, f"sql/queries/{name}.sql line {number}")
            if any(p.name == param.name for p in params):
                raise QueryError(f"sql/queries/{name}.sql: {param.name} is declared twice")
            params.append(param)
    body = "\n".join(lines[len(header) :])
    used = set(PARAM_REFERENCE.findall(body))
    declared = {p.name for p in params}
    if used - declared:
        raise QueryError(f"sql/queries/{name}.sql: ${sorted(used - declared)[0]} is not declared")
    if declared - used:
        raise QueryError(f"sql/queries/{name}.sql: {sorted(declared - used)[0]} is never used")
    description = header[0].removeprefix("--").strip()
    return NamedQuery(name=name, description=description, params=tuple(params), sql=text)


@cache
def named_query(name: str) -> NamedQuery:
    """The shipped query `name`, its header parsed once per process; QueryError if unknown."""
    if name not in resources.query_names():
        raise QueryError(f"no named query {name!r} (see 'tracker query --list')")
    return parse(name, resources.sql("queries", name))
