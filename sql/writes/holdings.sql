INSERT INTO holdings
SELECT make_timestamp(ts_us)::TIMESTAMPTZ, venue, chain_id, block_number, address, asset,
       token_address, amount::DECIMAL(38, 18), price_usd::DECIMAL(38, 18),
       usd_value::DECIMAL(38, 18)
FROM batch
ON CONFLICT DO NOTHING
