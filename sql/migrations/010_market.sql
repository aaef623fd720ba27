-- Cohorts and the market (`tracker market`): the bands accounts fall in, each account's cohorts,
-- and per coin and cohort the tracked long and short positions.

-- The bands, one row each: an amount x (USD) is in a band when min_usd <= x < max_usd (NULL: no
-- bound). Account value: the sum of the account's latest perp account values over its dexes
-- (latest_accounts), else its newest leaderboard row. All-time PnL: its newest leaderboard row;
-- accounts the leaderboard does not list are in the all_time_pnl band 'unknown'.
CREATE TABLE IF NOT EXISTS cohort_bands (
    kind        VARCHAR NOT NULL,       -- account_value, all_time_pnl
    cohort      VARCHAR NOT NULL,       -- the band's name, as shown and in --json
    rank        INTEGER NOT NULL,       -- display order within the kind
    min_usd     DECIMAL(38, 18),        -- inclusive; NULL = no lower bound
    max_usd     DECIMAL(38, 18),        -- exclusive; NULL = no upper bound
    PRIMARY KEY (kind, cohort)
);

INSERT INTO cohort_bands VALUES
    ('account_value', 'under $100k', 1, NULL, 100000),
    ('account_value', '$100k to $1M', 2, 100000, 1000000),
    ('account_value', '$1M to $10M', 3, 1000000, 10000000),
    ('account_value', '$10M to $100M', 4, 10000000, 100000000),
    ('account_value', '$100M and over', 5, 100000000, NULL),
    ('all_time_pnl', 'profit $10M and over', 1, 10000000, NULL),
    ('all_time_pnl', 'profit $1M to $10M', 2, 1000000, 10000000),
    ('all_time_pnl', 'profit $100k to $1M', 3, 100000, 1000000),
    ('all_time_pnl', 'profit under $100k', 4, 0, 100000),
    ('all_time_pnl', 'loss under $100k', 5, -100000, 0),
    ('all_time_pnl', 'loss $100k to $1M', 6, -1000000, -100000),
    ('all_time_pnl', 'loss $1M and over', 7, NULL, -1000000),
    ('all_time_pnl', 'unknown', 8, NULL, NULL)
ON CONFLICT DO NOTHING;

-- Every Hyperliquid account the store knows (tracked or on the leaderboard) and its cohorts.
CREATE OR REPLACE VIEW account_cohorts AS
WITH perp AS (
    SELECT address, sum(account_value_usd) AS account_value_usd
    FROM latest_accounts
    WHERE venue = 'hyperliquid'
    GROUP BY address
), board AS (
    SELECT address, account_value_usd, pnl_all_time_usd, display_name
    FROM leaderboard
    QUALIFY row_number() OVER (PARTITION BY address ORDER BY ts DESC) = 1
), accounts AS (
    SELECT address,
           coalesce(perp.account_value_usd, board.account_value_usd) AS account_value_usd,
           board.pnl_all_time_usd,
           board.display_name
    FROM perp FULL OUTER JOIN board USING (address)
)
SELECT a.address, a.account_value_usd, a.pnl_all_time_usd, a.display_name,
       v.cohort AS value_cohort,
       coalesce(p.cohort, 'unknown') AS pnl_cohort
FROM accounts a
LEFT JOIN cohort_bands v
       ON v.kind = 'account_value'
      AND (v.min_usd IS NULL OR a.account_value_usd >= v.min_usd)
      AND (v.max_usd IS NULL OR a.account_value_usd < v.max_usd)
LEFT JOIN cohort_bands p
       ON p.kind = 'all_time_pnl' AND p.cohort <> 'unknown'
      AND (p.min_usd IS NULL OR a.pnl_all_time_usd >= p.min_usd)
      AND (p.max_usd IS NULL OR a.pnl_all_time_usd < p.max_usd);

-- Per coin (and dex) and cohort: the tracked long and short positions as of each account's
-- latest snapshot (latest_positions). Each position counts once per kind of cohort.
CREATE OR REPLACE VIEW cohort_positions AS
WITH held AS (
    SELECT p.venue, p.dex, p.coin, p.address, p.side, abs(p.size) AS size, p.notional_usd,
           c.value_cohort, c.pnl_cohort
    FROM latest_positions p
    JOIN account_cohorts c USING (address)
    WHERE p.venue = 'hyperliquid'
), tagged AS (
    SELECT venue, dex, coin, address, side, size, notional_usd,
           'account_value' AS cohort_kind, value_cohort AS cohort
    FROM held
    UNION ALL
    SELECT venue, dex, coin, address, side, size, notional_usd,
           'all_time_pnl' AS cohort_kind, pnl_cohort AS cohort
    FROM held
)
SELECT venue, dex, coin, cohort_kind, cohort,
       coalesce(sum(notional_usd) FILTER (WHERE side = 'long'), 0) AS long_notional_usd,
       coalesce(sum(notional_usd) FILTER (WHERE side = 'short'), 0) AS short_notional_usd,
       coalesce(sum(size) FILTER (WHERE side = 'long'), 0) AS long_size,
       coalesce(sum(size) FILTER (WHERE side = 'short'), 0) AS short_size,
       count(DISTINCT address) FILTER (WHERE side = 'long') AS accounts_long,
       count(DISTINCT address) FILTER (WHERE side = 'short') AS accounts_short
FROM tagged
GROUP BY venue, dex, coin, cohort_kind, cohort;
