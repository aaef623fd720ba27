-- Liquidation episodes (one economic liquidation of one account and coin, however many fills)
-- and alerts (each stored once under a stable id, with what was delivered where).

CREATE TABLE IF NOT EXISTS liquidations (
    episode_id              VARCHAR PRIMARY KEY,    -- venue:address:coin:start_ms
    venue                   VARCHAR NOT NULL,
    address                 VARCHAR NOT NULL,       -- the liquidated account
    coin                    VARCHAR NOT NULL,
    side                    VARCHAR,                -- long / short: the position that was liquidated
    start_ts                TIMESTAMPTZ NOT NULL,
    end_ts                  TIMESTAMPTZ NOT NULL,
    fills                   INTEGER NOT NULL,
    size                    DECIMAL(38, 18),        -- coins
    notional_usd            DECIMAL(38, 18),        -- sum of px * size over the episode's fills
    method                  VARCHAR NOT NULL,       -- market, backstop, market+backstop, ledger
    mark_px                 DECIMAL(38, 18),        -- mark at liquidation (first fill)
    realized_loss_usd       DECIMAL(38, 18),        -- closed PnL minus fees of the account's fills
    ledger_notional_usd     DECIMAL(38, 18),        -- the ledger's liquidatedNtlPos (whole account)
    sources                 VARCHAR NOT NULL,       -- fills, liquidator, ledger (comma list)
    watched                 BOOLEAN NOT NULL,       -- the account is on a watchlist
    large                   BOOLEAN NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS alerts (
    id              VARCHAR PRIMARY KEY,
    kind            VARCHAR NOT NULL,       -- large_liquidation, near_liquidation, ...
    ts              TIMESTAMPTZ NOT NULL,   -- when the event happened
    created_at      TIMESTAMPTZ NOT NULL,
    venue           VARCHAR NOT NULL,
    address         VARCHAR NOT NULL,
    label           VARCHAR,
    coin            VARCHAR,
    notional_usd    DECIMAL(38, 18),
    severity        VARCHAR NOT NULL,
    message         VARCHAR NOT NULL,
    details         JSON NOT NULL
);

CREATE TABLE IF NOT EXISTS alert_deliveries (
    alert_id    VARCHAR NOT NULL,
    sink        VARCHAR NOT NULL,
    ok          BOOLEAN NOT NULL,
    attempts    INTEGER NOT NULL,
    error       VARCHAR,
    attempted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (alert_id, sink)
);

-- Armed near-liquidation conditions, so a warning is sent once per dip below a level and again
-- only after the position has recovered past the hysteresis band.
CREATE TABLE IF NOT EXISTS alert_state (
    key         VARCHAR PRIMARY KEY,
    level_pct   DECIMAL(38, 18) NOT NULL,
    since       TIMESTAMPTZ NOT NULL
);
