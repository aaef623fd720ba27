-- Largest position changes (open, increase, reduce, close, flip) in the last 24 hours.
-- params: limit (default 20), hours (default 24)
SELECT ts, address, dex, coin, kind, size_before, size_after, avg_px, notional_usd,
       realized_pnl_usd, liquidation
FROM position_events
WHERE ts >= now() - to_hours(coalesce(CAST($hours AS INTEGER), 24))
ORDER BY notional_usd DESC
LIMIT coalesce(CAST($limit AS INTEGER), 20)
