-- Recent Aave v3 liquidations at or above the large threshold (alert candidates).
SELECT chain_id, tx_hash, log_index, block_ts, "user", collateral_symbol, debt_symbol,
       collateral_usd, debt_usd, collateral_price_usd, liquidator
FROM aave_liquidation_calls
WHERE collateral_usd >= $large_usd AND block_ts >= $since
ORDER BY block_ts
