INSERT INTO spot_balances
SELECT make_timestamp(ts_us)::TIMESTAMPTZ, venue, address, coin,
       total::DECIMAL(38, 18), hold::DECIMAL(38, 18), entry_notional_usd::DECIMAL(38, 18)
FROM batch
ON CONFLICT DO NOTHING
