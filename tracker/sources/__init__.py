"""Venue sources: I/O and wire shapes for one venue each (`sources/hyperliquid/`,
`sources/ethereum/`), async fetch_* paired with pure parse_* that turn the venue's answers into
`tracker.records`. Venue jargon (`szi`, `px`) stays in here. May import `tracker.records`,
`tracker.net` and the base modules; never risk, store, alerts, output, app or cli.
"""
