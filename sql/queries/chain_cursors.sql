-- How far each Ethereum log scanner has read (last block stored per stream).
-- param: chain_id INTEGER 1.. optional  only this chain
-- param: stream TEXT optional  only this stream (aave-v3:POOL:liquidations, erc20-transfers:ADDRESS)
SELECT chain_id, stream, last_block, updated_at, last_block_hash
FROM chain_cursors
WHERE ($chain_id IS NULL OR chain_id = $chain_id)
  AND ($stream IS NULL OR stream = $stream)
ORDER BY chain_id, stream
