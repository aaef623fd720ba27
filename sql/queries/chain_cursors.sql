-- How far each Ethereum log scanner has read (last block stored per stream).
-- params: chain_id (optional), stream (optional)
SELECT chain_id, stream, last_block, updated_at, last_block_hash
FROM chain_cursors
WHERE ($chain_id IS NULL OR chain_id = CAST($chain_id AS BIGINT))
  AND ($stream IS NULL OR stream = $stream)
ORDER BY chain_id, stream
