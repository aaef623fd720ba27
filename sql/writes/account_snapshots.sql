INSERT INTO account_snapshots
SELECT make_timestamp(ts_us)::TIMESTAMPTZ, venue, address, dex,
       CASE WHEN venue_time_us IS NULL THEN NULL ELSE make_timestamp(venue_time_us)::TIMESTAMPTZ END,
       account_value_usd::DECIMAL(38, 18), cross_account_value_usd::DECIMAL(38, 18),
       notional_usd::DECIMAL(38, 18), margin_used_usd::DECIMAL(38, 18),
       maintenance_margin_usd::DECIMAL(38, 18), withdrawable_usd::DECIMAL(38, 18),
       shock_to_liq_pct::DECIMAL(38, 18), positions
FROM batch
ON CONFLICT DO NOTHING
