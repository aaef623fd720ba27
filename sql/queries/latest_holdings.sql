-- Each watched address's latest on-chain holdings, optionally as of a time.
-- param: address ADDRESS optional  only this address
-- param: asset COIN optional  only this asset (ETH, WETH, stETH ...)
-- param: before TIMESTAMP optional  the latest holdings before this time (UTC unless it says)
SELECT ts, venue, chain_id, block_number, address, asset, token_address, amount, price_usd,
       usd_value
FROM holdings
WHERE ($address IS NULL OR address = $address)
  AND ($asset IS NULL OR asset = $asset)
  AND ($before IS NULL OR ts < $before)
QUALIFY row_number() OVER (PARTITION BY venue, chain_id, address, asset ORDER BY ts DESC) = 1
ORDER BY usd_value DESC NULLS LAST, address, asset
