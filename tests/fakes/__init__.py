"""The tests' local Hyperliquid-compatible venue (`POST /info`, `GET /ws`, the leaderboard).

The venue itself ships in the package (tracker/replay: server, venue, ws, wire, model, market,
tape, liquidations, cascade, leaderboard, faults) so that `tracker demo` can run it; the modules
of the same names here re-export it for the tests. What stays here reads the shared fixtures,
which the wheel does not hold:
    hyperliquid  FakeHyperliquid: the replay server + `seeded()`; CLI `main`
    seed         the shared fixtures under deterministic addresses
    loaders      seed from a snapshot (dict / --state file) or a directory of recorded answers
    cassettes    reads response bodies out of vcrpy cassettes (PyYAML safe loader)
    fixtures     pytest fixture `hl_fake`
"""
