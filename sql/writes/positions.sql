INSERT INTO positions
SELECT make_timestamp(ts_us)::TIMESTAMPTZ, venue, address, dex, coin, side,
       size::DECIMAL(38, 18), entry_px::DECIMAL(38, 18), mark_px::DECIMAL(38, 18),
       notional_usd::DECIMAL(38, 18), unrealized_pnl_usd::DECIMAL(38, 18), roe::DECIMAL(38, 18),
       leverage, effective_leverage::DECIMAL(38, 18), margin_mode,
       margin_used_usd::DECIMAL(38, 18), maintenance_margin_usd::DECIMAL(38, 18),
       liquidation_px::DECIMAL(38, 18), venue_liquidation_px::DECIMAL(38, 18),
       distance_to_liq_pct::DECIMAL(38, 18), max_leverage,
       cum_funding_since_open_usd::DECIMAL(38, 18)
FROM batch
ON CONFLICT DO NOTHING
