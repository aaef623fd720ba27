-- Who added to longs of a coin over the last days (opens and increases of long positions).
-- param: coin COIN = ETH  the coin as the venue names it (ETH, kPEPE, flx:CRCL)
-- param: days INTEGER 1..3650 = 7  how many days back
SELECT address, coin, count(*) AS adds, sum(size) AS size_added, sum(notional_usd) AS notional_usd,
       max(size_after) AS largest_size, max(ts) AS last_add
FROM position_events
WHERE coin = $coin AND kind IN ('open', 'increase') AND size_after > 0
  AND ts >= now() - to_days($days)
GROUP BY address, coin
ORDER BY notional_usd DESC
