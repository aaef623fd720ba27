-- The newest stored market row of each coin of one dex (markets, written with every pass): the
-- fallback of `tracker market` when the venue cannot be reached.
-- params: dex
SELECT ts, coin, mark_px, oracle_px, funding_rate, open_interest, day_notional_volume_usd
FROM markets
WHERE venue = 'hyperliquid' AND dex = $dex
QUALIFY row_number() OVER (PARTITION BY coin ORDER BY ts DESC) = 1
ORDER BY coin
