"""Pure risk math, no I/O: Hyperliquid perps (`perps`: cross, isolated, margin tiers, shocks),
Aave health (`aave`), the assessment of a venue account into positions (`assess`) and liquidation
episodes (`episodes`); `risk/live/` holds the float64 book re-marked on every mid, proven equal to
the exact Decimal path. May import `tracker.records` and the base modules only.
"""
