INSERT INTO alert_deliveries
SELECT alert_id, sink, ok, 1, error, make_timestamp(at_us)::TIMESTAMPTZ FROM batch
ON CONFLICT (alert_id, sink) DO UPDATE SET
    ok = excluded.ok, attempts = alert_deliveries.attempts + 1, error = excluded.error,
    attempted_at = excluded.attempted_at
