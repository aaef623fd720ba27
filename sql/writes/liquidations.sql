INSERT OR REPLACE INTO liquidations
SELECT episode_id, venue, address, coin, side, make_timestamp(start_us)::TIMESTAMPTZ,
       make_timestamp(end_us)::TIMESTAMPTZ, fills, size::DECIMAL(38, 18),
       notional_usd::DECIMAL(38, 18), method, mark_px::DECIMAL(38, 18),
       realized_loss_usd::DECIMAL(38, 18), ledger_notional_usd::DECIMAL(38, 18), sources, watched,
       large, make_timestamp(updated_us)::TIMESTAMPTZ
FROM batch
