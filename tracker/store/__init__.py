"""Everything DuckDB: open with lock retries and migrate (`db`), schema compatibility (`compat`),
batched idempotent writes of a pass (`writes`) and the named queries of `sql/queries`
(`named_queries`). May import `tracker.records`, `tracker.net` and the base modules only.
"""

from tracker.store.db import Store, open_store

__all__ = ["Store", "open_store"]
