-- The tape-driven book: position changes seen on the public trades tape, the drift between the
-- book's estimate and each exact refresh, and position_events extended to the tape.

-- One row per trade that moved a tracked account's position, as the live book applied it
-- (source 'tape'), and per correction a refresh made to the book (source 'refresh'). Sizes are
-- signed (long > 0). ref is the trade's hash (tape; all zero for TWAP slices, hence the key) or
-- the refresh's venue time in ms.
CREATE TABLE IF NOT EXISTS position_changes (
    ts              TIMESTAMPTZ NOT NULL,       -- the trade's time (tape) or the state's (refresh)
    time_ms         BIGINT NOT NULL,
    venue           VARCHAR NOT NULL,
    address         VARCHAR NOT NULL,
    dex             VARCHAR NOT NULL,
    coin            VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,           -- open, increase, reduce, close, flip
    size_before     DECIMAL(38, 18) NOT NULL,
    size_after      DECIMAL(38, 18) NOT NULL,
    price           DECIMAL(38, 18) NOT NULL,   -- the trade's price (tape), the mark (refresh)
    notional_usd    DECIMAL(38, 18) NOT NULL,   -- |size_after - size_before| * price
    source          VARCHAR NOT NULL,           -- tape / refresh
    ref             VARCHAR NOT NULL,
    PRIMARY KEY (venue, address, dex, coin, source, ref, time_ms, size_before, size_after)
);

-- One row per position of an account the tape moved, at the exact refresh that followed:
-- the book's estimate next to the venue's figures. Relative drifts are |estimate / venue - 1|.
CREATE TABLE IF NOT EXISTS tape_drift (
    ts                      TIMESTAMPTZ NOT NULL,   -- the refresh (the venue's state time)
    venue                   VARCHAR NOT NULL,
    address                 VARCHAR NOT NULL,
    dex                     VARCHAR NOT NULL,
    coin                    VARCHAR NOT NULL,
    trades                  INTEGER NOT NULL,       -- tape trades applied since the last refresh
    size_estimate           DECIMAL(38, 18),        -- signed; NULL when the book had none
    size_venue              DECIMAL(38, 18),        -- signed; NULL when the venue has none
    entry_px_estimate       DECIMAL(38, 18),
    entry_px_venue          DECIMAL(38, 18),
    liquidation_px_estimate DECIMAL(38, 18),        -- ours, at the venue's marks
    liquidation_px_venue    DECIMAL(38, 18),
    size_drift              DECIMAL(38, 18),        -- venue - estimate (coins)
    entry_px_drift          DOUBLE,                 -- relative
    liquidation_px_drift    DOUBLE,                 -- relative
    PRIMARY KEY (venue, address, dex, coin, ts)
);

-- position_events: fills-derived rows as before, plus tape changes of trades no stored fill
-- covers (same account, dex, coin and time), grouped per block and trade hash (one order, as the
-- fills are grouped per order): a move is counted once, from the fills once the account's
-- history has them, from the tape until then. The new column `source` says which.
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
),
tape AS (
    SELECT venue, address, coin, dex, time_ms, min(ts) AS ts,
           CASE WHEN sum(size_after - size_before) > 0 THEN min(size_before)
                ELSE max(size_before) END AS first_before,
           sum(size_after - size_before) AS size_delta,
           sum(notional_usd) AS notional_usd,
           sum(abs(size_after - size_before)) AS size,
           count(*) AS fills
    FROM position_changes p
    WHERE source = 'tape' AND NOT EXISTS (
        SELECT 1 FROM fills f
        WHERE f.venue = p.venue AND f.address = p.address AND f.dex = p.dex
          AND f.coin = p.coin AND f.time_ms = p.time_ms
    )
    GROUP BY venue, address, coin, dex, time_ms, ref
),
moves AS (
    SELECT ts, venue, address, dex, coin, size_before, size_delta,
           side, size, avg_px, notional_usd, realized_pnl_usd, fee, fills, liquidation, oid,
           time_ms, 'fills' AS source
    FROM orders
    UNION ALL
    SELECT ts, venue, address, dex, coin, first_before, size_delta,
           CASE WHEN size_delta > 0 THEN 'buy' ELSE 'sell' END, size,
           notional_usd / size, notional_usd, NULL, NULL, fills, NULL, NULL, time_ms, 'tape'
    FROM tape
    WHERE size_delta <> 0
)
SELECT ts, venue, address, dex, coin,
       CASE WHEN size_before = 0 THEN 'open'
            WHEN size_before + size_delta = 0 THEN 'close'
            WHEN sign(size_before) <> sign(size_before + size_delta) THEN 'flip'
            WHEN abs(size_before + size_delta) > abs(size_before) THEN 'increase'
            ELSE 'reduce' END AS kind,
       size_before, size_before + size_delta AS size_after, side, size, avg_px, notional_usd,
       realized_pnl_usd, fee, fills, liquidation, oid, time_ms, source
FROM moves;
