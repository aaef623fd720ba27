-- A reorganisation orphaned the blocks after $after: drop the pool's LiquidationCalls read from
-- them (the rescan stores the canonical ones).
DELETE FROM aave_liquidation_calls
WHERE chain_id = $chain_id AND lower(pool) = lower($pool) AND block_number > $after
