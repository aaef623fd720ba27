"""Aave v3 on an EVM chain: pool configuration, user accounts and LiquidationCall logs.

Everything is read through Multicall3 at one pinned block (`EthereumClient.read`), so an account's
reserves, prices and `getUserAccountData` are consistent. The PoolAddressesProvider is the only
configured address (TRACKER_AAVE_POOL_ADDRESSES_PROVIDER); Pool, AaveOracle and the protocol data
provider are resolved from it (`NoAaveMarket` when it does not answer). ABIs and units:
shared/reference/evm.md §2 (aave-v3-origin 3.6 `IPool.sol`, `IPoolDataProvider.sol`,
`ReserveConfiguration.sol`); base currency is USD with 8 decimals, health factor 1e18,
thresholds in bps.

Longer than our ~400 lines: the pure ABI encoding and decoding of each Aave read sits next to
the read that uses it, so a change to one call is one place; the answers' shapes are the
bulk of it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from eth_abi.abi import decode
from eth_typing import ChecksumAddress
from web3 import Web3

from tracker.errors import VenueError, VenueResponseError
from tracker.records import AaveAccount, AaveLiquidationCall, AaveReserveBalance
from tracker.sources.ethereum.rpc import VENUE as ETHEREUM
from tracker.sources.ethereum.rpc import (
    Call,
    EthereumClient,
    RawLog,
    asset_price_call,
    block_timestamp_call,
    checksum,
    decode_all,
    epoch_to_datetime,
    gather_all,
    price_from_raw,
    to_units,
)
from tracker.venues import AAVE_V3

log = logging.getLogger(__name__)

VENUE = AAVE_V3
LIQUIDATION_CALL_TOPIC = Web3.keccak(
    text="LiquidationCall(address,address,address,uint256,uint256,address,bool)"
)
BPS = Decimal(10_000)
WAD = Decimal(10**18)
BASE_DECIMALS = 8
# Symbols treated as USD stablecoins: held still by the shock to liquidation (risk_aave).
STABLECOINS = frozenset(
    {"USDC", "USDT", "DAI", "GHO", "USDS", "PYUSD", "FRAX", "LUSD", "CRVUSD", "RLUSD", "USDE"}
    | {"USDTB", "USDG", "EUSDE", "SUSDE", "SDAI", "SUSDS", "USD0", "USD1", "FDUSD", "TUSD"}
)
_RESERVE_DATA = (
    "((uint256),uint128,uint128,uint128,uint128,uint128,uint40,uint16,"
    "address,address,address,address,uint128,uint128,uint128)"
)


class NoAaveMarket(VenueResponseError):
    """The configured PoolAddressesProvider does not answer: no Aave v3 market on this chain."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reserve:
    """One reserve's identity and risk parameters (ReserveConfiguration bitmap, evm.md §2.2)."""

    asset: ChecksumAddress
    symbol: str
    id: int  # position in the pool's reserve list; indexes e-mode bitmaps
    decimals: int
    ltv_bps: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int
    active: bool
    frozen: bool
    paused: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolConfig:
    """The resolved contracts of one Aave v3 market and its reserves."""

    provider: ChecksumAddress
    pool: ChecksumAddress
    oracle: ChecksumAddress
    data_provider: ChecksumAddress
    reserves: tuple[Reserve, ...]

    def reserve(self, asset: str) -> Reserve | None:
        """The reserve of an underlying asset (any letter case), if listed."""
        wanted = asset.lower()
        return next((r for r in self.reserves if r.asset.lower() == wanted), None)


def parse_reserve_configuration(bitmap: int) -> dict[str, int | bool]:
    """Fields of the ReserveConfiguration bitmap (aave-v3-origin ReserveConfiguration.sol)."""
    return {
        "ltv_bps": bitmap & 0xFFFF,
        "liquidation_threshold_bps": (bitmap >> 16) & 0xFFFF,
        "liquidation_bonus_bps": (bitmap >> 32) & 0xFFFF,
        "decimals": (bitmap >> 48) & 0xFF,
        "active": bool((bitmap >> 56) & 1),
        "frozen": bool((bitmap >> 57) & 1),
        "paused": bool((bitmap >> 60) & 1),
    }


