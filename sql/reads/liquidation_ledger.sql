SELECT venue, address, ts, time_ms, kind, entry_key, amount_usd, hash, liquidated_notional_usd,
       account_value_usd, leverage_type, liquidated_positions::VARCHAR, delta::VARCHAR
FROM ledger
WHERE kind = 'liquidation' AND address IN (SELECT unnest($addresses::VARCHAR[]))
ORDER BY time_ms
