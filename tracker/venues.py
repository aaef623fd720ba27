"""Venue names, as stored in the `venue` columns and written in watchlists: one place for each."""

from __future__ import annotations

HYPERLIQUID = "hyperliquid"
ETHEREUM = "ethereum"  # holdings and transfers on Ethereum mainnet (or the chain configured)
AAVE_V3 = "aave-v3"  # Aave v3 accounts, on the Ethereum side

WATCHLIST_VENUES = frozenset({HYPERLIQUID, ETHEREUM})  # what a watchlist entry may name
