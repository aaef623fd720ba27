INSERT INTO snapshot_runs
    (ts, command, addresses, addresses_ok, positions, finished_at, errors,
     new_fills, new_funding, new_ledger, weight)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
