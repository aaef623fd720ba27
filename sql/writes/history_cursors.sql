INSERT OR REPLACE INTO history_cursors
SELECT venue, address, stream, make_timestamp(fetched_at_us)::TIMESTAMPTZ
FROM batch
