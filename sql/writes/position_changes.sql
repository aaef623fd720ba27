INSERT INTO position_changes
SELECT make_timestamp(ts_us)::TIMESTAMPTZ, time_ms, venue, address, dex, coin, kind,
       size_before::DECIMAL(38, 18), size_after::DECIMAL(38, 18), price::DECIMAL(38, 18),
       notional_usd::DECIMAL(38, 18), source, ref
FROM batch
ON CONFLICT DO NOTHING
