"""The local-chain harness itself: real anvil, real Aave v3.6 liquidation, canonical Multicall3."""

from decimal import Decimal

import pytest
from eth_abi.abi import decode
from web3 import AsyncHTTPProvider, AsyncWeb3, Web3

from tests.chain import aave_scenario as scenario
from tests.chain.aave import AaveMarket
from tests.chain.anvil import Anvil
from tests.chain.contracts import TxFailed, send
from tests.chain.multicall3 import MULTICALL3_ABI, MULTICALL3_ADDRESS, MULTICALL3_CODEHASH

pytestmark = pytest.mark.aave

WETH = 10**18
USDC = 10**6


def test_whale_is_liquidated_once_price_drops_below_liquidation_price(
    chain: Anvil, aave: AaveMarket
) -> None:
    _, whale, lender, liquidator = chain.accounts[:4]
    scenario.open_position(chain, aave, whale, lender, 1_000 * WETH, 2_000_000 * USDC)

    opened = scenario.account_data(chain, aave, whale)
    assert opened.total_collateral_base == 3_000_000 * 10**8  # 1000 WETH at $3000
    assert opened.liquidation_threshold_bps == 8300
    assert opened.ltv_bps == 8050
    assert abs(opened.health_factor - Decimal("1.245")) < Decimal("1e-6")  # 3M * 0.83 / 2M

    # Healthy positions cannot be liquidated: the pool reverts with its custom error.
    with pytest.raises(TxFailed, match="HealthFactorNotBelowThreshold"):
        scenario.liquidate(chain, aave, liquidator, whale)

    # Walk the oracle down $50 at a time; P_liq = 2M / (1000 * 0.83) = $2409.64.
    health = opened.health_factor
    for price in range(2950, 0, -50):
        scenario.set_price(chain, aave.weth_feed, Decimal(price))
        previous, health = health, scenario.account_data(chain, aave, whale).health_factor
        assert health < previous
        if health < 1:
            break
    assert price == 2400
    assert scenario.asset_price(chain, aave, aave.weth) == 2400
    feed = scenario.contract(chain, "MockAggregatorV3", aave.weth_feed).functions
    assert feed.latestRoundData().call()[1] == 2400 * 10**8  # what off-chain readers see
    assert Decimal("0.99") < health < 1

    debt_before = scenario.debt_balance(chain, aave, whale)
    receipt = scenario.liquidate(chain, aave, liquidator, whale)

    [event] = scenario.liquidation_events(chain, aave, receipt)
    args = event["args"]
    assert args["user"] == whale
    assert args["collateralAsset"] == aave.weth
    assert args["debtAsset"] == aave.usdc
    assert args["liquidator"] == liquidator
    assert args["receiveAToken"] is False
    # HF 0.996 > 0.95 on a position above $2,000: the v3.3+ close factor caps repayment at 50%.
    assert abs(args["debtToCover"] - debt_before // 2) <= 1 * USDC
    # Seized = repaid / price * 1.05, less the treasury's 10% cut of the 5% bonus => * 1.045.
    expected_seized = Decimal(args["debtToCover"]) * 10**12 / 2400 * Decimal("1.045")
    assert abs(args["liquidatedCollateralAmount"] - expected_seized) / expected_seized < Decimal(
        "1e-6"
    )
    weth_received = scenario.erc20(chain, aave.weth).functions.balanceOf(liquidator).call()
    assert weth_received == args["liquidatedCollateralAmount"]
    assert scenario.account_data(chain, aave, whale).health_factor > health


def test_reserves_and_emode_are_configured(chain: Anvil, aave: AaveMarket) -> None:
    data = scenario.contract(chain, "AaveProtocolDataProvider", aave.pool_data_provider).functions
    weth_config = data.getReserveConfigurationData(aave.weth).call()
    # decimals, ltv, lt, bonus, reserve factor, collateral, borrowing, stable, active, frozen
    assert list(weth_config) == [18, 8050, 8300, 10500, 1500, True, True, False, True, False]
    usdc_config = data.getReserveConfigurationData(aave.usdc).call()
    assert usdc_config[0] == 6
    assert usdc_config[6] is True  # USDC is borrowable

    pool = scenario.pool(chain, aave).functions
    assert aave.emode_category_id == 1
    assert list(pool.getEModeCategoryCollateralConfig(1).call()) == [9300, 9500, 10100]

    # A user in e-mode 1 gets the category's liquidation threshold instead of the reserve's.
    user = chain.accounts[5]
    scenario.supply(chain, aave, user, aave.weth, 10 * WETH)
    send(chain.w3, pool.setUserEMode(1), user)
    assert pool.getUserEMode(user).call() == 1
    assert scenario.account_data(chain, aave, user).liquidation_threshold_bps == 9500


@pytest.mark.asyncio
async def test_multicall3_aggregate3_at_canonical_address(chain: Anvil, aave: AaveMarket) -> None:
    holder = chain.accounts[6]
    scenario.mint(chain, aave.usdc, holder, 1_234 * USDC)
    usdc = scenario.erc20(chain, aave.usdc)
    oracle = scenario.contract(chain, "AaveOracle", aave.aave_oracle)

    # Read the way tracker code will: AsyncWeb3 over HTTP, one eth_call for many reads.
    w3 = AsyncWeb3(AsyncHTTPProvider(chain.url))
    try:
        code = await w3.eth.get_code(MULTICALL3_ADDRESS)
        assert Web3.keccak(code).to_0x_hex() == MULTICALL3_CODEHASH
        mc = w3.eth.contract(address=MULTICALL3_ADDRESS, abi=MULTICALL3_ABI)
        calls = [
            (aave.usdc, False, usdc.encode_abi("decimals")),
            (aave.usdc, False, usdc.encode_abi("balanceOf", args=[holder])),
            (aave.aave_oracle, False, oracle.encode_abi("getAssetPrice", args=[aave.weth])),
            (MULTICALL3_ADDRESS, False, mc.encode_abi("getEthBalance", args=[holder])),
            (MULTICALL3_ADDRESS, False, mc.encode_abi("getChainId")),
            # transferFrom without allowance reverts: allowed to fail, reported as failure
            (aave.usdc, True, usdc.encode_abi("transferFrom", args=[holder, aave.admin, 1])),
        ]
        results = await mc.functions.aggregate3(calls).call()
        eth_balance = await w3.eth.get_balance(holder)
    finally:
        await w3.provider.disconnect()

    assert [ok for ok, _ in results] == [True, True, True, True, True, False]
    values = [decode(["uint256"], data)[0] for _, data in results[:5]]
    assert values == [6, 1_234 * USDC, 3_000 * 10**8, eth_balance, 1]


def test_anvil_helpers_and_snapshot_revert(chain: Anvil) -> None:
    account = chain.accounts[7]
    target = Web3.to_checksum_address("0x000000000000000000000000000000000000beef")
    block = chain.w3.eth.block_number
    snapshot = chain.snapshot()

    chain.set_balance(account, 42)
    chain.set_code(target, bytes.fromhex("60006000f3"))  # returns empty data
    chain.mine(5, seconds_between=12)
    assert chain.w3.eth.get_balance(account) == 42
    assert chain.w3.eth.get_code(target) == bytes.fromhex("60006000f3")
    assert chain.w3.eth.block_number == block + 5

    chain.revert(snapshot)
    assert chain.w3.eth.get_balance(account) == 10_000 * 10**18  # anvil's default dev balance
    assert chain.w3.eth.get_code(target) == b""
    assert chain.w3.eth.block_number == block
