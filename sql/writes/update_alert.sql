-- A stored alert whose event grew (later slices of a liquidation episode): the figures and the
-- message follow, the id and its deliveries stay, so no sink is told twice.
UPDATE alerts
SET notional_usd = $notional_usd::DECIMAL(38, 18), message = $message, details = $details::JSON,
    label = $label
WHERE id = $id AND notional_usd IS DISTINCT FROM $notional_usd::DECIMAL(38, 18)
RETURNING id
