-- One coin's tracked positions per cohort: every band of cohort_bands, empty ones as zeros,
-- account-value bands first, each kind in its display order.
-- params: dex, coin
SELECT b.kind, b.cohort,
       coalesce(c.long_notional_usd, 0) AS long_notional_usd,
       coalesce(c.short_notional_usd, 0) AS short_notional_usd,
       coalesce(c.long_size, 0) AS long_size,
       coalesce(c.short_size, 0) AS short_size,
       coalesce(c.accounts_long, 0) AS accounts_long,
       coalesce(c.accounts_short, 0) AS accounts_short
FROM cohort_bands b
LEFT JOIN cohort_positions c
       ON c.cohort_kind = b.kind AND c.cohort = b.cohort AND c.dex = $dex AND c.coin = $coin
ORDER BY b.kind, b.rank
