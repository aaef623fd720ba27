-- Ethereum: holdings of watched addresses, Aave v3 liquidations market-wide, whale transfers,
-- and the block cursors of the log scanners. Aave positions and accounts go to the shared
-- `positions` / `account_snapshots` tables (venue 'aave-v3'), so one query sees every venue.
-- Amounts are human units (raw / 10^decimals); *_usd values come from the Aave oracle (8 decimals)
-- or Chainlink at the row's block. Addresses and hashes are lower-case 0x-hex.

-- One row per address, asset and poll: ETH always, ERC-20s when the balance is not zero.
CREATE TABLE IF NOT EXISTS holdings (
    ts              TIMESTAMPTZ NOT NULL,       -- the tracker's poll time
    venue           VARCHAR NOT NULL,           -- 'ethereum'
    chain_id        BIGINT NOT NULL,
    block_number    BIGINT NOT NULL,            -- the block every figure of the poll was read at
    address         VARCHAR NOT NULL,
    asset           VARCHAR NOT NULL,           -- 'ETH' or the configured token symbol
    token_address   VARCHAR,                    -- NULL for ETH
    amount          DECIMAL(38, 18) NOT NULL,
    price_usd       DECIMAL(38, 18),            -- NULL when no oracle prices the asset
    usd_value       DECIMAL(38, 18),
    PRIMARY KEY (venue, chain_id, address, asset, ts)
);

-- Every Aave v3 LiquidationCall of the pool, whoever was liquidated.
CREATE TABLE IF NOT EXISTS aave_liquidation_calls (
    chain_id                BIGINT NOT NULL,
    pool                    VARCHAR NOT NULL,
    block_number            BIGINT NOT NULL,
    block_ts                TIMESTAMPTZ NOT NULL,
    tx_hash                 VARCHAR NOT NULL,
    log_index               INTEGER NOT NULL,
    user                    VARCHAR NOT NULL,   -- the liquidated borrower
    collateral_asset        VARCHAR NOT NULL,
    collateral_symbol       VARCHAR NOT NULL,
    debt_asset              VARCHAR NOT NULL,
    debt_symbol             VARCHAR NOT NULL,
    debt_to_cover           DECIMAL(38, 18) NOT NULL,   -- debt repaid, debt-asset units
    liquidated_collateral   DECIMAL(38, 18) NOT NULL,   -- seized incl. bonus, collateral units
    collateral_price_usd    DECIMAL(38, 18),
    debt_price_usd          DECIMAL(38, 18),
    collateral_usd          DECIMAL(38, 18),
    debt_usd                DECIMAL(38, 18),
    liquidator              VARCHAR NOT NULL,
    receive_a_token         BOOLEAN NOT NULL,
    PRIMARY KEY (chain_id, tx_hash, log_index)
);

-- Large moves of watched addresses: ERC-20 Transfer logs (one row per watched side) and ETH
-- balance changes between two polls (internal ETH transfers have no log; they need traces).
CREATE TABLE IF NOT EXISTS whale_transfers (
    chain_id        BIGINT NOT NULL,
    address         VARCHAR NOT NULL,           -- the watched address
    transfer_key    VARCHAR NOT NULL,           -- 'tx_hash:log_index' or 'eth:FROM-TO' blocks
    kind            VARCHAR NOT NULL,           -- 'erc20_transfer' / 'eth_balance_change'
    direction       VARCHAR NOT NULL,           -- 'in' / 'out'
    counterparty    VARCHAR,                    -- NULL for a balance change
    asset           VARCHAR NOT NULL,
    token_address   VARCHAR,                    -- NULL for ETH
    amount          DECIMAL(38, 18) NOT NULL,   -- unsigned
    price_usd       DECIMAL(38, 18),
    usd_value       DECIMAL(38, 18) NOT NULL,
    block_number    BIGINT NOT NULL,
    block_ts        TIMESTAMPTZ,
    tx_hash         VARCHAR,
    log_index       INTEGER,
    PRIMARY KEY (chain_id, address, transfer_key)
);

-- How far each log scanner has read: last_block is the newest block fully stored.
CREATE TABLE IF NOT EXISTS chain_cursors (
    chain_id        BIGINT NOT NULL,
    stream          VARCHAR NOT NULL,           -- e.g. 'aave-v3:0x8787…:liquidations'
    last_block      BIGINT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (chain_id, stream)
);
