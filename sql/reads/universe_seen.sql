-- When each of these addresses was last stored (absent: never seen), to resume the sweep.
SELECT address, max(ts) AS last_stored
FROM account_snapshots
WHERE venue = $venue AND address IN (SELECT unnest($addresses::VARCHAR[]))
GROUP BY address
