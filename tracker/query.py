"""`tracker query`: SQL or a named query against the store, read-only unless asked, rendered."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import orjson
from rich.console import Console
from rich.table import Table

from tracker import resources
from tracker.errors import QueryError
from tracker.render import jsonable
from tracker.store import open_store

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Column names and rows of a query."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


def list_named() -> dict[str, str]:
    """Named queries shipped in sql/queries: name -> description."""
    return resources.named_queries()


def resolve(sql: str | None, name: str | None, params: list[str]) -> tuple[str, dict[str, Any]]:
    """The statement and bound parameters for either raw SQL or a named query with k=v params."""
    if (sql is None) == (name is None):
        raise QueryError("give either SQL or --name NAME (see 'tracker query --list')")
    if name is not None:
        if name not in resources.named_queries():
            raise QueryError(f"no named query {name!r} (see 'tracker query --list')")
        statement = resources.sql("queries", name)
    else:
        assert sql is not None
        statement = sql
    bound: dict[str, Any] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise QueryError(f"--param must look like key=value, got {item!r}")
        bound[key] = value
    if name is not None:
        wanted = set(_PARAM.findall(statement))
        unknown = set(bound) - wanted
        if unknown:
            raise QueryError(
                f"query {name!r} takes no parameter {sorted(unknown)[0]!r}; "
                f"it takes: {', '.join(sorted(wanted)) or 'none'}"
            )
        for missing in wanted - set(bound):
            bound[missing] = None
    return statement, bound


def run(db: Path, statement: str, params: dict[str, Any], *, write: bool = False) -> QueryResult:
    """Execute one statement; parameters are bound by DuckDB, never interpolated.

    Without write the file is opened read-only and DuckDB's external access is off before the
    statement runs (the statement cannot turn it back on): no COPY TO, EXPORT DATABASE, ATTACH,
    INSTALL or LOAD, and no reading of other files (read_csv, read_text, ...) or URLs.
    """
    with open_store(db, read_only=not write) as store:
        if not write:
            store.con.execute("SET enable_external_access = false")
        try:
            cursor = store.con.execute(statement, params or None)
            columns = [d[0] for d in cursor.description] if cursor.description else []
            rows = cursor.fetchall() if cursor.description else []
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if not write and ("read-only" in first.lower() or "disabled" in first.lower()):
                first += (
                    " (tracker query is read-only: no writes, files, URLs or extensions; "
                    "pass --write to allow them)"
                )
            raise QueryError(first) from None
    return QueryResult(columns, rows)


def render(result: QueryResult, fmt: str, console: Console) -> str:
    """The result as a table, CSV or a JSON list of objects."""
    if fmt == "json":
        objects = [
            dict(zip(result.columns, jsonable(list(row)), strict=True)) for row in result.rows
        ]
        return orjson.dumps(objects, option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(result.columns)
        for row in result.rows:
            writer.writerow(["" if v is None else jsonable(v) for v in row])
        return buffer.getvalue()
    table = Table(show_lines=False, pad_edge=False)
    for column in result.columns:
        table.add_column(column)
    for row in result.rows:
        table.add_row(*("" if v is None else str(jsonable(v)) for v in row))
    with console.capture() as capture:
        console.print(table)
        console.print(f"{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}", style="dim")
    return capture.get()
