-- One coin's largest tracked positions as of each account's latest snapshot, with the account's
-- leaderboard name (a stranger's text).
-- params: dex, coin, limit
SELECT p.address, c.display_name, p.side, p.size, p.notional_usd, p.entry_px, p.mark_px,
       p.liquidation_px, p.distance_to_liq_pct, p.ts
FROM latest_positions p
LEFT JOIN account_cohorts c USING (address)
WHERE p.venue = 'hyperliquid' AND p.dex = $dex AND p.coin = $coin
ORDER BY p.notional_usd DESC, p.address
LIMIT $limit
