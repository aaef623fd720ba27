-- One address's latest account snapshot per venue and dex (the columns of AccountSnapshot).
-- params: address
SELECT ts, venue, address, dex, venue_time, account_value_usd, cross_account_value_usd,
       notional_usd, margin_used_usd, maintenance_margin_usd, withdrawable_usd, shock_to_liq_pct
FROM latest_accounts
WHERE address = $address
ORDER BY venue, dex