async def fetch_pool_config(
    client: EthereumClient, provider: str, block: int | None = None
) -> PoolConfig:
    """Resolve Pool, oracle and data provider from the addresses provider; read every reserve.

    Raises NoAaveMarket when the provider's answers do not decode (no contract, a revert).
    """
    at = block if block is not None else await client.head()
    provider_cs = checksum(provider)
    resolve = [
        Call(provider_cs, "getPool()", (), ("address",)),
        Call(provider_cs, "getPriceOracle()", (), ("address",)),
        Call(provider_cs, "getPoolDataProvider()", (), ("address",)),
    ]
    raw = await client.multicall(resolve, at)  # an RPC failure is not an answer: raised as is
    try:
        pool, oracle, data_provider = (checksum(a) for a in decode_all(resolve, raw))
    except VenueResponseError as exc:
        raise NoAaveMarket(
            f"no Aave v3 PoolAddressesProvider answers at {provider_cs}: {exc.reason}",
            venue=ETHEREUM,
            request="getPool",
        ) from None
    listing = Call(data_provider, "getAllReservesTokens()", (), ("(string,address)[]",))
    (tokens,) = await client.read([listing], at)
    assets = [checksum(address) for _, address in tokens]
    data_calls = [Call(pool, "getReserveData(address)", (a,), (_RESERVE_DATA,)) for a in assets]
    reserve_data = await client.read(data_calls, at)
    reserves = tuple(
        parse_reserve(asset, str(symbol), data)
        for (symbol, _), asset, data in zip(tokens, assets, reserve_data, strict=True)
    )
    return PoolConfig(
        provider=provider_cs,
        pool=pool,
        oracle=oracle,
        data_provider=data_provider,
        reserves=reserves,
    )


def parse_reserve(asset: ChecksumAddress, symbol: str, data: Sequence[Any]) -> Reserve:
    """A Reserve from Pool.getReserveData's ReserveDataLegacy tuple."""
    ((bitmap,), *_rest) = data
    fields = parse_reserve_configuration(int(bitmap))
    return Reserve(
        asset=asset,
        symbol=symbol,
        id=int(data[7]),
        decimals=int(fields["decimals"]),
        ltv_bps=int(fields["ltv_bps"]),
        liquidation_threshold_bps=int(fields["liquidation_threshold_bps"]),
        liquidation_bonus_bps=int(fields["liquidation_bonus_bps"]),
        active=bool(fields["active"]),
        frozen=bool(fields["frozen"]),
        paused=bool(fields["paused"]),
    )


