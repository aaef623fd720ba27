-- The report's account table: each address's latest snapshot, every dex summed.
-- params: addresses
SELECT address, max(ts) AS ts, sum(account_value_usd) AS account_value_usd,
       sum(notional_usd) AS notional_usd, sum(margin_used_usd) AS margin_used_usd,
       min(shock_to_liq_pct) AS shock_to_liq_pct, sum(positions) AS positions
FROM latest_accounts
WHERE address IN (SELECT unnest($addresses::VARCHAR[]))
GROUP BY address
ORDER BY account_value_usd DESC, address
