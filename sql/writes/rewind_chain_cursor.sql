-- Move a scanner's cursor back after a reorganisation (the hash is learnt again on the rescan):
-- last_block, updated_at, chain_id, stream.
UPDATE chain_cursors SET last_block = ?, last_block_hash = NULL, updated_at = ?
WHERE chain_id = ? AND stream = ?
