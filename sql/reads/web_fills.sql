-- One address's fills, newest first, a page at a time (the dashboard's fills table).
-- params: address, limit, offset
SELECT ts, venue, dex, coin, side, direction, px, size, notional_usd, closed_pnl_usd, fee,
       fee_token, liquidation_method, hash, oid, tid
FROM fills
WHERE address = $address
ORDER BY time_ms DESC, coin, fill_key, side
LIMIT $limit OFFSET $offset
