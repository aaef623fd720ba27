"""Deploy a real Aave v3.6 market (aave-v3-origin bytecode) with WETH and USDC on anvil.

The tokens are mintable mocks and each asset is priced by its own settable Chainlink-style feed
behind the real AaveOracle, so a test can walk the WETH price down step by step. The call
sequence follows aave-v3-origin's own deployment procedures (src/deployments/contracts).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from eth_abi.abi import encode
from eth_typing import ChecksumAddress, HexAddress, HexStr
from web3 import Web3
from web3.contract.contract import ContractFunction

from .anvil import Anvil
from .artifacts import aave_artifacts, library_order
from .contracts import at, deploy, send
from .multicall3 import install_multicall3

ZERO = ChecksumAddress(HexAddress(HexStr("0x" + "00" * 20)))
PRICE_DECIMALS = 8  # Aave's USD base currency and Chainlink USD feeds both use 8 decimals


@dataclass(frozen=True, slots=True, kw_only=True)
class ReserveParams:
    """Risk and rate parameters of one reserve, in basis points (10000 = 100%)."""

    symbol: str
    decimals: int
    price_usd: Decimal
    ltv_bps: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int  # 10500 = +5% to the liquidator
    reserve_factor_bps: int
    liquidation_protocol_fee_bps: int  # share of the bonus kept by the treasury
    # DefaultReserveInterestRateStrategyV2.InterestRateData
    optimal_usage_bps: int
    base_rate_bps: int
    slope1_bps: int
    slope2_bps: int


# Mainnet-like values (not copies of today's mainnet, which change by governance vote).
WETH_PARAMS = ReserveParams(
    symbol="WETH",
    decimals=18,
    price_usd=Decimal(3000),
    ltv_bps=8050,
    liquidation_threshold_bps=8300,
    liquidation_bonus_bps=10500,
    reserve_factor_bps=1500,
    liquidation_protocol_fee_bps=1000,
    optimal_usage_bps=9000,
    base_rate_bps=0,
    slope1_bps=270,
    slope2_bps=8000,
)
USDC_PARAMS = ReserveParams(
    symbol="USDC",
    decimals=6,
    price_usd=Decimal(1),
    ltv_bps=7500,
    liquidation_threshold_bps=7800,
    liquidation_bonus_bps=10450,
    reserve_factor_bps=1000,
    liquidation_protocol_fee_bps=1000,
    optimal_usage_bps=9200,
    base_rate_bps=0,
    slope1_bps=650,
    slope2_bps=4000,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EModeParams:
    """One e-mode category; WETH is both collateral and borrowable in it (like mainnet's id 1)."""

    category_id: int = 1
    label: str = "ETH correlated"
    ltv_bps: int = 9300
    liquidation_threshold_bps: int = 9500
    liquidation_bonus_bps: int = 10100


@dataclass(frozen=True, slots=True, kw_only=True)
class AaveMarket:
    """Every address of a deployed test market (all EIP-55 checksummed)."""

    admin: ChecksumAddress  # owner of the addresses provider, pool admin, emergency admin
    treasury: ChecksumAddress
    pool_addresses_provider: ChecksumAddress
    acl_manager: ChecksumAddress
    pool: ChecksumAddress  # proxy; use this one
    pool_impl: ChecksumAddress
    pool_configurator: ChecksumAddress  # proxy
    pool_configurator_impl: ChecksumAddress
    aave_oracle: ChecksumAddress
    pool_data_provider: ChecksumAddress  # AaveProtocolDataProvider
    interest_rate_strategy: (
        ChecksumAddress  # DefaultReserveInterestRateStrategyV2, pool-wide since 3.4
    )
    a_token_impl: ChecksumAddress
    variable_debt_token_impl: ChecksumAddress
    libraries: Mapping[
        str, ChecksumAddress
    ]  # logic library name -> address (linked into Pool/Configurator)
    weth: ChecksumAddress
    usdc: ChecksumAddress
    weth_feed: ChecksumAddress  # MockAggregatorV3 pricing WETH in USD
    usdc_feed: ChecksumAddress
    a_weth: ChecksumAddress
    a_usdc: ChecksumAddress
    variable_debt_weth: ChecksumAddress
    variable_debt_usdc: ChecksumAddress
    emode_category_id: int | None
    multicall3: ChecksumAddress


def _init_input(
    a_impl: ChecksumAddress, v_impl: ChecksumAddress, asset: ChecksumAddress, p: ReserveParams
) -> tuple[object, ...]:
    """ConfiguratorInputTypes.InitReserveInput for one reserve."""
    rates = (p.optimal_usage_bps, p.base_rate_bps, p.slope1_bps, p.slope2_bps)
    rate_data = encode(["(uint16,uint32,uint32,uint32)"], [rates])  # InterestRateData, bps
    s = p.symbol
    names = (f"Aave {s}", f"a{s}", f"Variable Debt {s}", f"variableDebt{s}")
    return (a_impl, v_impl, asset, *names, b"", rate_data)


def to_price(usd: Decimal) -> int:
    """USD as Aave/Chainlink 8-decimal fixed point."""
    return int(usd.scaleb(PRICE_DECIMALS).to_integral_exact())


def deploy_aave(
    chain: Anvil,
    *,
    weth: ReserveParams = WETH_PARAMS,
    usdc: ReserveParams = USDC_PARAMS,
    emode: EModeParams | None = EModeParams(),
) -> AaveMarket:
    """Deploy Aave v3.6 with WETH and USDC reserves plus Multicall3 (39 transactions, ~1 s)."""
    w3, art = chain.w3, aave_artifacts()
    admin, treasury = chain.accounts[0], chain.accounts[-1]

    def new(
        name: str, *args: object, libraries: Mapping[str, str] | None = None
    ) -> ChecksumAddress:
        return deploy(w3, art, name, admin, *args, libraries=libraries)

    def tx(call: ContractFunction) -> None:
        send(w3, call, admin)

    # Addresses provider and roles (AaveV3SetupProcedure._setupACL).
    provider = new("PoolAddressesProvider", "Tracker Test Market", admin)
    addresses = at(w3, art, "PoolAddressesProvider", provider).functions
    tx(addresses.setACLAdmin(admin))
    acl = new("ACLManager", provider)
    tx(addresses.setACLManager(acl))
    roles = at(w3, art, "ACLManager", acl).functions
    tx(roles.addPoolAdmin(admin))
    tx(roles.addEmergencyAdmin(admin))

    # Tokens, price feeds and the real AaveOracle (base currency USD: address 0, unit 1e8).
    params = {"WETH": weth, "USDC": usdc}
    names = {"WETH": "Wrapped Ether", "USDC": "USD Coin"}
    tokens = {s: new("MintableERC20", names[s], s, p.decimals) for s, p in params.items()}
    feeds = {
        s: new("MockAggregatorV3", PRICE_DECIMALS, f"{s} / USD", to_price(p.price_usd))
        for s, p in params.items()
    }
    assets, sources = list(tokens.values()), list(feeds.values())
    oracle = new("AaveOracle", provider, assets, sources, ZERO, ZERO, 10**PRICE_DECIMALS)
    tx(addresses.setPriceOracle(oracle))

    # Pool and configurator: link the external logic libraries, then let the provider proxy them.
    libraries: dict[str, ChecksumAddress] = {}
    for lib in library_order(art, ["PoolInstance", "PoolConfiguratorInstance"]):
        libraries[lib] = new(lib, libraries=libraries)
    rate_strategy = new("DefaultReserveInterestRateStrategyV2", provider)
    pool_impl = new("PoolInstance", provider, rate_strategy, libraries=libraries)
    tx(addresses.setPoolImpl(pool_impl))
    configurator_impl = new("PoolConfiguratorInstance", libraries=libraries)
    tx(addresses.setPoolConfiguratorImpl(configurator_impl))
    pool = Web3.to_checksum_address(addresses.getPool().call())
    configurator = Web3.to_checksum_address(addresses.getPoolConfigurator().call())
    data_provider = new("AaveProtocolDataProvider", provider)
    tx(addresses.setPoolDataProvider(data_provider))

    # Reserves: token implementations are proxied per reserve by initReserves.
    a_impl = new("ATokenInstance", pool, ZERO, treasury)
    v_impl = new("VariableDebtTokenInstance", pool, ZERO)
    configure = at(w3, art, "PoolConfiguratorInstance", configurator).functions
    inputs = [_init_input(a_impl, v_impl, tokens[s], p) for s, p in params.items()]
    tx(configure.initReserves(inputs))
    for s, p in params.items():
        asset = tokens[s]
        tx(
            configure.configureReserveAsCollateral(
                asset, p.ltv_bps, p.liquidation_threshold_bps, p.liquidation_bonus_bps
            )
        )
        tx(configure.setReserveBorrowing(asset, True))
        tx(configure.setReserveFactor(asset, p.reserve_factor_bps))
        tx(configure.setLiquidationProtocolFee(asset, p.liquidation_protocol_fee_bps))

    if emode is not None:
        e = emode
        category = (e.ltv_bps, e.liquidation_threshold_bps, e.liquidation_bonus_bps, e.label)
        tx(configure.setEModeCategory(e.category_id, *category))
        tx(configure.setAssetCollateralInEMode(tokens["WETH"], e.category_id, True))
        tx(configure.setAssetBorrowableInEMode(tokens["WETH"], e.category_id, True))

    reserve = at(w3, art, "PoolInstance", pool).functions
    return AaveMarket(
        admin=admin,
        treasury=treasury,
        pool_addresses_provider=provider,
        acl_manager=acl,
        pool=pool,
        pool_impl=pool_impl,
        pool_configurator=configurator,
        pool_configurator_impl=configurator_impl,
        aave_oracle=oracle,
        pool_data_provider=data_provider,
        interest_rate_strategy=rate_strategy,
        a_token_impl=a_impl,
        variable_debt_token_impl=v_impl,
        libraries=MappingProxyType(libraries),
        weth=tokens["WETH"],
        usdc=tokens["USDC"],
        weth_feed=feeds["WETH"],
        usdc_feed=feeds["USDC"],
        a_weth=Web3.to_checksum_address(reserve.getReserveAToken(tokens["WETH"]).call()),
        a_usdc=Web3.to_checksum_address(reserve.getReserveAToken(tokens["USDC"]).call()),
        variable_debt_weth=Web3.to_checksum_address(
            reserve.getReserveVariableDebtToken(tokens["WETH"]).call()
        ),
        variable_debt_usdc=Web3.to_checksum_address(
            reserve.getReserveVariableDebtToken(tokens["USDC"]).call()
        ),
        emode_category_id=None if emode is None else emode.category_id,
        multicall3=install_multicall3(chain),
    )
