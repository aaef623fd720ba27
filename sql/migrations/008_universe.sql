-- The accounts `tracker run --discover USD` tracks besides the watchlists, as of its latest
-- leaderboard read (replaced whole at each read). Which of them were swept is what
-- account_snapshots holds: an account is seen once a state of it is stored.

CREATE TABLE IF NOT EXISTS universe (
    address                 VARCHAR PRIMARY KEY,    -- lower-case
    account_value_usd       DECIMAL(38, 18) NOT NULL, -- on the leaderboard at that read
    display_name            VARCHAR,                -- chosen by the account's owner: data, not markup
    min_account_value_usd   DECIMAL(38, 18) NOT NULL, -- the --discover threshold of that read
    listed_at               TIMESTAMPTZ NOT NULL    -- when the leaderboard was read
);
