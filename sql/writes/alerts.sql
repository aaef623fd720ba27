INSERT INTO alerts
SELECT id, kind, make_timestamp(ts_us)::TIMESTAMPTZ, make_timestamp(created_us)::TIMESTAMPTZ,
       venue, address, label, coin, notional_usd::DECIMAL(38, 18), severity, message,
       details::JSON
FROM batch
ON CONFLICT DO NOTHING
RETURNING id
