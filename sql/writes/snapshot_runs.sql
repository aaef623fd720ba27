INSERT INTO snapshot_runs VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
