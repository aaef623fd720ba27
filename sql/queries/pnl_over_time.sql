-- Account value and unrealized PnL of one address over time, all dexes summed.
-- param: address ADDRESS required  the account
SELECT a.ts,
       sum(a.account_value_usd) AS account_value_usd,
       sum(a.notional_usd) AS notional_usd,
       (SELECT coalesce(sum(p.unrealized_pnl_usd), 0) FROM positions p
         WHERE p.address = a.address AND p.ts = a.ts) AS unrealized_pnl_usd,
       min(a.shock_to_liq_pct) AS shock_to_liq_pct
FROM account_snapshots a
WHERE a.address = $address
GROUP BY a.ts, a.address
ORDER BY a.ts
