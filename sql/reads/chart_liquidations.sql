-- Liquidation episodes of one address ending at or after a time.
-- params: address, since, coin (NULL = every coin)
SELECT coin, start_ts, end_ts, side, notional_usd, mark_px, method
FROM liquidations
WHERE address = $address AND end_ts >= $since AND ($coin IS NULL OR coin = $coin)
ORDER BY coin, start_ts, episode_id
