INSERT OR REPLACE INTO liquidations BY NAME
SELECT episode_id, venue, address, coin, side, make_timestamp(start_us)::TIMESTAMPTZ AS start_ts,
       make_timestamp(end_us)::TIMESTAMPTZ AS end_ts, fills, size::DECIMAL(38, 18) AS size,
       notional_usd::DECIMAL(38, 18) AS notional_usd, method,
       mark_px::DECIMAL(38, 18) AS mark_px, realized_loss_usd::DECIMAL(38, 18) AS realized_loss_usd,
       ledger_notional_usd::DECIMAL(38, 18) AS ledger_notional_usd, sources, watched, large,
       make_timestamp(updated_us)::TIMESTAMPTZ AS updated_at,
       position_usd::DECIMAL(38, 18) AS position_usd
FROM batch
