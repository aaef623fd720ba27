INSERT INTO whale_transfers
SELECT chain_id, address, transfer_key, kind, direction, counterparty, asset, token_address,
       amount::DECIMAL(38, 18), price_usd::DECIMAL(38, 18), usd_value::DECIMAL(38, 18),
       block_number,
       CASE WHEN block_ts_us IS NULL THEN NULL ELSE make_timestamp(block_ts_us)::TIMESTAMPTZ END,
       tx_hash, log_index
FROM batch
ON CONFLICT DO NOTHING
