INSERT INTO universe
SELECT address, account_value_usd::DECIMAL(38, 18), display_name,
       min_account_value_usd::DECIMAL(38, 18), make_timestamp(ts_us)::TIMESTAMPTZ
FROM batch
ON CONFLICT DO NOTHING
