"""`tracker export`: a table, view or named query to Parquet, CSV or JSON through DuckDB's COPY.

COPY takes neither a table name nor (before DuckDB 2.0) the output path as a bound parameter, so
both are checked before they reach SQL: the table must be one that information_schema lists and
is quoted as an identifier; the path is made absolute, refused if it holds control characters,
and written as a string literal with single quotes doubled. Named queries keep their parameters
bound by DuckDB. The file appears atomically (written beside it, then renamed), so a failed
export never leaves half a file, and an existing file is kept unless `force`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from tracker.atomic import replacing
from tracker.errors import BadInput, QueryError
from tracker.output import user_query as query
from tracker.store import Store, open_store

# Format -> the file suffixes it accepts; the first is the one suggested in errors.
SUFFIXES = {
    "parquet": (".parquet", ".pq"),
    "csv": (".csv",),
    "json": (".json", ".jsonl", ".ndjson"),
}
_LINES = (".jsonl", ".ndjson")  # JSON written one object per line instead of one array


@dataclass(frozen=True, slots=True, kw_only=True)
class Exported:
    """What an export wrote."""

    rows: int
    path: Path
    fmt: str
    source: str  # the table, view or named query


def export(
    db: Path,
    out: Path,
    *,
    table: str | None = None,
    name: str | None = None,
    params: list[str] | None = None,
    fmt: str | None = None,
    force: bool = False,
) -> Exported:
    """COPY a table or view (`table`) or a named query (`name` with k=v params) to out."""
    if (table is None) == (name is None):
        raise BadInput("give either a TABLE or --name QUERY (see 'tracker query --list')")
    if table is not None and params:
        raise BadInput("--param goes with --name QUERY, not with a table")
    kind = output_format(out, fmt)
    target = _target(out, force)
    with open_store(db, read_only=True) as store:
        if table is not None:
            source = table_name(store, table)
            statement, bound = f"SELECT * FROM {_identifier(source)}", dict[str, Any]()
        else:
            assert name is not None
            source = name
            statement, bound = query.resolve(None, name, params or [])
        if kind == "csv":
            statement = _formula_safe(store, statement, bound)
        rows = _copy(store, statement, bound, target, _options(kind, target))
    return Exported(rows=rows, path=target, fmt=kind, source=source)


def output_format(out: Path, fmt: str | None) -> str:
    """The format, given or read from out's suffix; the two must agree."""
    suffix = out.suffix.lower()
    if fmt is None:
        found = [k for k, suffixes in SUFFIXES.items() if suffix in suffixes]
        if not found:
            raise BadInput(f"--out must end in .parquet, .csv or .json, got {out.name!r}")
        return found[0]
    if fmt not in SUFFIXES:
        raise BadInput(f"--format must be parquet, csv or json, got {fmt!r}")
    if suffix not in SUFFIXES[fmt]:
        raise BadInput(f"--out for --format {fmt} must end in {SUFFIXES[fmt][0]}, got {out.name!r}")
    return fmt


def tables(store: Store) -> list[str]:
    """Tables and views of the store (information_schema, main schema)."""
    rows = store.con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_catalog = current_database() ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows]


def table_name(store: Store, wanted: str) -> str:
    """The stored name of table or view `wanted` (DuckDB names are case-insensitive)."""
    known = tables(store)
    for candidate in known:
        if candidate.lower() == wanted.lower():
            return candidate
    raise BadInput(f"no table or view {wanted!r}; there are: {', '.join(known)}")


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _target(out: Path, force: bool) -> Path:
    path = Path(os.path.abspath(out.expanduser()))
    if any(ord(c) < 32 or ord(c) == 127 for c in str(path)):
        raise BadInput("--out must not contain control characters")
    if path.is_dir():
        raise BadInput(f"--out {path} is a folder")
    if path.exists() and not force:
        raise BadInput(f"{path} exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise BadInput(f"cannot write {path}: folder {path.parent} does not exist")
    return path


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV injection).
_FORMULA_START = r"^[=+\-@\t\r]"


def _formula_safe(store: Store, statement: str, params: dict[str, Any]) -> str:
    """statement with every text cell a spreadsheet would run as a formula prefixed by a quote.

    Labels and leaderboard names are strangers' text: `=HYPERLINK(...)` must stay text in a CSV.
    """
    body = statement.strip().rstrip(";")
    try:
        described = (
            store.con.execute(f"SELECT * FROM (\n{body}\n) LIMIT 0", params or None).description
            or []
        )
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise QueryError(first) from None
    picks = []
    for name, kind, *_ in described:
        column = _identifier(name)
        if str(kind) == "VARCHAR":
            quoted = f"'''' || {column}"
            picks.append(
                f"CASE WHEN regexp_matches({column}, '{_FORMULA_START}') "
                f"THEN {quoted} ELSE {column} END AS {column}"
            )
        else:
            picks.append(column)
    return f"SELECT {', '.join(picks)} FROM (\n{body}\n)"


def _options(kind: str, target: Path) -> str:
    if kind == "json":
        return "FORMAT json" if target.suffix.lower() in _LINES else "FORMAT json, ARRAY true"
    return "FORMAT csv, HEADER true" if kind == "csv" else "FORMAT parquet"


def _copy(store: Store, statement: str, params: dict[str, Any], target: Path, opts: str) -> int:
    """COPY (statement) to a temporary file beside target, then rename it; rows written."""
    body = statement.strip().rstrip(";")
    try:
        with replacing(target) as tmp:
            literal = "'" + str(tmp).replace("'", "''") + "'"
            # The path literal and the identifier were checked above; everything else is bound.
            copy = f"COPY (\n{body}\n) TO {literal} ({opts})"
            row = store.con.execute(copy, params or None).fetchone()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise QueryError(first) from None
    except OSError as exc:
        raise BadInput(f"cannot write {target}: {exc.strerror or exc}") from None
    return int(row[0]) if row else 0
