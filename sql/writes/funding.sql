INSERT INTO funding
SELECT make_timestamp(ts_us)::TIMESTAMPTZ, time_ms, venue, address, coin,
       amount_usd::DECIMAL(38, 18), position_size::DECIMAL(38, 18),
       funding_rate::DECIMAL(38, 18), samples, hash
FROM batch
ON CONFLICT DO NOTHING
