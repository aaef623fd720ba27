"""The replay venue: a Hyperliquid-compatible market served on 127.0.0.1, shipped in the wheel.

`tracker demo` plays a scripted cascade on it (scenario.py, script.py); the tests run the same
server seeded from the shared fixtures (tests/fakes). It speaks the venue's wire protocol from the
venue's side: REST `POST /info` (server.py, venue.py, wire.py), the WebSocket `GET /ws` (ws.py),
the stats host's leaderboard (leaderboard.py), modelled accounts re-rendered at every mark
(model.py, market.py), a market tape that moves them (tape.py), liquidations in slices and the
backstop with the fills behind them (liquidations.py, cascade.py) and scripted faults (faults.py).
May import only `base` (the modules at the top of the package), never records, net or sources:
its wire shapes are written from the venue's documentation on their own, so a mistake in the
tracker's parsers is not mirrored here and the tests against it can catch one.
"""
