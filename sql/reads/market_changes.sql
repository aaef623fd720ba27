-- The newest large position changes on one coin (position_events: one per order), any account
-- whose fills are stored.
-- params: coin, min_usd, limit
SELECT e.ts, e.address, c.display_name, e.kind, e.side, e.size, e.size_before, e.size_after,
       e.avg_px, e.notional_usd, e.liquidation
FROM position_events e
LEFT JOIN account_cohorts c USING (address)
WHERE e.coin = $coin AND e.notional_usd >= $min_usd
ORDER BY e.time_ms DESC, e.address, e.oid
LIMIT $limit
