SELECT venue, address, dex, coin, side, size, notional_usd, mark_px, liquidation_px,
       distance_to_liq_pct, ts
FROM latest_positions
WHERE address IN (SELECT unnest($addresses::VARCHAR[]))
