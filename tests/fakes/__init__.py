"""Local Hyperliquid-compatible fake venue (`POST /info` on 127.0.0.1) for tests and benchmarks.

Modules:
    hyperliquid  FakeHyperliquid: venue state, scripting API, aiohttp server, CLI `main`
    loaders      seed from the shared fixtures, a snapshot (dict / --state file) or a directory
    model        venue margin math rendering modelled accounts (pure, Decimal)
    market       one perp dex: meta, asset ctxs, marks, cached answers
    faults       scripted faults: statuses, garbage, stalls, resets, delays, drift
    wire         request weights, venue-style errors, paginated time series
    cassettes    reads response bodies out of vcrpy cassettes (PyYAML safe loader)
    ws           the WebSocket endpoint `GET /ws`: subscriptions, mark paths, trades, drops
    fixtures     pytest fixture `hl_fake`
"""
