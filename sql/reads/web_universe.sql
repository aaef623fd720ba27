-- The accounts of the discovered universe (`tracker run --discover`), as of its latest read.
SELECT address FROM universe
