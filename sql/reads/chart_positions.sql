-- One address's positions per snapshot: mark, our liquidation price and the venue's.
-- params: address, since (NULL = all), coin (NULL = every coin)
SELECT coin, ts, side, size, notional_usd, mark_px, liquidation_px, venue_liquidation_px
FROM positions
WHERE address = $address
  AND ($since IS NULL OR ts >= $since)
  AND ($coin IS NULL OR coin = $coin)
ORDER BY coin, ts
