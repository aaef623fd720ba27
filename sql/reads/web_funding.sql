-- One address's funding payments, newest first, a page at a time (the dashboard's funding table).
-- params: address, limit, offset
SELECT ts, venue, coin, amount_usd, position_size, funding_rate, samples, hash
FROM funding
WHERE address = $address
ORDER BY time_ms DESC, coin
LIMIT $limit OFFSET $offset
