-- Who added to longs of a coin over the last days (opens and increases of long positions).
-- params: coin (default ETH), days (default 7)
SELECT address, coin, count(*) AS adds, sum(size) AS size_added, sum(notional_usd) AS notional_usd,
       max(size_after) AS largest_size, max(ts) AS last_add
FROM position_events
WHERE coin = coalesce($coin, 'ETH') AND kind IN ('open', 'increase') AND size_after > 0
  AND ts >= now() - to_days(coalesce(CAST($days AS INTEGER), 7))
GROUP BY address, coin
ORDER BY notional_usd DESC
