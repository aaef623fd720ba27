-- The newest liquidation episodes on one coin (Hyperliquid), any size.
-- params: coin, limit
SELECT l.start_ts, l.end_ts, l.address, c.display_name, l.side, l.size, l.notional_usd,
       l.method, l.mark_px, l.realized_loss_usd, l.large
FROM liquidations l
LEFT JOIN account_cohorts c USING (address)
WHERE l.coin = $coin
ORDER BY l.start_ts DESC, l.address
LIMIT $limit
