INSERT OR REPLACE INTO alert_state
SELECT key, level_pct::DECIMAL(38, 18), make_timestamp(since_us)::TIMESTAMPTZ
FROM batch
