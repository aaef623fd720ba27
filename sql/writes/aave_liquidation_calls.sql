INSERT INTO aave_liquidation_calls
SELECT chain_id, pool, block_number, make_timestamp(block_ts_us)::TIMESTAMPTZ, tx_hash,
       log_index, "user", collateral_asset, collateral_symbol, debt_asset, debt_symbol,
       debt_to_cover::DECIMAL(38, 18), liquidated_collateral::DECIMAL(38, 18),
       collateral_price_usd::DECIMAL(38, 18), debt_price_usd::DECIMAL(38, 18),
       collateral_usd::DECIMAL(38, 18), debt_usd::DECIMAL(38, 18), liquidator, receive_a_token
FROM batch
ON CONFLICT DO NOTHING
