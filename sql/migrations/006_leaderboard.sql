-- The venue's leaderboard as read by `tracker discover`: one row per account per read.

CREATE TABLE IF NOT EXISTS leaderboard (
    ts                      TIMESTAMPTZ NOT NULL,   -- when the leaderboard was read
    address                 VARCHAR NOT NULL,       -- lower-case
    account_value_usd       DECIMAL(38, 18) NOT NULL,
    display_name            VARCHAR,                -- chosen by the account's owner: data, not markup
    pnl_day_usd             DECIMAL(38, 18),
    pnl_week_usd            DECIMAL(38, 18),
    pnl_month_usd           DECIMAL(38, 18),
    pnl_all_time_usd        DECIMAL(38, 18),
    roi_day                 DECIMAL(38, 18),        -- fraction
    roi_week                DECIMAL(38, 18),
    roi_month               DECIMAL(38, 18),
    roi_all_time            DECIMAL(38, 18),
    volume_day_usd          DECIMAL(38, 18),
    volume_week_usd         DECIMAL(38, 18),
    volume_month_usd        DECIMAL(38, 18),
    volume_all_time_usd     DECIMAL(38, 18),
    PRIMARY KEY (ts, address)
);
