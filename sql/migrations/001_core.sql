-- Core tables: one row per account per dex per snapshot, one per position, one per market.
-- ts is the tracker's poll time (UTC); venue_time is the venue's own clock in its answer.

CREATE TABLE IF NOT EXISTS account_snapshots (
    ts                      TIMESTAMPTZ NOT NULL,
    venue                   VARCHAR NOT NULL,
    address                 VARCHAR NOT NULL,
    dex                     VARCHAR NOT NULL,
    venue_time              TIMESTAMPTZ,
    account_value_usd       DECIMAL(38, 18) NOT NULL,
    cross_account_value_usd DECIMAL(38, 18) NOT NULL,
    notional_usd            DECIMAL(38, 18) NOT NULL,
    margin_used_usd         DECIMAL(38, 18) NOT NULL,
    maintenance_margin_usd  DECIMAL(38, 18) NOT NULL,
    withdrawable_usd        DECIMAL(38, 18) NOT NULL,
    shock_to_liq_pct        DECIMAL(38, 18),
    positions               INTEGER NOT NULL,
    PRIMARY KEY (venue, address, dex, ts)
);

CREATE TABLE IF NOT EXISTS positions (
    ts                          TIMESTAMPTZ NOT NULL,
    venue                       VARCHAR NOT NULL,
    address                     VARCHAR NOT NULL,
    dex                         VARCHAR NOT NULL,
    coin                        VARCHAR NOT NULL,
    side                        VARCHAR NOT NULL,
    size                        DECIMAL(38, 18) NOT NULL,
    entry_px                    DECIMAL(38, 18),
    mark_px                     DECIMAL(38, 18) NOT NULL,
    notional_usd                DECIMAL(38, 18) NOT NULL,
    unrealized_pnl_usd          DECIMAL(38, 18) NOT NULL,
    roe                         DECIMAL(38, 18),
    leverage                    INTEGER NOT NULL,
    effective_leverage          DECIMAL(38, 18),
    margin_mode                 VARCHAR NOT NULL,
    margin_used_usd             DECIMAL(38, 18) NOT NULL,
    maintenance_margin_usd      DECIMAL(38, 18) NOT NULL,
    liquidation_px              DECIMAL(38, 18),
    venue_liquidation_px        DECIMAL(38, 18),
    distance_to_liq_pct         DECIMAL(38, 18),
    max_leverage                INTEGER NOT NULL,
    cum_funding_since_open_usd  DECIMAL(38, 18),
    PRIMARY KEY (venue, address, dex, coin, ts)
);

CREATE TABLE IF NOT EXISTS markets (
    ts                      TIMESTAMPTZ NOT NULL,
    venue                   VARCHAR NOT NULL,
    dex                     VARCHAR NOT NULL,
    coin                    VARCHAR NOT NULL,
    mark_px                 DECIMAL(38, 18),
    oracle_px               DECIMAL(38, 18),
    mid_px                  DECIMAL(38, 18),
    funding_rate            DECIMAL(38, 18),
    open_interest           DECIMAL(38, 18),
    max_leverage            INTEGER NOT NULL,
    margin_table_id         INTEGER,
    day_notional_volume_usd DECIMAL(38, 18),
    prev_day_px             DECIMAL(38, 18),
    PRIMARY KEY (venue, dex, coin, ts)
);

CREATE TABLE IF NOT EXISTS spot_balances (
    ts                  TIMESTAMPTZ NOT NULL,
    venue               VARCHAR NOT NULL,
    address             VARCHAR NOT NULL,
    coin                VARCHAR NOT NULL,
    total               DECIMAL(38, 18) NOT NULL,
    hold                DECIMAL(38, 18) NOT NULL,
    entry_notional_usd  DECIMAL(38, 18),
    PRIMARY KEY (venue, address, coin, ts)
);

-- One row per snapshot pass: what was attempted, what succeeded.
CREATE TABLE IF NOT EXISTS snapshot_runs (
    ts              TIMESTAMPTZ NOT NULL PRIMARY KEY,
    command         VARCHAR NOT NULL,
    addresses       INTEGER NOT NULL,
    addresses_ok    INTEGER NOT NULL,
    positions       INTEGER NOT NULL,
    finished_at     TIMESTAMPTZ NOT NULL,
    errors          VARCHAR[]
);

-- Positions of each account as of its latest snapshot (a closed position drops out).
CREATE OR REPLACE VIEW latest_positions AS
SELECT p.*
FROM positions p
JOIN (
    SELECT venue, address, dex, max(ts) AS ts
    FROM account_snapshots
    GROUP BY venue, address, dex
) latest USING (venue, address, dex, ts);

CREATE OR REPLACE VIEW latest_accounts AS
SELECT a.*
FROM account_snapshots a
JOIN (
    SELECT venue, address, dex, max(ts) AS ts
    FROM account_snapshots
    GROUP BY venue, address, dex
) latest USING (venue, address, dex, ts);
