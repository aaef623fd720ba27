"""Everything DuckDB: open with lock retries and migrate (`db`), schema compatibility (`compat`),
batched idempotent writes of a pass (`writes`) and the named queries of `sql/queries`
(`named_queries`). May import `tracker.records`, `tracker.net` and the base modules only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracker.store.db import Store, open_store

__all__ = ["Store", "open_store"]


def __getattr__(name: str) -> Any:
    """`Store` and `open_store` on first use: `store.named_queries` alone does not load DuckDB."""
    if name in __all__:
        from tracker.store import db

        return getattr(db, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
