INSERT INTO leaderboard
SELECT make_timestamp(ts_us)::TIMESTAMPTZ, address, account_value_usd::DECIMAL(38, 18),
       display_name, pnl_day_usd::DECIMAL(38, 18), pnl_week_usd::DECIMAL(38, 18),
       pnl_month_usd::DECIMAL(38, 18), pnl_all_time_usd::DECIMAL(38, 18),
       roi_day::DECIMAL(38, 18), roi_week::DECIMAL(38, 18), roi_month::DECIMAL(38, 18),
       roi_all_time::DECIMAL(38, 18), volume_day_usd::DECIMAL(38, 18),
       volume_week_usd::DECIMAL(38, 18), volume_month_usd::DECIMAL(38, 18),
       volume_all_time_usd::DECIMAL(38, 18)
FROM batch
ON CONFLICT DO NOTHING
