-- Account history: fills, funding payments, ledger updates; position events derived from fills.

-- One row per fill of a watched address. The venue's tid is a hash of the two order ids and is
-- not unique on its own (a self-trade gives the same tid to both sides), so the key adds the
-- address, coin, time and side. Old answers without a tid use a key made of hash/oid/px/sz.
CREATE TABLE IF NOT EXISTS fills (
    ts                      TIMESTAMPTZ NOT NULL,
    time_ms                 BIGINT NOT NULL,
    venue                   VARCHAR NOT NULL,
    address                 VARCHAR NOT NULL,
    coin                    VARCHAR NOT NULL,
    dex                     VARCHAR NOT NULL,
    fill_key                VARCHAR NOT NULL,
    side                    VARCHAR NOT NULL,          -- buy / sell (the venue's B / A)
    px                      DECIMAL(38, 18) NOT NULL,
    size                    DECIMAL(38, 18) NOT NULL,  -- coins, unsigned
    notional_usd            DECIMAL(38, 18) NOT NULL,  -- px * size
    start_position          DECIMAL(38, 18),           -- signed size before this fill
    direction               VARCHAR,                   -- the venue's dir: Open Long, Close Short ...
    closed_pnl_usd          DECIMAL(38, 18),           -- realized PnL of the closing part, fee excluded
    fee                     DECIMAL(38, 18),
    fee_token               VARCHAR,
    builder_fee             DECIMAL(38, 18),
    crossed                 BOOLEAN,
    hash                    VARCHAR,
    oid                     BIGINT,
    tid                     BIGINT,
    twap_id                 BIGINT,
    cloid                   VARCHAR,
    liquidation_method      VARCHAR,                   -- market / backstop, only on liquidation fills
    liquidated_user         VARCHAR,
    liquidation_mark_px     DECIMAL(38, 18),
    PRIMARY KEY (venue, address, coin, time_ms, fill_key, side)
);

CREATE TABLE IF NOT EXISTS funding (
    ts              TIMESTAMPTZ NOT NULL,
    time_ms         BIGINT NOT NULL,
    venue           VARCHAR NOT NULL,
    address         VARCHAR NOT NULL,
    coin            VARCHAR NOT NULL,
    amount_usd      DECIMAL(38, 18) NOT NULL,   -- signed from the account's view: > 0 received
    position_size   DECIMAL(38, 18),            -- signed
    funding_rate    DECIMAL(38, 18),
    samples         INTEGER,
    hash            VARCHAR,
    PRIMARY KEY (venue, address, coin, time_ms)
);

-- Deposits, withdrawals, transfers, vault flows and liquidations (userNonFundingLedgerUpdates).
CREATE TABLE IF NOT EXISTS ledger (
    ts                          TIMESTAMPTZ NOT NULL,
    time_ms                     BIGINT NOT NULL,
    venue                       VARCHAR NOT NULL,
    address                     VARCHAR NOT NULL,
    kind                        VARCHAR NOT NULL,   -- deposit, withdraw, liquidation, ...
    entry_key                   VARCHAR NOT NULL,
    amount_usd                  DECIMAL(38, 18),    -- the delta's usdc where it has one
    hash                        VARCHAR,
    liquidated_notional_usd     DECIMAL(38, 18),    -- liquidation only
    account_value_usd           DECIMAL(38, 18),    -- liquidation only
    leverage_type               VARCHAR,            -- liquidation only: Cross / Isolated
    liquidated_positions        JSON,               -- liquidation only: [{coin, szi}]
    delta                       JSON NOT NULL,      -- the venue's delta, verbatim
    PRIMARY KEY (venue, address, time_ms, entry_key)
);

-- How far each history stream of each address has been read, and when it was last asked.
CREATE TABLE IF NOT EXISTS history_cursors (
    venue       VARCHAR NOT NULL,
    address     VARCHAR NOT NULL,
    stream      VARCHAR NOT NULL,       -- fills, funding, ledger
    fetched_at  TIMESTAMPTZ NOT NULL,   -- when the stream was last read completely
    PRIMARY KEY (venue, address, stream)
);

-- Open, increase, reduce, close and flip per address and coin: one event per order and block
-- (fills of one order at one time), with the size before and after, average price, realized PnL.
CREATE OR REPLACE VIEW position_events AS
WITH orders AS (
    SELECT venue, address, coin, dex, time_ms, min(ts) AS ts, oid,
           any_value(side) AS side,
           CASE WHEN any_value(side) = 'buy' THEN min(start_position)
                ELSE max(start_position) END AS size_before,
           sum(CASE WHEN side = 'buy' THEN size ELSE -size END) AS size_delta,
           sum(notional_usd) / sum(size) AS avg_px,
           sum(size) AS size,
           sum(notional_usd) AS notional_usd,
           sum(closed_pnl_usd) AS realized_pnl_usd,
           sum(fee) AS fee,
           count(*) AS fills,
           bool_or(liquidation_method IS NOT NULL) AS liquidation
    FROM fills
    WHERE start_position IS NOT NULL AND coin NOT LIKE '@%' AND coin NOT LIKE '%/%'
    GROUP BY venue, address, coin, dex, time_ms, oid
)
SELECT ts, venue, address, dex, coin,
       CASE WHEN size_before = 0 THEN 'open'
            WHEN size_before + size_delta = 0 THEN 'close'
            WHEN sign(size_before) <> sign(size_before + size_delta) THEN 'flip'
            WHEN abs(size_before + size_delta) > abs(size_before) THEN 'increase'
            ELSE 'reduce' END AS kind,
       size_before, size_before + size_delta AS size_after, side, size, avg_px, notional_usd,
       realized_pnl_usd, fee, fills, liquidation, oid, time_ms
FROM orders;

ALTER TABLE snapshot_runs ADD COLUMN IF NOT EXISTS new_fills INTEGER DEFAULT 0;
ALTER TABLE snapshot_runs ADD COLUMN IF NOT EXISTS new_funding INTEGER DEFAULT 0;
ALTER TABLE snapshot_runs ADD COLUMN IF NOT EXISTS new_ledger INTEGER DEFAULT 0;
ALTER TABLE snapshot_runs ADD COLUMN IF NOT EXISTS weight INTEGER DEFAULT 0;
