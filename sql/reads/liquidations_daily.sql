-- Liquidation episodes of both venues per UTC day (of the episode's first fill, or the Aave call's
-- block), venue and coin: how many, their notional in total and by side, and the largest single
-- one (the figure the press quotes as "the largest single liquidation of the day"). Aave v3
-- calls count as in liquidations.sql: one call each, the collateral seized (bonus included) as
-- a long of the collateral's symbol, watched when the borrower is in $watched. Same filters as
-- liquidations.sql.
WITH eps AS (
    SELECT 'hyperliquid' AS venue, l.address, l.coin, l.side, l.notional_usd, l.method,
           l.watched, l.episode_id, names.display_name AS leaderboard_name,
           l.start_ts, l.end_ts
    FROM liquidations l
    LEFT JOIN (
        SELECT address, arg_max(display_name, ts) AS display_name
        FROM leaderboard WHERE display_name IS NOT NULL GROUP BY address
    ) names USING (address)
    UNION ALL
    SELECT 'aave-v3', "user", collateral_symbol, 'long', collateral_usd, 'liquidationCall',
           "user" IN (SELECT unnest($watched::VARCHAR[])),
           'aave-v3:' || chain_id || ':' || tx_hash || ':' || log_index, NULL::VARCHAR,
           block_ts, block_ts
    FROM aave_liquidation_calls
), chosen AS (
    SELECT *, CAST(timezone('UTC', start_ts) AS DATE) AS day
    FROM eps
    WHERE coalesce(notional_usd, 0) >= $min_usd
      AND ($since IS NULL OR end_ts >= $since)
      AND ($address IS NULL OR address = $address)
      AND (NOT $watched_only OR watched)
      AND ($coin IS NULL OR upper(coin) = upper($coin))
)
SELECT day, venue, coin, count(*) AS count,
       sum(coalesce(notional_usd, 0)) AS notional_usd,
       sum(CASE WHEN side = 'long' THEN coalesce(notional_usd, 0) ELSE 0 END) AS long_notional_usd,
       sum(CASE WHEN side = 'short' THEN coalesce(notional_usd, 0) ELSE 0 END)
           AS short_notional_usd,
       arg_max(address, coalesce(notional_usd, 0)) AS largest_address,
       max(coalesce(notional_usd, 0)) AS largest_notional_usd,
       arg_max(method, coalesce(notional_usd, 0)) AS largest_method,
       arg_max(watched, coalesce(notional_usd, 0)) AS largest_watched,
       arg_max_null(leaderboard_name, coalesce(notional_usd, 0)) AS largest_leaderboard_name,
       arg_max(episode_id, coalesce(notional_usd, 0)) AS largest_episode_id
FROM chosen
GROUP BY day, venue, coin
ORDER BY day DESC, notional_usd DESC, venue, coin
