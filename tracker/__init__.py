"""tracker: a self-hosted tracker of whales on Hyperliquid and Ethereum, with history in DuckDB.

Layers as folders, arrows only pointing down (tests/test_layers.py enforces it):
cli -> app -> output | alerts -> store -> records | net -> base, with app -> sources -> records |
net and output | alerts -> risk -> records (docs/architecture.md has the table). The base is the
modules at the top of this package (`errors`, `config`, `addresses`, `resources`, `logs`, `redact`,
`atomic`, `times`, `percentiles`, `venues`, `jsonable`, `watchlists`): every layer may import
them and they import only each other.
docs/architecture.md draws the layers and follows one poll through them.
"""

__version__ = "0.1.0"
