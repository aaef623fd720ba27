-- Where each address's history streams resume: the newest stored item (inclusive), or 0.
SELECT a.address,
       coalesce((SELECT max(time_ms) FROM fills f WHERE f.venue = $venue AND f.address = a.address), 0),
       coalesce((SELECT max(time_ms) FROM funding f WHERE f.venue = $venue AND f.address = a.address), 0),
       coalesce((SELECT max(time_ms) FROM ledger l WHERE l.venue = $venue AND l.address = a.address), 0)
FROM (SELECT unnest($addresses::VARCHAR[]) AS address) a
