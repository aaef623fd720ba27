"""Rewriting a store file in the storage format DuckDB 1.x clients read, on request only.

Files the tracker created before it pinned STORAGE_VERSION are in DuckDB 2.0's own format, which
the DuckDB CLI and Node packages (1.x) refuse to open. Nothing converts them behind the user's
back: `tracker db compat` copies every table, view, sequence and macro into a new file of the
compatible format (under the store's write lock, so no pass writes meanwhile), checks that every
table holds as many rows as before, then swaps the new file in and keeps the original beside it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tracker.errors import BadInput, StoreError
from tracker.store.db import STORAGE_VERSION, open_store, readable_by_1x, storage_version


@dataclass(frozen=True, slots=True, kw_only=True)
class Rewrite:
    """What `rewrite_compatible` found and did."""

    path: Path
    before: str  # the storage format found, e.g. 'v2.0.0'
    after: str  # the storage format the file is in now
    backup: Path | None  # where the original is kept; None when nothing was rewritten


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def rewrite_compatible(path: Path) -> Rewrite:
    """Rewrite the store at path in STORAGE_VERSION format, keeping the original as a backup."""
    if not path.is_file():
        raise BadInput(f"no database at {path} (--db, TRACKER_DB)")
    with open_store(path, report_format=False) as store:
        before = storage_version(store).rstrip("+")
        if readable_by_1x(before):
            return Rewrite(path=path, before=before, after=before, backup=None)
        backup = path.with_name(f"{path.name}.{before}.bak")
        if backup.exists():
            raise BadInput(f"{backup} exists; move it away, then run 'tracker db compat' again")
        fresh = path.with_name(f".{path.name}.compat.tmp")
        for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
            leftover.unlink(missing_ok=True)  # from an interrupted earlier run
        try:
            _copy(store.con, fresh)
        except BaseException as exc:
            fresh.unlink(missing_ok=True)
            if isinstance(exc, duckdb.Error):
                first = str(exc).strip().splitlines()[0]
                raise StoreError(f"cannot rewrite {path}: {first}") from None
            raise
        # Swapped while the original is still open and locked: an opener waiting for the lock
        # gets the new file, and the original stays whole under its new name.
        try:
            os.link(path, backup)
            os.replace(fresh, path)
        except OSError as exc:
            fresh.unlink(missing_ok=True)
            raise StoreError(
                f"cannot swap in the rewritten {path}: {exc.strerror or exc}"
            ) from None
    return Rewrite(path=path, before=before, after=STORAGE_VERSION, backup=backup)


def _copy(con: duckdb.DuckDBPyConnection, fresh: Path) -> None:
    """Everything of the open database into a new file at fresh, row counts checked."""
    row = con.execute("SELECT current_database()").fetchone()
    source = _identifier(str(row[0] if row else "main"))
    con.execute(f"ATTACH {_literal(str(fresh))} AS compat (STORAGE_VERSION '{STORAGE_VERSION}')")
    try:
        con.execute(f"COPY FROM DATABASE {source} TO compat")
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
            " AND schema_name = 'main' ORDER BY table_name"
        ).fetchall()
        for (table,) in tables:
            name = _identifier(str(table))
            old = con.execute(f"SELECT count(*) FROM {source}.main.{name}").fetchone()
            new = con.execute(f"SELECT count(*) FROM compat.main.{name}").fetchone()
            if old != new:
                raise StoreError(f"the copy of table {table} holds {new} rows, not {old}")
    finally:
        con.execute("DETACH compat")
    con.execute("CHECKPOINT")  # nothing of the original is left in its WAL
