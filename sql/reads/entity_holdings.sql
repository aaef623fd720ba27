SELECT h.venue, h.address, h.asset, h.amount, h.usd_value, h.ts
FROM holdings h
JOIN (SELECT venue, chain_id, address, max(ts) AS ts FROM holdings GROUP BY ALL) latest
  USING (venue, chain_id, address, ts)
WHERE h.address IN (SELECT unnest($addresses::VARCHAR[]))
