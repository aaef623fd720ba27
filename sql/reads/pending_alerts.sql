-- Alerts not yet delivered to a sink, still worth retrying.
SELECT a.id, a.kind, a.ts, a.venue, a.address, a.label, a.coin, a.notional_usd, a.severity,
       a.message, a.details::VARCHAR, s.sink
FROM alerts a
CROSS JOIN (SELECT unnest($sinks::VARCHAR[]) AS sink) s
LEFT JOIN alert_deliveries d ON d.alert_id = a.id AND d.sink = s.sink
WHERE (d.ok IS NULL OR NOT d.ok)
  AND coalesce(d.attempts, 0) < $max_attempts
  AND a.created_at >= $since
ORDER BY a.created_at, a.id
