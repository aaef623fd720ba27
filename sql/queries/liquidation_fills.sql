-- Fills carrying a liquidation (market slices and backstop takeovers), largest first.
-- param: min_usd DECIMAL 0.. = 0  smallest fill notional, USD
-- param: limit INTEGER 1..10000 = 50  rows at most
SELECT ts, address, coin, side, px, size, notional_usd, liquidation_method, liquidated_user,
       liquidation_mark_px, closed_pnl_usd
FROM fills
WHERE liquidation_method IS NOT NULL
  AND notional_usd >= $min_usd
ORDER BY notional_usd DESC
LIMIT $limit
