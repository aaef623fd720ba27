-- Hyperliquid liquidation episodes per UTC day (of the episode's first fill) and coin: how many,
-- their notional in total and by side, and the largest single one (the figure the press quotes
-- as "the largest single liquidation of the day"). Same filters as liquidations.sql.
WITH eps AS (
    SELECT l.*, names.display_name AS leaderboard_name,
           CAST(timezone('UTC', l.start_ts) AS DATE) AS day
    FROM liquidations l
    LEFT JOIN (
        SELECT address, arg_max(display_name, ts) AS display_name
        FROM leaderboard WHERE display_name IS NOT NULL GROUP BY address
    ) names USING (address)
    WHERE coalesce(l.notional_usd, 0) >= $min_usd
      AND ($since IS NULL OR l.end_ts >= $since)
      AND ($address IS NULL OR l.address = $address)
      AND (NOT $watched_only OR l.watched)
      AND ($coin IS NULL OR upper(l.coin) = upper($coin))
)
SELECT day, coin, count(*) AS count,
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
FROM eps
GROUP BY day, coin
ORDER BY day DESC, notional_usd DESC, coin
