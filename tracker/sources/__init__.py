"""Venue sources: I/O and wire shapes for one venue each (`sources/hyperliquid/`,
`sources/ethereum/`), async fetch_* paired with pure parse_* that turn the venue's answers into
`tracker.records`. Venue jargon (`szi`, `px`) stays in here, and so do the wire shapes: each
venue's `shapes.py` declares what its answers hold as TypedDicts, checked at the edge by
`check.Shape`; fetch_* return `object`, parse_* take it and return records only. May import
`tracker.records`, `tracker.net` and the base modules; never risk, store, alerts, output, app or
cli.
"""
