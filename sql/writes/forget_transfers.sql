-- A reorganisation orphaned the blocks after $after: drop the address's ERC-20 transfers read
-- from them (the rescan stores the canonical ones).
DELETE FROM whale_transfers
WHERE chain_id = $chain_id AND address = $address AND kind = 'erc20_transfer'
  AND block_number > $after
