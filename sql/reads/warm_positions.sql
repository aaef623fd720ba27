SELECT address, dex, coin, side, size, entry_px, mark_px, notional_usd, unrealized_pnl_usd, roe,
       venue_liquidation_px, margin_mode, leverage, margin_used_usd, max_leverage,
       cum_funding_since_open_usd
FROM latest_positions
WHERE venue = 'hyperliquid' AND address IN (SELECT unnest($addresses::VARCHAR[]))
