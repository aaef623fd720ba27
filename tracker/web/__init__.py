"""The dashboard: an aiohttp web app serving read-only pages, a JSON API under /api/ (the CLI's
`--json` documents, one serializer for both), and Server-Sent Events when the data changes
and, under the live daemon, with the live book's figures (`live.py`). It reads the DuckDB file
through `store` and renders through `output`; it may import output,
alerts, store, risk, records, net and base, and is imported by app and cli only.
"""
