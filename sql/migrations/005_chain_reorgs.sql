-- The hash of each log scanner's cursor block, so a scan can tell when the chain it read was
-- reorganised below the confirmation buffer (NULL: not known yet; the next chunk sets it).

ALTER TABLE chain_cursors ADD COLUMN last_block_hash VARCHAR;
