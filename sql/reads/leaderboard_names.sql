-- The display name of each address in its latest leaderboard read (null when it has none).
SELECT address, display_name
FROM leaderboard
WHERE address IN (SELECT unnest($addresses::VARCHAR[]))
QUALIFY row_number() OVER (PARTITION BY address ORDER BY ts DESC) = 1
