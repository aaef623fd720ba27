-- Watched positions nearest their liquidation price (our computed one).
-- param: limit INTEGER 1..10000 = 20  rows at most
SELECT venue, address, dex, coin, side, notional_usd, mark_px, liquidation_px,
       venue_liquidation_px, distance_to_liq_pct, ts
FROM latest_positions
WHERE distance_to_liq_pct IS NOT NULL
ORDER BY distance_to_liq_pct ASC
LIMIT $limit
