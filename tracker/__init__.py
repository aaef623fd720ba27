"""tracker: a self-hosted tracker of whales on Hyperliquid and Ethereum, with history in DuckDB."""

__version__ = "0.1.0"
