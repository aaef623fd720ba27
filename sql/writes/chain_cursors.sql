-- Advance a scanner's cursor (never backwards) with its block's hash:
-- chain_id, stream, last_block, updated_at, last_block_hash.
INSERT INTO chain_cursors (chain_id, stream, last_block, updated_at, last_block_hash)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (chain_id, stream) DO UPDATE
SET last_block = greatest(chain_cursors.last_block, excluded.last_block),
    last_block_hash = CASE WHEN excluded.last_block >= chain_cursors.last_block
                           THEN excluded.last_block_hash
                           ELSE chain_cursors.last_block_hash END,
    updated_at = excluded.updated_at
