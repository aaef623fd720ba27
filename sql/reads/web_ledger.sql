-- One address's ledger updates (deposits, withdrawals, transfers, liquidations ...), newest first,
-- a page at a time (the dashboard's ledger table).
-- params: address, limit, offset
SELECT ts, venue, kind, amount_usd, liquidated_notional_usd, account_value_usd, leverage_type,
       hash
FROM ledger
WHERE address = $address
ORDER BY time_ms DESC, entry_key
LIMIT $limit OFFSET $offset
