-- Coins of the tracked positions (latest_positions through cohort_positions), largest tracked
-- notional (longs + shorts) first. Every account is in exactly one account-value cohort, so the
-- sums over those cohorts are the coin's totals.
-- params: dex (NULL = every dex), coin (NULL = every coin)
SELECT dex, coin,
       sum(long_notional_usd) AS long_notional_usd,
       sum(short_notional_usd) AS short_notional_usd,
       sum(long_size) AS long_size,
       sum(short_size) AS short_size,
       sum(accounts_long)::BIGINT AS accounts_long,
       sum(accounts_short)::BIGINT AS accounts_short
FROM cohort_positions
WHERE cohort_kind = 'account_value'
  AND ($dex IS NULL OR dex = $dex)
  AND ($coin IS NULL OR coin = $coin)
GROUP BY dex, coin
ORDER BY sum(long_notional_usd) + sum(short_notional_usd) DESC, dex, coin
