-- Each (address, dex) with a stored account snapshot: a dex read before, so a change is a move.
SELECT DISTINCT address, dex
FROM account_snapshots
WHERE venue = $venue AND address IN (SELECT unnest($addresses::VARCHAR[]))
