SELECT a.id, a.kind, a.ts AS "time", a.venue, a.address, a.label, a.coin, a.notional_usd,
       a.severity, a.message, a.created_at,
       list(d.sink ORDER BY d.sink) FILTER (WHERE d.ok) AS delivered_to,
       list(d.sink ORDER BY d.sink) FILTER (WHERE NOT d.ok) AS failed_sinks
FROM alerts a
LEFT JOIN alert_deliveries d ON d.alert_id = a.id
WHERE ($kind IS NULL OR a.kind = $kind)
  AND ($after IS NULL OR a.created_at > $after)
GROUP BY ALL
ORDER BY a.created_at DESC, a.id
LIMIT $limit
