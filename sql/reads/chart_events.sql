-- Position events (open, increase, reduce, close, flip) of one address from a time on.
-- params: address, since, coin (NULL = every coin)
SELECT coin, ts, kind, side, size, avg_px, notional_usd, liquidation
FROM position_events
WHERE address = $address AND ts >= $since AND ($coin IS NULL OR coin = $coin)
ORDER BY coin, ts, time_ms, oid
