-- Advance a scanner's cursor (never backwards): chain_id, stream, last_block, updated_at.
INSERT INTO chain_cursors VALUES (?, ?, ?, ?)
ON CONFLICT (chain_id, stream) DO UPDATE
SET last_block = greatest(chain_cursors.last_block, excluded.last_block),
    updated_at = excluded.updated_at
