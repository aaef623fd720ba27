-- Largest open positions right now, across venues.
-- params: limit (default 20)
SELECT venue, address, dex, coin, side, size, notional_usd, mark_px, liquidation_px,
       distance_to_liq_pct, unrealized_pnl_usd, ts
FROM latest_positions
ORDER BY notional_usd DESC
LIMIT coalesce(CAST($limit AS INTEGER), 20)
