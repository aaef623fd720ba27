-- The dashboard's overview: each account's latest state (every venue and dex summed), its
-- position nearest to liquidation and its latest leaderboard name; riskiest first (the smallest
-- move that liquidates something: the size of the account's shock, signed by direction, or its
-- nearest position's distance).
-- params: every (TRUE = every stored account), addresses, coin (NULL = any)
WITH accounts AS (
    SELECT address, max(ts) AS ts, sum(account_value_usd) AS account_value_usd,
           sum(notional_usd) AS notional_usd,
           arg_min(shock_to_liq_pct, abs(shock_to_liq_pct)) AS shock_to_liq_pct,
           sum(positions) AS positions
    FROM latest_accounts
    WHERE $every OR address IN (SELECT unnest($addresses::VARCHAR[]))
    GROUP BY address
), nearest AS (
    SELECT address, min(distance_to_liq_pct) AS distance_to_liq_pct,
           arg_min(coin, distance_to_liq_pct) AS coin,
           arg_min(side, distance_to_liq_pct) AS side,
           arg_min(mark_px, distance_to_liq_pct) AS mark_px,
           arg_min(liquidation_px, distance_to_liq_pct) AS liquidation_px
    FROM latest_positions
    WHERE distance_to_liq_pct IS NOT NULL
    GROUP BY address
), names AS (
    SELECT address, arg_max(display_name, ts) AS display_name
    FROM leaderboard
    GROUP BY address
)
SELECT a.address, n.display_name, a.ts, a.account_value_usd, a.notional_usd, a.shock_to_liq_pct,
       a.positions, p.coin, p.side, p.mark_px, p.liquidation_px, p.distance_to_liq_pct
FROM accounts a
LEFT JOIN nearest p USING (address)
LEFT JOIN names n USING (address)
WHERE $coin IS NULL OR a.address IN (SELECT address FROM latest_positions WHERE coin = $coin)
ORDER BY least(abs(a.shock_to_liq_pct), p.distance_to_liq_pct) ASC NULLS LAST, a.notional_usd DESC,
         a.address
