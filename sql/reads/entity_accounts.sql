SELECT venue, address, dex, account_value_usd, notional_usd, shock_to_liq_pct, ts
FROM latest_accounts
WHERE address IN (SELECT unnest($addresses::VARCHAR[]))
