"""Live risk: positions held as float64 columns and re-marked on every mid update, no API call.

`book.LiveBook` is the entry point: `upsert` a refreshed account, `apply_marks` a mids message,
then query `below`, `accounts_below`, `risk_order`, `changed_accounts` (whose figures moved since
a look, `figures.py`), or materialise `positions` / `snapshots` as Decimal records; `BookView` is
the read-only part of it that readers outside the engine get. The exact Decimal path
(`tracker.risk.perps`, `tracker.risk.assess`) stays the reference; tests/test_live_book.py proves
agreement and bench/book.py measures the speed.
"""
