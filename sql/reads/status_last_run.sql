SELECT ts, command, addresses, addresses_ok, positions, weight
FROM snapshot_runs ORDER BY ts DESC LIMIT 1
