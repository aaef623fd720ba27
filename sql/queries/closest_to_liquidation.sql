-- Watched positions nearest their liquidation price (our computed one).
-- params: limit (default 20)
SELECT venue, address, dex, coin, side, notional_usd, mark_px, liquidation_px,
       venue_liquidation_px, distance_to_liq_pct, ts
FROM latest_positions
WHERE distance_to_liq_pct IS NOT NULL
ORDER BY distance_to_liq_pct ASC
LIMIT coalesce(CAST($limit AS INTEGER), 20)
