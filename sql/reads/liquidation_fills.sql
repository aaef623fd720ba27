-- Liquidation fills that involve the given accounts, as the liquidated one or as the owner.
SELECT venue, address, ts, time_ms, coin, dex, fill_key, side, px, size, start_position,
       direction, closed_pnl_usd, fee, fee_token, builder_fee, crossed, hash, oid, tid, twap_id,
       cloid, liquidation_method, liquidated_user, liquidation_mark_px
FROM fills
WHERE liquidation_method IS NOT NULL
  AND (address IN (SELECT unnest($addresses::VARCHAR[]))
       OR liquidated_user IN (SELECT unnest($addresses::VARCHAR[])))
ORDER BY time_ms
