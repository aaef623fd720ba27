-- `tracker status`: the universe of `tracker run --discover`, and how much of it was swept.
SELECT count(*) AS accounts,
       count(*) FILTER (WHERE address IN (
           SELECT address FROM account_snapshots WHERE venue = 'hyperliquid')) AS seen,
       max(min_account_value_usd) AS min_account_value_usd,
       max(listed_at) AS listed_at
FROM universe
