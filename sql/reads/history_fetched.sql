SELECT address, stream, fetched_at
FROM history_cursors
WHERE venue = $venue AND address IN (SELECT unnest($addresses::VARCHAR[]))
