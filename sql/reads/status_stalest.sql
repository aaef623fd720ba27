SELECT address, max(ts) AS last_snapshot
FROM account_snapshots GROUP BY address ORDER BY last_snapshot LIMIT 10
