-- Largest position changes (open, increase, reduce, close, flip) in the last 24 hours.
-- param: limit INTEGER 1..10000 = 20  rows at most
-- param: hours INTEGER 1..87600 = 24  how many hours back
SELECT ts, address, dex, coin, kind, size_before, size_after, avg_px, notional_usd,
       realized_pnl_usd, liquidation
FROM position_events
WHERE ts >= now() - to_hours($hours)
ORDER BY notional_usd DESC
LIMIT $limit
