-- The newest leaderboard display name of each of $addresses that has one (owners' text: data).
SELECT address, arg_max(display_name, ts) AS display_name
FROM leaderboard
WHERE address IN (SELECT unnest($addresses::VARCHAR[])) AND display_name IS NOT NULL
GROUP BY address
