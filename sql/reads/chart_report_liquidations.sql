-- The report's liquidation table: episodes of the given addresses, newest first.
-- params: addresses, limit
SELECT address, coin, side, start_ts, end_ts, fills, notional_usd, method, mark_px
FROM liquidations
WHERE address IN (SELECT unnest($addresses::VARCHAR[]))
ORDER BY start_ts DESC, episode_id
LIMIT $limit
