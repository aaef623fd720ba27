-- Liquidation episodes of both venues, largest first: Hyperliquid episodes (fills merged) and
-- Aave v3 LiquidationCall events (one event each, valued at its block).
SELECT * FROM (
    SELECT venue, address, coin, side, start_ts AS "start", end_ts AS "end", fills, size,
           notional_usd, method, mark_px, realized_loss_usd, ledger_notional_usd, sources,
           watched, large, episode_id
    FROM liquidations
    UNION ALL
    SELECT 'aave-v3', "user", collateral_symbol, 'long', block_ts, block_ts, 1,
           liquidated_collateral, collateral_usd, 'liquidationCall', collateral_price_usd,
           NULL, debt_usd, 'chain', "user" IN (SELECT unnest($watched::VARCHAR[])),
           coalesce(collateral_usd >= $large_usd, false),
           'aave-v3:' || chain_id || ':' || tx_hash || ':' || log_index
    FROM aave_liquidation_calls
)
WHERE coalesce(notional_usd, 0) >= $min_usd
  AND ($since IS NULL OR "end" >= $since)
  AND ($address IS NULL OR address = $address)
ORDER BY notional_usd DESC NULLS LAST, "start"
