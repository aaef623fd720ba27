-- Liquidation episodes of both venues, largest first: Hyperliquid episodes (fills merged) and
-- Aave v3 LiquidationCall events (one event each, valued at its block).
-- The shared columns mean the same on both venues; where a venue has no such figure it is NULL
-- (an Aave call has no mark, realized loss, ledger notional or position at stake, a Hyperliquid
-- episode no debt). position_usd: the position the venue began to liquidate (migration 011).
-- Aave rows: coin, side 'long', size and notional_usd are the collateral seized (bonus included);
-- the debt repaid, the oracle's collateral price, the liquidator and the transaction have
-- columns of their own, named as in aave_liquidation_calls. `watched`: stored with a
-- Hyperliquid episode; for an Aave call, whether the borrower is in $watched (its Ethereum
-- watchlist addresses now). `leaderboard_name`: the account's newest leaderboard display name
-- (owners' text: data), the label when no watchlist names it. $watched_only keeps watched
-- accounts only; $coin (case-insensitive) one coin.
SELECT e.*, names.display_name AS leaderboard_name FROM (
    SELECT venue, address, coin, side, start_ts AS "start", end_ts AS "end", fills, size,
           notional_usd, method, mark_px, realized_loss_usd, ledger_notional_usd, position_usd,
           sources, watched, large, episode_id,
           NULL::VARCHAR AS debt_symbol, NULL::DECIMAL(38, 18) AS debt_to_cover,
           NULL::DECIMAL(38, 18) AS debt_usd, NULL::DECIMAL(38, 18) AS collateral_price_usd,
           NULL::VARCHAR AS liquidator, NULL::BIGINT AS block_number, NULL::VARCHAR AS tx_hash
    FROM liquidations
    UNION ALL
    SELECT 'aave-v3', "user", collateral_symbol, 'long', block_ts, block_ts, 1,
           liquidated_collateral, collateral_usd, 'liquidationCall', NULL, NULL, NULL, NULL, 'chain',
           "user" IN (SELECT unnest($watched::VARCHAR[])),
           coalesce(collateral_usd >= $large_usd, false),
           'aave-v3:' || chain_id || ':' || tx_hash || ':' || log_index,
           debt_symbol, debt_to_cover, debt_usd, collateral_price_usd, liquidator, block_number,
           tx_hash
    FROM aave_liquidation_calls
) e
LEFT JOIN (
    SELECT address, arg_max(display_name, ts) AS display_name
    FROM leaderboard WHERE display_name IS NOT NULL GROUP BY address
) names USING (address)
WHERE coalesce(notional_usd, 0) >= $min_usd
  AND ($since IS NULL OR "end" >= $since)
  AND ($address IS NULL OR address = $address)
  AND (NOT $watched_only OR watched)
  AND ($coin IS NULL OR upper(coin) = upper($coin))
ORDER BY notional_usd DESC NULLS LAST, "start"
