-- The report's position table: the latest positions of the given addresses, largest first.
-- params: addresses
SELECT address, coin, side, size, entry_px, mark_px, notional_usd, unrealized_pnl_usd, leverage,
       margin_mode, liquidation_px, venue_liquidation_px, distance_to_liq_pct
FROM latest_positions
WHERE address IN (SELECT unnest($addresses::VARCHAR[]))
ORDER BY notional_usd DESC, address, coin
