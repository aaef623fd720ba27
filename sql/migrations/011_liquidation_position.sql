-- The position the venue began to liquidate (issue 15): startPosition of the account's first
-- liquidation fill at that fill's mark, never less than the notional liquidated. A position over
-- $100k is liquidated 20 % first and the rest only after a 30 s cooldown, so this figure is known
-- at the first slice, the episode's notional_usd only at its end. NULL for ledger-only episodes.
ALTER TABLE liquidations ADD COLUMN IF NOT EXISTS position_usd DECIMAL(38, 18);
