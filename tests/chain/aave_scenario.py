"""Scenario steps on a deployed test market: fund, supply, borrow, move a price, liquidate.

Amounts are raw token units (int): `10**18` is 1 WETH, `10**6` is 1 USDC.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_typing import ChecksumAddress
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import EventData, TxReceipt

from .aave import AaveMarket, to_price
from .anvil import Anvil
from .artifacts import aave_artifacts
from .contracts import at, send

MAX_UINT256 = 2**256 - 1
VARIABLE_RATE = 2  # InterestRateMode.VARIABLE; stable borrowing is gone since v3.2
WAD = Decimal(10**18)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountData:
    """`Pool.getUserAccountData`: USD amounts with 8 decimals, ratios in bps, HF in wad."""

    total_collateral_base: int
    total_debt_base: int
    available_borrows_base: int
    liquidation_threshold_bps: int
    ltv_bps: int
    health_factor_wad: int  # 2**256 - 1 when there is no debt

    @property
    def health_factor(self) -> Decimal:
        return Decimal(self.health_factor_wad) / WAD


def contract(chain: Anvil, name: str, address: ChecksumAddress) -> Contract:
    """web3 contract for `address` with the ABI of compiled contract `name`."""
    return at(chain.w3, aave_artifacts(), name, address)


def pool(chain: Anvil, market: AaveMarket) -> Contract:
    return contract(chain, "PoolInstance", market.pool)


def erc20(chain: Anvil, token: ChecksumAddress) -> Contract:
    return contract(chain, "MintableERC20", token)


def mint(chain: Anvil, token: ChecksumAddress, to: ChecksumAddress, amount: int) -> None:
    """Mint mock tokens to `to` (the mock lets anyone mint)."""
    fn = erc20(chain, token).get_function_by_signature("mint(address,uint256)")
    send(chain.w3, fn(to, amount), to)


def approve_pool(
    chain: Anvil, market: AaveMarket, owner: ChecksumAddress, token: ChecksumAddress, amount: int
) -> None:
    send(chain.w3, erc20(chain, token).functions.approve(market.pool, amount), owner)


def supply(
    chain: Anvil, market: AaveMarket, user: ChecksumAddress, asset: ChecksumAddress, amount: int
) -> TxReceipt:
    """Mint `amount` of `asset` to `user` and supply it to the pool on the user's behalf."""
    mint(chain, asset, user, amount)
    approve_pool(chain, market, user, asset, amount)
    return send(chain.w3, pool(chain, market).functions.supply(asset, amount, user, 0), user)


def borrow(
    chain: Anvil, market: AaveMarket, user: ChecksumAddress, asset: ChecksumAddress, amount: int
) -> TxReceipt:
    """Borrow at the variable rate against the user's collateral."""
    call = pool(chain, market).functions.borrow(asset, amount, VARIABLE_RATE, 0, user)
    return send(chain.w3, call, user)


def open_position(
    chain: Anvil,
    market: AaveMarket,
    whale: ChecksumAddress,
    lender: ChecksumAddress,
    weth_amount: int,
    usdc_debt: int,
) -> None:
    """`lender` provides the USDC liquidity; `whale` supplies WETH and borrows `usdc_debt` USDC."""
    supply(chain, market, lender, market.usdc, usdc_debt)
    supply(chain, market, whale, market.weth, weth_amount)
    borrow(chain, market, whale, market.usdc, usdc_debt)


def set_price(chain: Anvil, feed: ChecksumAddress, usd: Decimal) -> None:
    """Push a new USD answer to a mock feed (e.g. `market.weth_feed`); AaveOracle follows it."""
    update = contract(chain, "MockAggregatorV3", feed).functions.updateAnswer(to_price(usd))
    send(chain.w3, update, chain.accounts[0])


def asset_price(chain: Anvil, market: AaveMarket, asset: ChecksumAddress) -> Decimal:
    """AaveOracle price of `asset` in USD."""
    raw = contract(chain, "AaveOracle", market.aave_oracle).functions.getAssetPrice(asset).call()
    return Decimal(raw).scaleb(-8)


def account_data(chain: Anvil, market: AaveMarket, user: ChecksumAddress) -> AccountData:
    values: list[int] = pool(chain, market).functions.getUserAccountData(user).call()
    collateral, debt, available, threshold, ltv, health = values
    return AccountData(
        total_collateral_base=collateral,
        total_debt_base=debt,
        available_borrows_base=available,
        liquidation_threshold_bps=threshold,
        ltv_bps=ltv,
        health_factor_wad=health,
    )


def debt_balance(chain: Anvil, market: AaveMarket, user: ChecksumAddress) -> int:
    """The user's variable USDC debt including accrued interest, in USDC units."""
    return int(erc20(chain, market.variable_debt_usdc).functions.balanceOf(user).call())


def liquidate(
    chain: Anvil,
    market: AaveMarket,
    liquidator: ChecksumAddress,
    user: ChecksumAddress,
    *,
    debt_to_cover: int = MAX_UINT256,
    receive_a_token: bool = False,
) -> TxReceipt:
    """Fund `liquidator` with USDC and call the real `liquidationCall` (WETH coll., USDC debt).

    With the default `debt_to_cover` the pool repays as much as the close factor allows.
    """
    if debt_to_cover == MAX_UINT256:  # all of it, plus headroom for interest accrued meanwhile
        debt = debt_balance(chain, market, user)
        needed = debt + debt // 1000 + 1
    else:
        needed = debt_to_cover
    mint(chain, market.usdc, liquidator, needed)
    approve_pool(chain, market, liquidator, market.usdc, needed)
    call = pool(chain, market).functions.liquidationCall(
        market.weth, market.usdc, user, debt_to_cover, receive_a_token
    )
    return send(chain.w3, call, liquidator)


def liquidation_events(chain: Anvil, market: AaveMarket, receipt: TxReceipt) -> list[EventData]:
    """Decoded `LiquidationCall` events of the pool in a receipt (other logs are ignored)."""
    event: Any = pool(chain, market).events.LiquidationCall()
    return list(event.process_receipt(receipt, errors=DISCARD))
