"""`tracker query`: SQL or a named query against the store, read-only unless asked, rendered."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tracker import resources
from tracker.errors import QueryError
from tracker.jsonable import jsonable
from tracker.plain import csv_cell, plain
from tracker.store.named_queries import NamedQuery, named_query, shown

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Column names and rows of a query."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


def list_named() -> list[NamedQuery]:
    """Named queries shipped in sql/queries, with their typed parameters."""
    return [named_query(name) for name in resources.query_names()]


def split_params(params: list[str]) -> list[tuple[str, str]]:
    """`key=value` items as (key, value) pairs; QueryError for an item of another shape."""
    pairs = []
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not _KEY.fullmatch(key):
            raise QueryError(f"--param must look like key=value, got {shown(item, 200)}")
        pairs.append((key, value))
    return pairs


def resolve(sql: str | None, name: str | None, params: list[str]) -> tuple[str, dict[str, Any]]:
    """The statement and bound parameters for either raw SQL or a named query with k=v params.

    A named query's values are converted to their declared types and checked (see
    tracker.store.named_queries) before any database is opened; raw SQL gets its values as text.
    """
    if (sql is None) == (name is None):
        raise QueryError("give either SQL or --name NAME (see 'tracker query --list')")
    pairs = split_params(params)
    if name is not None:
        named = named_query(name)
        return named.sql, named.bind(pairs)
    assert sql is not None
    bound: dict[str, Any] = {}
    for key, value in pairs:
        if key in bound:
            raise QueryError(f"--param {key} is given twice")
        bound[key] = value
    return sql, bound


def render_list(named: list[NamedQuery], console: Console) -> str:
    """The named queries, each with its description and its parameters' declarations."""
    with console.capture() as capture:
        for query in named:
            line = Text.assemble((query.name, "bold"), "  ", query.description)
            console.print(line, highlight=False, soft_wrap=True)
            for param in query.params:
                usage = f"    --param {param.usage()}"
                console.print(
                    Text(f"{usage}  {param.help}" if param.help else usage),
                    highlight=False,
                    soft_wrap=True,
                )
    return capture.get()


def run(
    db: Path,
    statement: str,
    params: dict[str, Any],
    *,
    write: bool = False,
    timeout_s: float | None = None,
    max_rows: int | None = None,
) -> QueryResult:
    """Execute one statement; parameters are bound by DuckDB, never interpolated.

    Without write the file is opened read-only and DuckDB's external access is off before the
    statement runs (the statement cannot turn it back on): no COPY TO, EXPORT DATABASE, ATTACH,
    INSTALL or LOAD, and no reading of other files (read_csv, read_text, ...) or URLs.
    timeout_s interrupts a statement still running then (a reader holds the file's lock, which
    keeps `tracker run` from writing); max_rows refuses a longer result (QueryError for both).
    """
    import threading

    import duckdb

    from tracker.store import open_store

    with open_store(db, read_only=not write) as store:
        if not write:
            store.con.execute("SET enable_external_access = false")
        timer = threading.Timer(timeout_s, store.con.interrupt) if timeout_s else None
        try:
            if timer:
                timer.start()
            cursor = store.con.execute(statement, params or None)
            columns = [d[0] for d in cursor.description] if cursor.description else []
            wanted = max_rows + 1 if max_rows is not None else None
            rows = (
                (cursor.fetchmany(wanted) if wanted else cursor.fetchall())
                if cursor.description
                else []
            )
        except duckdb.Error as exc:
            if timer and timer.finished.is_set():
                raise QueryError(f"the query ran over {timeout_s:g} s and was stopped") from None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if not write and ("read-only" in first.lower() or "disabled" in first.lower()):
                first += (
                    " (tracker query is read-only: no writes, files, URLs or extensions; "
                    "pass --write to allow them)"
                )
            raise QueryError(first) from None
        finally:
            if timer:
                timer.cancel()
    if max_rows is not None and len(rows) > max_rows:
        raise QueryError(f"the result has over {max_rows} rows: add a LIMIT")
    return QueryResult(columns, rows)


def _csv(value: object) -> object:
    if value is None:
        return ""
    cell = jsonable(value)
    return csv_cell(cell) if isinstance(cell, str) else cell


def as_objects(result: QueryResult) -> list[dict[str, Any]]:
    """The rows as JSON-ready objects keyed by column (`--format json`, and the web API)."""
    return [dict(zip(result.columns, jsonable(list(row)), strict=True)) for row in result.rows]


def render(result: QueryResult, fmt: str, console: Console) -> str:
    """The result as a table, CSV or a JSON list of objects."""
    if fmt == "json":
        return orjson.dumps(as_objects(result), option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(result.columns)
        for row in result.rows:
            writer.writerow([_csv(v) for v in row])
        return buffer.getvalue()
    table = Table(show_lines=False, pad_edge=False)
    for column in result.columns:
        table.add_column(column)
    for row in result.rows:
        # Cells are data, never rich markup: a label may read "[red]x[/red]".
        table.add_row(*(Text(plain("" if v is None else str(jsonable(v)))) for v in row))
    with console.capture() as capture:
        console.print(table)
        console.print(f"{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}", style="dim")
    return capture.get()
