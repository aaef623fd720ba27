-- Account value (every dex summed) and unrealized PnL (its positions summed) per snapshot.
-- params: address, since (NULL = from the first snapshot)
WITH accounts AS (
    SELECT ts, sum(account_value_usd) AS account_value_usd
    FROM account_snapshots
    WHERE address = $address AND ($since IS NULL OR ts >= $since)
    GROUP BY ts
), pnl AS (
    SELECT ts, sum(unrealized_pnl_usd) AS unrealized_pnl_usd
    FROM positions
    WHERE address = $address AND ($since IS NULL OR ts >= $since)
    GROUP BY ts
)
SELECT accounts.ts, accounts.account_value_usd,
       coalesce(pnl.unrealized_pnl_usd, 0) AS unrealized_pnl_usd
FROM accounts LEFT JOIN pnl USING (ts)
ORDER BY accounts.ts
