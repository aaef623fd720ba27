"""DuckDB store: open with lock retries, migrate, write snapshots in one transaction, read."""

from tracker.store.db import Store, open_store

__all__ = ["Store", "open_store"]
