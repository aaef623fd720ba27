-- The liquidation episodes stored or extended after a time (what the stream pushes as new).
-- params: after
SELECT episode_id
FROM liquidations
WHERE updated_at > $after
ORDER BY updated_at, episode_id
