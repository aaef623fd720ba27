-- When each account (per dex) was last stored and its positions then (none: one row, coin NULL),
-- so a pass of `tracker run` stores only what changed. The same rows as latest_accounts joined
-- with latest_positions, with the addresses filtered before the aggregate.
WITH latest AS (
    SELECT address, dex, max(ts) AS ts
    FROM account_snapshots
    WHERE venue = $venue AND address IN (SELECT unnest($addresses::VARCHAR[]))
    GROUP BY address, dex
)
SELECT l.address, l.dex, l.ts, p.coin, p.side, p.size, p.entry_px, p.leverage, p.margin_mode
FROM latest l
LEFT JOIN positions p
    ON p.venue = $venue AND p.address = l.address AND p.dex = l.dex AND p.ts = l.ts
