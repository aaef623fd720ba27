-- One address's on-chain holdings as of its latest poll (the columns of Holding), largest first.
-- params: address
SELECT ts, venue, address, asset, token_address, amount, usd_value, price_usd, chain_id,
       block_number
FROM holdings
WHERE address = $address AND ts = (SELECT max(ts) FROM holdings WHERE address = $address)
ORDER BY usd_value DESC NULLS LAST, asset
