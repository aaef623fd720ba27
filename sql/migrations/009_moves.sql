-- Whale-move alerts: the latest burst of position changes of each account and coin (tape or
-- refresh), so fills that straddle a restart stay one alert and a refresh can confirm or
-- correct what the tape told.

CREATE TABLE IF NOT EXISTS position_bursts (
    venue           VARCHAR NOT NULL,
    address         VARCHAR NOT NULL,
    dex             VARCHAR NOT NULL,       -- '' for the main dex
    coin            VARCHAR NOT NULL,
    start_ts        TIMESTAMPTZ NOT NULL,   -- the burst's first change
    last_ts         TIMESTAMPTZ NOT NULL,   -- its latest change
    size_before     DECIMAL(38, 18) NOT NULL,   -- signed coins (long > 0) before the burst
    size_after      DECIMAL(38, 18) NOT NULL,   -- signed coins after its latest change
    notional_usd    DECIMAL(38, 18) NOT NULL,   -- sum of |size change| * price over the burst
    size_traded     DECIMAL(38, 18) NOT NULL,   -- sum of |size change| (coins): price = notional / this
    changes         INTEGER NOT NULL,       -- how many changes it folded
    source          VARCHAR NOT NULL,       -- tape or refresh: where the latest size came from
    alert_id        VARCHAR,                -- the alert the burst raised, if it reached the threshold
    confirmed       BOOLEAN NOT NULL,       -- a refresh has checked the tape's size
    PRIMARY KEY (venue, address, dex, coin)
);
