-- Every coin one address has held, traded or been liquidated in (for --coin and its errors).
-- params: address
SELECT coin FROM positions WHERE address = $address
UNION
SELECT coin FROM position_events WHERE address = $address
UNION
SELECT coin FROM liquidations WHERE address = $address
ORDER BY coin
