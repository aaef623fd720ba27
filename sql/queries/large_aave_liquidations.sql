-- Aave v3 liquidations whose seized collateral is worth at least min_usd, newest first.
-- param: min_usd DECIMAL 0.. = 1000000  smallest collateral value, USD
-- param: limit INTEGER 1..10000 = 50  rows at most
SELECT block_ts, block_number, "user", collateral_symbol, liquidated_collateral, collateral_usd,
       debt_symbol, debt_to_cover, debt_usd, liquidator, tx_hash
FROM aave_liquidation_calls
WHERE collateral_usd >= $min_usd
ORDER BY block_number DESC, log_index DESC
LIMIT $limit
