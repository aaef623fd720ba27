-- Watched positions in one coin as of each account's latest snapshot, with our liquidation price.
-- params: coin, addresses (NULL = every stored account)
SELECT address, dex, ts, side, size, notional_usd, mark_px, liquidation_px
FROM latest_positions
WHERE coin = $coin
  AND ($addresses IS NULL OR address IN (SELECT unnest($addresses::VARCHAR[])))
ORDER BY ts DESC, address, dex
