-- What the dashboard's stream announces: the newest snapshot, alert and liquidation episode.
SELECT (SELECT max(ts) FROM account_snapshots) AS snapshot_ts,
       (SELECT max(created_at) FROM alerts) AS alert_ts,
       (SELECT max(updated_at) FROM liquidations) AS liquidation_ts
