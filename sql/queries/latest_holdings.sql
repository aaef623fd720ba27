-- Each watched address's latest on-chain holdings, optionally as of a time.
-- params: address (optional), asset (optional), before (optional ISO time: latest before it)
SELECT ts, venue, chain_id, block_number, address, asset, token_address, amount, price_usd,
       usd_value
FROM holdings
WHERE ($address IS NULL OR address = lower($address))
  AND ($asset IS NULL OR asset = $asset)
  AND ($before IS NULL OR ts < CAST($before AS TIMESTAMPTZ))
QUALIFY row_number() OVER (PARTITION BY venue, chain_id, address, asset ORDER BY ts DESC) = 1
ORDER BY usd_value DESC NULLS LAST, address, asset
