-- Fills carrying a liquidation (market slices and backstop takeovers), largest first.
-- params: min_usd (default 0), limit (default 50)
SELECT ts, address, coin, side, px, size, notional_usd, liquidation_method, liquidated_user,
       liquidation_mark_px, closed_pnl_usd
FROM fills
WHERE liquidation_method IS NOT NULL
  AND notional_usd >= coalesce(CAST($min_usd AS DECIMAL(38, 2)), 0)
ORDER BY notional_usd DESC
LIMIT coalesce(CAST($limit AS INTEGER), 50)
