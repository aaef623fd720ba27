-- Every (dex, coin) the store has seen in markets or positions: the names `tracker market`
-- accepts when the venue cannot be reached.
SELECT DISTINCT dex, coin FROM markets WHERE venue = 'hyperliquid'
UNION
SELECT DISTINCT dex, coin FROM positions WHERE venue = 'hyperliquid'
ORDER BY dex, coin
