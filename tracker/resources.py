"""Where the shipped SQL and watchlists live: inside the wheel, or in the checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from tracker.errors import QueryError

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The installed copy (tracker/_data/NAME) or, in a checkout/editable install, ./NAME."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"tracker data folder {name!r} is missing from this installation")


@cache
def sql(kind: str, name: str) -> str:
    """Text of sql/KIND/NAME.sql (kind: migrations, writes, queries)."""
    path = data_dir("sql") / kind / f"{name}.sql"
    if not path.is_file():
        raise QueryError(f"no {kind[:-1]} named {name!r}")
    return path.read_text(encoding="utf-8")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration, in order."""
    found = []
    for path in sorted((data_dir("sql") / "migrations").glob("[0-9][0-9][0-9]_*.sql")):
        version = int(path.name[:3])
        found.append((version, path.stem, path.read_text(encoding="utf-8")))
    return found


@cache
def query_names() -> tuple[str, ...]:
    """Names of the shipped named queries (sql/queries/NAME.sql), sorted."""
    return tuple(sorted(path.stem for path in (data_dir("sql") / "queries").glob("*.sql")))
