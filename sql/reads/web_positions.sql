-- One address's latest positions (the columns of Position), largest first.
-- params: address
SELECT ts, venue, address, dex, coin, side, size, entry_px, mark_px, notional_usd,
       unrealized_pnl_usd, roe, leverage, effective_leverage, margin_mode, margin_used_usd,
       maintenance_margin_usd, liquidation_px, venue_liquidation_px, distance_to_liq_pct,
       max_leverage, cum_funding_since_open_usd
FROM latest_positions
WHERE address = $address
ORDER BY notional_usd DESC, venue, dex, coin
