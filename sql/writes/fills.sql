INSERT INTO fills
SELECT make_timestamp(ts_us)::TIMESTAMPTZ, time_ms, venue, address, coin, dex, fill_key, side,
       px::DECIMAL(38, 18), size::DECIMAL(38, 18), notional_usd::DECIMAL(38, 18),
       start_position::DECIMAL(38, 18), direction, closed_pnl_usd::DECIMAL(38, 18),
       fee::DECIMAL(38, 18), fee_token, builder_fee::DECIMAL(38, 18), crossed, hash, oid, tid,
       twap_id, cloid, liquidation_method, liquidated_user, liquidation_mark_px::DECIMAL(38, 18)
FROM batch
ON CONFLICT DO NOTHING
