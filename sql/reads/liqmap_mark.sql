-- The newest stored mark of a coin (markets, fetched with every snapshot pass).
-- params: coin
SELECT mark_px, ts
FROM markets
WHERE coin = $coin AND mark_px IS NOT NULL
ORDER BY ts DESC
LIMIT 1
