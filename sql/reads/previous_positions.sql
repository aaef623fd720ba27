-- Signed sizes and marks of each address's positions as of its latest snapshot.
SELECT address, dex, coin, CASE WHEN side = 'short' THEN -size ELSE size END AS size, mark_px
FROM latest_positions
WHERE venue = $venue AND address IN (SELECT unnest($addresses::VARCHAR[]))
