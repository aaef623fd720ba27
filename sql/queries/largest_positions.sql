-- Largest open positions right now, across venues.
-- param: limit INTEGER 1..10000 = 20  rows at most
SELECT venue, address, dex, coin, side, size, notional_usd, mark_px, liquidation_px,
       distance_to_liq_pct, unrealized_pnl_usd, ts
FROM latest_positions
ORDER BY notional_usd DESC
LIMIT $limit
