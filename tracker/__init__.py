"""tracker: a self-hosted tracker of whales on Hyperliquid and Ethereum, with history in DuckDB.

Layers as folders, arrows only pointing down (tests/test_layers.py enforces it):
cli -> app -> output | alerts -> store -> sources | risk -> records | net -> base. The base is the
modules at the top of this package (`errors`, `config`, `addresses`, `resources`, `logs`, `redact`,
`jsonable`, `watchlists`): every layer may import them and they import only each other.
docs/architecture.md draws the layers and follows one poll through them.
"""

__version__ = "0.1.0"
