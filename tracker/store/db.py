"""Opening the DuckDB file, applying migrations once, and waiting politely for the lock.

DuckDB lets one process write a file, and a process that writes excludes readers in others. So
writers (watch, snapshot, run) open the file for the few milliseconds of a batch and close it,
and every opener, reader or writer, retries for a while when another process holds the lock.

New files are created in DuckDB's v1.4.0 storage format (STORAGE_VERSION), which the DuckDB 1.x
clients people use (the CLI and Node packages) read; the Python package 2.0 would otherwise write
its own 2.0 format, which they refuse. A file already in a newer format is left as it is: the
first writable open in a process says so once, and `tracker db compat` rewrites it on request.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tracker import resources
from tracker.errors import BadInput, StoreBusy, StoreError

log = logging.getLogger(__name__)

# The storage format new files are created in: DuckDB's long-term release, read by every 1.x
# client from 1.4 on (the 1.5 CLI reads storage versions 64 to 68; DuckDB 2.0 writes 69).
STORAGE_VERSION = "v1.4.0"
_STORAGE = re.compile(r"v(\d+)\.(\d+)\.(\d+)")
_WARNED: set[str] = set()  # files whose format was reported, once per process


class Store:
    """An open DuckDB connection with the schema migrated (or read-only)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only

    def close(self) -> None:
        """Close the connection (releases the file lock)."""
        self.con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction: committed on success, rolled back on any exception."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")


# DuckDB attaches a file once per process: two threads of one process (a pass's write and an
# alert written from the mark path) must take turns, or the second open fails outright.
_FILE_LOCKS: dict[str, threading.Lock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _file_lock(path: Path) -> threading.Lock:
    key = str(path.resolve())
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(key, threading.Lock())


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def _connect(path: Path, read_only: bool, busy_timeout_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + busy_timeout_s
    delay = 0.01
    while True:
        try:
            # The setting applies when the file is created; an existing file keeps its format.
            return duckdb.connect(
                str(path),
                read_only=read_only,
                config={"storage_compatibility_version": STORAGE_VERSION},
            )
        except duckdb.IOException as exc:
            if "not a valid DuckDB database file" in str(exc):
                raise BadInput(f"{path} is not a DuckDB database file (--db, TRACKER_DB)") from None
            if not _is_lock_error(exc):
                raise StoreError(f"cannot open {path}: {str(exc).splitlines()[0]}") from None
            if time.monotonic() >= deadline:
                raise StoreBusy(
                    f"{path} is locked by another tracker process for over {busy_timeout_s:.0f}s"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open {path}: {str(exc).splitlines()[0]}") from None


# A store a one-shot command opened before its network I/O, kept for the next writable open of
# the same file in this process (see kept_open). Keyed like _FILE_LOCKS; guarded by its guard.
_KEPT: dict[str, duckdb.DuckDBPyConnection] = {}


def _take_kept(path: Path) -> duckdb.DuckDBPyConnection | None:
    with _FILE_LOCKS_GUARD:
        return _KEPT.pop(str(path.resolve()), None)


def _check_path(path: Path, read_only: bool) -> None:
    if path.is_dir():
        raise BadInput(f"{path} is a folder, not a DuckDB database file (--db, TRACKER_DB)")
    if read_only and not path.exists():
        raise BadInput(f"no database at {path}: run 'tracker watch' or 'tracker snapshot' first")
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise BadInput(f"cannot create {path}: a part of its folder is a file") from None
        except OSError as exc:
            raise StoreError(f"cannot create {path.parent}: {exc.strerror}") from None


def _open(
    path: Path, read_only: bool, busy_timeout_s: float, report_format: bool
) -> duckdb.DuckDBPyConnection:
    """Connect, set UTC and, when writable, migrate; the caller holds the process's file lock."""
    con = _connect(path, read_only, busy_timeout_s)
    try:
        con.execute("SET TimeZone = 'UTC'")
        if not read_only:
            store = Store(con, path, read_only)
            try:
                migrate(store)
            except duckdb.Error as exc:  # e.g. a DuckDB file of another tool, tables in the way
                first = str(exc).strip().splitlines()[0]
                raise StoreError(f"cannot migrate {path}: {first}") from None
            if report_format:
                _report_format_once(store)
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def open_store(
    path: Path, *, read_only: bool = False, busy_timeout_s: float = 15.0, report_format: bool = True
) -> Iterator[Store]:
    """Open (creating and migrating when writable) the store at path; close on exit.

    A path that cannot hold a database (a folder, a file that is not DuckDB, a path through a
    file) is BadInput; a DuckDB file that is damaged or cannot be read is a StoreError. The first
    writable open of a file in a format DuckDB 1.x clients cannot read logs one warning, unless
    report_format is false. A writable open takes over a store kept_open left for it.
    """
    _check_path(path, read_only)
    lock = _file_lock(path)
    if not lock.acquire(timeout=busy_timeout_s):
        raise StoreBusy(f"{path} is in use in this process for over {busy_timeout_s:.0f}s")
    try:
        con = None if read_only else _take_kept(path)
        if con is None:
            con = _open(path, read_only, busy_timeout_s, report_format)
        try:
            yield Store(con, path, read_only)
        finally:
            con.close()
    finally:
        lock.release()


@contextmanager
def kept_open(path: Path, *, busy_timeout_s: float = 15.0) -> Iterator[None]:
    """Open (create, migrate) the store now and keep it for this process's next writable open.

    For a one-shot command (`tracker snapshot`): its store opens before any network I/O, so a
    bad --db fails at once, and its pass opens the file again moments later to read where
    history resumes. Handing the open connection over saves that second start of DuckDB (about
    20 ms). Closed on exit if no open took it. The file stays locked against other processes
    in between, as it would be for the pass's own open.
    """
    _check_path(path, False)
    lock = _file_lock(path)
    if not lock.acquire(timeout=busy_timeout_s):
        raise StoreBusy(f"{path} is in use in this process for over {busy_timeout_s:.0f}s")
    try:
        con = _open(path, False, busy_timeout_s, True)
    finally:
        lock.release()
    with _FILE_LOCKS_GUARD:
        _KEPT[str(path.resolve())] = con
    try:
        yield
    finally:
        left = _take_kept(path)
        if left is not None:
            left.close()


def storage_version(store: Store) -> str:
    """The storage format of the open file as DuckDB names it, e.g. 'v1.4.0+' or 'v2.0.0+'."""
    row = store.con.execute(
        "SELECT tags FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    tags = row[0] if row else None
    return str(tags.get("storage_version", "")) if isinstance(tags, dict) else ""


def readable_by_1x(version: str) -> bool:
    """Whether DuckDB 1.x clients open a file of this storage format (unknown: assume so)."""
    match = _STORAGE.search(version)
    return match is None or int(match[1]) < 2


def _report_format_once(store: Store) -> None:
    key = str(store.path.resolve())
    if key in _WARNED:
        return
    _WARNED.add(key)
    version = storage_version(store)
    if not readable_by_1x(version):
        log.warning(
            "%s is in DuckDB's %s storage format, which DuckDB 1.x clients (the duckdb CLI, "
            "Node) cannot open; 'tracker db compat' rewrites it in the %s format they read",
            store.path,
            version.rstrip("+"),
            STORAGE_VERSION,
        )


def migrate(store: Store) -> list[int]:
    """Apply every migration not yet recorded in schema_migrations; return the versions applied."""
    con = store.con
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, text in resources.migrations():
        if version in done:
            continue
        with store.transaction():
            con.execute(text)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [version, name, datetime.now(UTC)],
            )
        log.info("applied migration %s", name)
        applied.append(version)
    return applied
