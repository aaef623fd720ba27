-- When each account (per dex) was last stored and its positions then (none: one row, coin NULL),
-- so a pass of `tracker run` stores only what changed.
SELECT a.address, a.dex, a.ts, p.coin, p.side, p.size, p.entry_px, p.leverage, p.margin_mode
FROM latest_accounts a
LEFT JOIN latest_positions p USING (venue, address, dex, ts)
WHERE a.venue = $venue AND a.address IN (SELECT unnest($addresses::VARCHAR[]))
