-- Aave v3 liquidations whose seized collateral is worth at least min_usd, newest first.
-- params: min_usd (default 1000000), limit (default 50)
SELECT block_ts, block_number, "user", collateral_symbol, liquidated_collateral, collateral_usd,
       debt_symbol, debt_to_cover, debt_usd, liquidator, tx_hash
FROM aave_liquidation_calls
WHERE collateral_usd >= coalesce(CAST($min_usd AS DECIMAL(38, 18)), 1000000)
ORDER BY block_number DESC, log_index DESC
LIMIT coalesce(CAST($limit AS INTEGER), 50)
