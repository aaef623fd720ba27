-- The latest stored state of each Hyperliquid account, to warm the live book at start-up.
SELECT address, dex, ts, venue_time, account_value_usd, cross_account_value_usd, notional_usd,
       margin_used_usd, maintenance_margin_usd, withdrawable_usd
FROM latest_accounts
WHERE venue = 'hyperliquid' AND address IN (SELECT unnest($addresses::VARCHAR[]))