# -- accounts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EModeCategory:
    """A user's e-mode category: its LTV/LT (bps) and which reserve ids it covers."""

    id: int
    ltv_bps: int
    liquidation_threshold_bps: int
    collateral_bitmap: int
    ltvzero_bitmap: int

    def covers(self, reserve_id: int) -> bool:
        """True when the reserve is collateral in this category (its LT then applies)."""
        return bool((self.collateral_bitmap >> reserve_id) & 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountWire:
    """Decoded reads of one address: account data, e-mode id, and per reserve its balances."""

    address: str
    account_data: tuple[int, ...]  # getUserAccountData: 6 values, base currency / bps / wad
    emode: int
    user_reserves: Mapping[str, tuple[int, int, bool]]  # asset -> (aToken, variable debt, coll.)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountsRead:
    """Aave accounts of many addresses at one block; None = no position there."""

    block_ts: datetime
    accounts: dict[str, AaveAccount | None]
    errors: dict[str, VenueError]


def _account_calls(cfg: PoolConfig, user: ChecksumAddress) -> list[Call]:
    who = user.lower()
    return [
        Call(cfg.pool, "getUserAccountData(address)", (user,), ("uint256",) * 6, subject=who),
        Call(cfg.pool, "getUserEMode(address)", (user,), subject=who),
        Call(cfg.pool, "getUserConfiguration(address)", (user,), ("(uint256)",), subject=who),
    ]


def _reserve_calls(cfg: PoolConfig, user: ChecksumAddress) -> list[Call]:
    returns = ("uint256",) * 7 + ("uint40", "bool")
    signature = "getUserReserveData(address,address)"
    return [
        Call(cfg.data_provider, signature, (r.asset, user), returns, subject=user.lower())
        for r in cfg.reserves
    ]


async def fetch_accounts(
    client: EthereumClient, cfg: PoolConfig, addresses: Sequence[str], block: int
) -> AccountsRead:
    """Every address's Aave account at `block`; a failing address lands in `errors`.

    Two Multicall3 rounds: account data, e-mode and user configuration of every address plus the
    reserve prices; then per-reserve balances only for addresses with a non-empty configuration.
    """
    users = [checksum(a) for a in addresses]
    head = [block_timestamp_call(), *(asset_price_call(cfg.oracle, r.asset) for r in cfg.reserves)]
    per_user = [_account_calls(cfg, u) for u in users]
    raw = await client.multicall([*head, *(c for calls in per_user for c in calls)], block)
    ts, *price_raw = decode_all(head, raw[: len(head)])
    block_ts = epoch_to_datetime(int(ts))
    prices = {
        r.asset.lower(): price_from_raw(p) for r, p in zip(cfg.reserves, price_raw, strict=True)
    }
    read = AccountsRead(block_ts=block_ts, accounts={}, errors={})
    active: list[tuple[ChecksumAddress, tuple[int, ...], int]] = []
    for j, (u, calls) in enumerate(zip(users, per_user, strict=True)):
        offset = len(head) + 3 * j
        try:
            data, emode, (config,) = decode_all(calls, raw[offset : offset + 3])
        except VenueError as exc:
            read.errors[u.lower()] = exc
            continue
        if int(config) == 0:  # neither collateral nor debt anywhere
            read.accounts[u.lower()] = None
        else:
            active.append((u, tuple(int(x) for x in data), int(emode)))
    if not active:
        return read
    categories = await _fetch_emodes(client, cfg, {e for _, _, e in active if e}, block)
    reserve_calls = [_reserve_calls(cfg, u) for u, _, _ in active]
    second = await client.multicall([c for calls in reserve_calls for c in calls], block)
    n = len(cfg.reserves)
    for j, ((u, data, emode), calls) in enumerate(zip(active, reserve_calls, strict=True)):
        try:
            rows = decode_all(calls, second[j * n : (j + 1) * n])
            balances = {
                r.asset.lower(): (int(row[0]), int(row[2]), bool(row[8]))
                for r, row in zip(cfg.reserves, rows, strict=True)
            }
            wire = AccountWire(
                address=u.lower(), account_data=data, emode=emode, user_reserves=balances
            )
            read.accounts[u.lower()] = parse_account(
                wire, cfg, prices, categories.get(emode), client.chain_id, block, block_ts
            )
        except VenueError as exc:
            read.errors[u.lower()] = exc
    return read


async def _fetch_emodes(
    client: EthereumClient, cfg: PoolConfig, ids: set[int], block: int
) -> dict[int, EModeCategory]:
    ordered = sorted(ids)
    calls: list[Call] = []
    for i in ordered:
        calls += [
            Call(
                cfg.pool,
                "getEModeCategoryCollateralConfig(uint8)",
                (i,),
                ("(uint16,uint16,uint16)",),
            ),
            Call(cfg.pool, "getEModeCategoryCollateralBitmap(uint8)", (i,), ("uint128",)),
            # Missing before v3.4 (no LTV-zero assets then).
            Call(
                cfg.pool, "getEModeCategoryLtvzeroBitmap(uint8)", (i,), ("uint128",), optional=True
            ),
        ]
    values = await client.read(calls, block) if calls else []
    found = {}
    for k, i in enumerate(ordered):
        (ltv, lt, _bonus), collateral, ltvzero = values[3 * k : 3 * k + 3]
        found[i] = EModeCategory(
            id=i,
            ltv_bps=int(ltv),
            liquidation_threshold_bps=int(lt),
            collateral_bitmap=int(collateral),
            ltvzero_bitmap=int(ltvzero or 0),
        )
    return found


def parse_account(
    wire: AccountWire,
    cfg: PoolConfig,
    prices: Mapping[str, Decimal | None],
    emode: EModeCategory | None,
    chain_id: int,
    block: int,
    block_ts: datetime,
) -> AaveAccount:
    """An AaveAccount from decoded reads; each reserve's LT/LTV follow the user's e-mode."""
    collateral, debt, available, lt_bps, ltv_bps, hf_wad = wire.account_data
    reserves = []
    for r in cfg.reserves:
        supplied_raw, debt_raw, as_collateral = wire.user_reserves[r.asset.lower()]
        if not supplied_raw and not debt_raw:
            continue
        price = prices.get(r.asset.lower())
        if price is None:
            raise VenueResponseError(
                f"the Aave oracle has no price for {r.symbol} ({r.asset})",
                venue=ETHEREUM,
                request="getAssetPrice",
                address=wire.address,
            )
        lt, ltv, in_emode = r.liquidation_threshold_bps, r.ltv_bps, False
        if emode is not None and emode.covers(r.id):  # GenericLogic: the category's LT applies
            lt, in_emode = emode.liquidation_threshold_bps, True
            ltv = 0 if (emode.ltvzero_bitmap >> r.id) & 1 else emode.ltv_bps
        reserves.append(
            AaveReserveBalance(
                asset=r.asset.lower(),
                symbol=r.symbol,
                supplied=to_units(supplied_raw, r.decimals),
                borrowed=to_units(debt_raw, r.decimals),
                collateral_enabled=as_collateral,
                price_usd=price,
                liquidation_threshold=Decimal(lt) / BPS,
                ltv=Decimal(ltv) / BPS,
                in_emode=in_emode,
                stable=r.symbol.upper() in STABLECOINS,
            )
        )
    return AaveAccount(
        venue=VENUE,
        chain_id=chain_id,
        pool=cfg.pool.lower(),
        address=wire.address,
        block_number=block,
        block_ts=block_ts,
        emode_category=wire.emode,
        total_collateral_usd=to_units(collateral, BASE_DECIMALS),
        total_debt_usd=to_units(debt, BASE_DECIMALS),
        available_borrows_usd=to_units(available, BASE_DECIMALS),
        liquidation_threshold=Decimal(lt_bps) / BPS,
        ltv=Decimal(ltv_bps) / BPS,
        health_factor=None if debt == 0 else Decimal(hf_wad) / WAD,
        reserves=tuple(reserves),
    )


# -- LiquidationCall --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationLog:
    """A decoded LiquidationCall log, raw units."""

    block_number: int
    tx_hash: str
    log_index: int
    collateral_asset: str  # lower-case
    debt_asset: str
    user: str
    debt_to_cover: int
    liquidated_collateral: int
    liquidator: str
    receive_a_token: bool


def decode_liquidation_log(entry: RawLog) -> LiquidationLog | None:
    """LiquidationCall(collateralAsset, debtAsset, user indexed; debtToCover,
    liquidatedCollateralAmount, liquidator, receiveAToken); None for any other log."""
    if len(entry.topics) != 4 or entry.topics[0] != bytes(LIQUIDATION_CALL_TOPIC):
        return None
    collateral, debt_asset, user = ("0x" + t[-20:].hex() for t in entry.topics[1:])
    debt_to_cover, seized, liquidator, receive = decode(
        ["uint256", "uint256", "address", "bool"], entry.data
    )
    return LiquidationLog(
        block_number=entry.block_number,
        tx_hash=entry.tx_hash,
        log_index=entry.log_index,
        collateral_asset=collateral,
        debt_asset=debt_asset,
        user=user,
        debt_to_cover=int(debt_to_cover),
        liquidated_collateral=int(seized),
        liquidator=str(liquidator).lower(),
        receive_a_token=bool(receive),
    )


def parse_liquidation(
    event: LiquidationLog,
    pool: str,
    assets: Mapping[str, tuple[str, int]],
    prices: Mapping[str, Decimal | None],
    block_ts: datetime,
    chain_id: int,
) -> AaveLiquidationCall:
    """Human units and USD (oracle prices at the event's block) for one liquidation.

    assets maps asset -> (symbol, decimals) (`fetch_assets`).
    """
    coll_symbol, coll_decimals = assets[event.collateral_asset]
    debt_symbol, debt_decimals = assets[event.debt_asset]
    seized = to_units(event.liquidated_collateral, coll_decimals)
    repaid = to_units(event.debt_to_cover, debt_decimals)
    p_coll, p_debt = prices.get(event.collateral_asset), prices.get(event.debt_asset)
    return AaveLiquidationCall(
        chain_id=chain_id,
        pool=pool.lower(),
        block_number=event.block_number,
        block_ts=block_ts,
        tx_hash=event.tx_hash,
        log_index=event.log_index,
        user=event.user,
        collateral_asset=event.collateral_asset,
        collateral_symbol=coll_symbol,
        debt_asset=event.debt_asset,
        debt_symbol=debt_symbol,
        debt_to_cover=repaid,
        liquidated_collateral=seized,
        collateral_price_usd=p_coll,
        debt_price_usd=p_debt,
        collateral_usd=seized * p_coll if p_coll is not None else None,
        debt_usd=repaid * p_debt if p_debt is not None else None,
        liquidator=event.liquidator,
        receive_a_token=event.receive_a_token,
    )


async def fetch_block_prices(
    client: EthereumClient, oracle: ChecksumAddress, assets: Sequence[str], blocks: Sequence[int]
) -> dict[int, tuple[datetime, dict[str, Decimal | None]]]:
    """Per block: its time and each asset's oracle price in the state at the end of that block.

    Not block - 1: oracle updates often land just before a liquidation in the same block, so
    the previous block's price can be stale (evm.md §2.3). A node that no longer keeps that
    block's state (not an archive node) gives no prices: they are None, with a warning.
    """
    calls = [block_timestamp_call(), *(asset_price_call(oracle, a) for a in assets)]

    async def one(block: int) -> tuple[int, tuple[datetime, dict[str, Decimal | None]]]:
        try:
            ts, *raw_prices = await client.read(calls, block)
        except VenueResponseError as exc:
            log.warning("no oracle prices at block %d (an archive RPC keeps them): %s", block, exc)
            return block, (await client.block_time(block), dict.fromkeys(assets))
        prices = {a: price_from_raw(p) for a, p in zip(assets, raw_prices, strict=True)}
        return block, (epoch_to_datetime(int(ts)), prices)

    return dict(await gather_all(*(one(b) for b in sorted(set(blocks)))))


async def fetch_assets(
    client: EthereumClient, cfg: PoolConfig, assets: Sequence[str], block: int
) -> dict[str, tuple[str, int]]:
    """(symbol, decimals) per asset: the pool's reserves, else read from the token (a reserve
    dropped since its liquidations happened)."""
    meta = {r.asset.lower(): (r.symbol, r.decimals) for r in cfg.reserves}
    unknown = [checksum(a) for a in assets if a.lower() not in meta]
    calls: list[Call] = []
    for a in unknown:
        calls += [Call(a, "symbol()", (), ("string",), optional=True), Call(a, "decimals()")]
    values = await client.read(calls, block) if calls else []
    for i, a in enumerate(unknown):
        symbol, decimals = values[2 * i : 2 * i + 2]
        meta[a.lower()] = (str(symbol) if symbol else a.lower(), int(decimals))
    return meta
