-- The stored burst of position changes of each account and coin of these addresses.
SELECT venue, address, dex, coin, start_ts, last_ts, size_before, size_after, notional_usd,
       size_traded, changes, source, alert_id, confirmed
FROM position_bursts
WHERE address IN (SELECT unnest($addresses::VARCHAR[]))
