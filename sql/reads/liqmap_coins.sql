-- Coins held in the latest positions, largest total notional first (liqmap's choices).
-- params: addresses (NULL = every stored account)
SELECT coin, sum(notional_usd) AS notional_usd
FROM latest_positions
WHERE $addresses IS NULL OR address IN (SELECT unnest($addresses::VARCHAR[]))
GROUP BY coin
ORDER BY notional_usd DESC, coin
