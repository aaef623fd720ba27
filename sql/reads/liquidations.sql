SELECT venue, address, coin, side, start_ts AS "start", end_ts AS "end", fills, size,
       notional_usd, method, mark_px, realized_loss_usd, ledger_notional_usd, sources, watched,
       large, episode_id
FROM liquidations
WHERE coalesce(notional_usd, 0) >= $min_usd
  AND ($since IS NULL OR end_ts >= $since)
  AND ($address IS NULL OR address = $address)
ORDER BY notional_usd DESC NULLS LAST, start_ts
