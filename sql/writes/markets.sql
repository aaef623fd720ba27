INSERT INTO markets
SELECT make_timestamp(ts_us)::TIMESTAMPTZ, venue, dex, coin,
       mark_px::DECIMAL(38, 18), oracle_px::DECIMAL(38, 18), mid_px::DECIMAL(38, 18),
       funding_rate::DECIMAL(38, 18), open_interest::DECIMAL(38, 18), max_leverage,
       margin_table_id, day_notional_volume_usd::DECIMAL(38, 18), prev_day_px::DECIMAL(38, 18)
FROM batch
ON CONFLICT DO NOTHING
