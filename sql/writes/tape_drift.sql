INSERT INTO tape_drift
SELECT make_timestamp(ts_us)::TIMESTAMPTZ, venue, address, dex, coin, trades,
       size_estimate::DECIMAL(38, 18), size_venue::DECIMAL(38, 18),
       entry_px_estimate::DECIMAL(38, 18), entry_px_venue::DECIMAL(38, 18),
       liquidation_px_estimate::DECIMAL(38, 18), liquidation_px_venue::DECIMAL(38, 18),
       size_drift::DECIMAL(38, 18), entry_px_drift, liquidation_px_drift
FROM batch
ON CONFLICT DO NOTHING
