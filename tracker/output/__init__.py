"""Presentation and the read side: terminal tables (`terminal`, `terminal_events`, `fit`), JSON,
charts and liquidation maps, the report, exports, entity views, `tracker query`'s results
(`user_query`) and the read views over the store (`reads`). May import `tracker.store`,
`tracker.risk`, `tracker.records`, `tracker.net` and the base modules; never alerts, sources, app
or cli.
"""
