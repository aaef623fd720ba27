INSERT INTO ledger
SELECT make_timestamp(ts_us)::TIMESTAMPTZ, time_ms, venue, address, kind, entry_key,
       amount_usd::DECIMAL(38, 18), hash, liquidated_notional_usd::DECIMAL(38, 18),
       account_value_usd::DECIMAL(38, 18), leverage_type, liquidated_positions::JSON, delta::JSON
FROM batch
ON CONFLICT DO NOTHING
