"""Aave risk math as pure functions: HF, the multi-asset liquidation price (e-mode included),
the uniform shock, and the mapping onto Position/AccountSnapshot."""

from datetime import UTC, datetime
from decimal import Decimal, localcontext

from hypothesis import assume, given
from hypothesis import strategies as st

from tracker.records import AaveAccount, AaveReserveBalance
from tracker.risk import aave as risk_aave
from tracker.risk.aave import Leg

TS = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def test_single_collateral_against_stable_debt_is_price_over_hf() -> None:
    # evm.md §2.5: 100 WETH at $3,000, LT 82.5 %, 200,000 USDC -> HF 1.2375, P_liq $2,424.24.
    legs = [
        Leg(Decimal(100), Decimal(0), Decimal(3000), Decimal("0.825")),
        Leg(Decimal(0), Decimal(200_000), Decimal(1), Decimal("0.78"), stable=True),
    ]
    hf = risk_aave.health_factor(legs)
    assert hf == Decimal("1.2375")
    liq = risk_aave.liquidation_price(legs, 0)
    assert liq == Decimal(200_000) / (100 * Decimal("0.825"))
    assert liq == risk_aave.single_collateral_liquidation_price(Decimal(3000), hf)
    assert risk_aave.falls_to_liquidation(legs[0])
    assert risk_aave.distance_pct(legs[0], liq) == (1 - liq / 3000) * 100
    # The whole volatile basket falling by the same % is the same move here: 1/HF - 1.
    assert risk_aave.shock_to_liquidation_pct(legs) == (1 / hf - 1) * 100


def test_other_collateral_covering_the_debt_means_no_liquidation_price() -> None:
    legs = [
        Leg(Decimal(10), Decimal(0), Decimal(3000), Decimal("0.83")),
        Leg(Decimal(1_000_000), Decimal(0), Decimal(1), Decimal("0.78"), stable=True),
        Leg(Decimal(0), Decimal(500_000), Decimal(1), Decimal("0.78"), stable=True),
    ]
    assert risk_aave.liquidation_price(legs, 0) is None  # USDC alone covers the debt
    assert risk_aave.shock_to_liquidation_pct(legs) is None  # no fall of WETH gets there
    assert risk_aave.health_factor(legs[:2]) is None  # no debt


def test_emode_correlated_loop_only_the_ratio_matters() -> None:
    # wstETH collateral (e-mode LT 0.95) against WETH debt: evm.md's ratio_liq = d q / (c LT).
    wsteth = Leg(Decimal(1000), Decimal(0), Decimal(3600), Decimal("0.95"))
    weth = Leg(Decimal(0), Decimal(1000), Decimal(3000), Decimal("0.95"))
    liq = risk_aave.liquidation_price([wsteth, weth], 0)
    assert liq is not None
    assert liq / weth.price == Decimal(1000) * 3000 / (1000 * Decimal("0.95")) / 3000
    # Both prices falling together never liquidates: HF does not depend on the common factor.
    assert risk_aave.shock_to_liquidation_pct([wsteth, weth]) is None


def test_already_under_water_shock_is_zero() -> None:
    legs = [
        Leg(Decimal(1), Decimal(0), Decimal(2000), Decimal("0.8")),
        Leg(Decimal(0), Decimal(1700), Decimal(1), Decimal(0), stable=True),
    ]
    assert risk_aave.shock_to_liquidation_pct(legs) == 0
    liq = risk_aave.liquidation_price(legs, 0)
    distance = risk_aave.distance_pct(legs[0], liq)
    assert distance is not None and distance < 0  # past it


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100_000), places=2)
amounts = st.decimals(min_value=Decimal(0), max_value=Decimal(1_000_000), places=6)
thresholds = st.integers(min_value=1, max_value=9700).map(lambda bps: Decimal(bps) / 10_000)
legs_strategy = st.lists(
    st.builds(Leg, amounts, amounts, prices, thresholds, st.booleans()), min_size=1, max_size=5
)


@st.composite
def liquidatable(draw: st.DrawFn) -> tuple[list[Leg], int]:
    """Legs where asset k (collateral, maybe also borrowed) has a liquidation price: the rest
    cannot cover the debt alone. LTs are per leg, as e-mode makes them."""
    others = draw(st.lists(st.builds(Leg, amounts, amounts, prices, thresholds, st.booleans())))
    k_leg = Leg(
        draw(amounts.filter(lambda a: a > 0)),
        Decimal(0),
        draw(prices),
        draw(thresholds),
        draw(st.booleans()),
    )
    shortfall = risk_aave.weighted_collateral_usd(others) - risk_aave.debt_usd(others)
    extra = draw(st.decimals(min_value=Decimal(1), max_value=Decimal(10**7), places=2))
    debt = Leg(Decimal(0), max(shortfall, Decimal(0)) + extra, Decimal(1), Decimal(0), True)
    legs = [*others, debt]
    k = draw(st.integers(min_value=0, max_value=len(legs)))
    return [*legs[:k], k_leg, *legs[k:]], k


@given(liquidatable())
def test_multi_asset_liquidation_price_brings_hf_to_exactly_one(
    case: tuple[list[Leg], int],
) -> None:
    legs, k = case
    with localcontext() as ctx:
        ctx.prec = 60
        liq = risk_aave.liquidation_price(legs, k)
        assert liq is not None and liq > 0
        moved = list(legs)
        moved[k] = Leg(legs[k].collateral, legs[k].debt, liq, legs[k].liquidation_threshold)
        hf = risk_aave.health_factor(moved)
        assert hf is not None and abs(hf - 1) < Decimal("1e-40")
        # Any price on the safe side of it keeps HF above 1, the other side goes below.
        above = list(legs)
        above[k] = Leg(legs[k].collateral, legs[k].debt, liq * 2, legs[k].liquidation_threshold)
        above_hf = risk_aave.health_factor(above)
    assert above_hf is not None and above_hf > 1


@given(legs_strategy, st.data())
def test_liquidation_price_of_any_leg_long_or_short(legs: list[Leg], data: st.DataObject) -> None:
    k = data.draw(st.integers(min_value=0, max_value=len(legs) - 1))
    with localcontext() as ctx:
        ctx.prec = 60
        liq = risk_aave.liquidation_price(legs, k)
        assume(liq is not None)
        assert liq is not None

        def hf_at(price: Decimal) -> Decimal | None:
            moved = list(legs)
            g = legs[k]
            moved[k] = Leg(g.collateral, g.debt, price, g.liquidation_threshold, g.stable)
            return risk_aave.health_factor(moved)

        at, safe = (
            hf_at(liq),
            hf_at(liq * 2 if risk_aave.falls_to_liquidation(legs[k]) else liq / 2),
        )
    assert at is not None and abs(at - 1) < Decimal("1e-40")
    assert safe is not None and safe > 1  # a long is safe above, a short (net borrowed) below


@st.composite
def shockable(draw: st.DrawFn) -> tuple[list[Leg], Decimal]:
    """Net-long volatile legs, any stable collateral, and stable debt sized so that scaling the
    volatile prices by `factor` (0 < factor < 1) gives HF = 1."""
    volatile = []
    for c, p, lt, share in draw(
        st.lists(
            st.tuples(
                amounts.filter(lambda a: a > 0),
                prices,
                thresholds,
                st.decimals(min_value=0, max_value=Decimal("0.5"), places=3),
            ),
            min_size=1,
            max_size=4,
        )
    ):
        with localcontext() as ctx:  # exact: every input has few decimal places
            ctx.prec = 60
            volatile.append(Leg(c, c * lt * share, p, lt))  # some of each asset also borrowed
    stable = draw(
        st.lists(
            st.builds(Leg, amounts, st.just(Decimal(0)), prices, thresholds, st.just(True)),
            max_size=3,
        )
    )
    factor = draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("0.99"), places=4))
    with localcontext() as ctx:
        ctx.prec = 60
        slope = risk_aave.weighted_collateral_usd(volatile) - risk_aave.debt_usd(volatile)
        debt = risk_aave.weighted_collateral_usd(stable) + factor * slope
    assume(slope > 0)
    return [*volatile, *stable, Leg(Decimal(0), debt, Decimal(1), Decimal(0), True)], factor


@given(shockable())
def test_uniform_shock_brings_hf_to_exactly_one(case: tuple[list[Leg], Decimal]) -> None:
    legs, factor = case
    with localcontext() as ctx:
        ctx.prec = 60
        hf = risk_aave.health_factor(legs)
        shock = risk_aave.shock_to_liquidation_pct(legs)
        assert hf is not None and hf > 1
        assert shock is not None and abs(shock - (factor - 1) * 100) < Decimal("1e-40")
        moved = [
            Leg(
                g.collateral,
                g.debt,
                g.price if g.stable else g.price * factor,
                g.liquidation_threshold,
                g.stable,
            )
            for g in legs
        ]
        after = risk_aave.health_factor(moved)
    assert after is not None and abs(after - 1) < Decimal("1e-40")


def test_shock_is_none_without_volatile_exposure() -> None:
    stable_only = [
        Leg(Decimal(100), Decimal(0), Decimal(1), Decimal("0.8"), True),
        Leg(Decimal(0), Decimal(50), Decimal(1), Decimal(0), True),
    ]
    assert risk_aave.shock_to_liquidation_pct(stable_only) is None


def _reserve(
    symbol: str,
    supplied: str,
    borrowed: str,
    price: str,
    lt: str,
    *,
    stable: bool = False,
    in_emode: bool = False,
    collateral: bool = True,
) -> AaveReserveBalance:
    return AaveReserveBalance(
        asset="0x" + symbol.lower().encode().hex().ljust(40, "0")[:40],
        symbol=symbol,
        supplied=Decimal(supplied),
        borrowed=Decimal(borrowed),
        collateral_enabled=collateral,
        price_usd=Decimal(price),
        liquidation_threshold=Decimal(lt),
        ltv=Decimal(lt) - Decimal("0.03"),
        in_emode=in_emode,
        stable=stable,
    )


def _account(*reserves: AaveReserveBalance, collateral: str, debt: str, ltv: str) -> AaveAccount:
    return AaveAccount(
        venue="aave-v3",
        chain_id=1,
        pool="0x" + "87" * 20,
        address="0x" + "ab" * 20,
        block_number=100,
        block_ts=TS,
        emode_category=0,
        total_collateral_usd=Decimal(collateral),
        total_debt_usd=Decimal(debt),
        available_borrows_usd=Decimal(0),
        liquidation_threshold=Decimal(0),
        ltv=Decimal(ltv),
        health_factor=None,
        reserves=reserves,
    )


def test_mapping_onto_account_snapshot_and_positions() -> None:
    account = _account(
        _reserve("WETH", "1000", "0", "3000", "0.83"),
        _reserve("WBTC", "10", "0", "60000", "0.78"),
        _reserve("USDC", "0", "2000000", "1", "0.78", stable=True),
        _reserve("DAI", "5000", "0", "1", "0.77", stable=True, collateral=False),
        collateral="3600000",
        debt="2000000",
        ltv="0.80",
    )
    snap = risk_aave.assess_aave_account(account, TS)

    assert (snap.venue, snap.dex, snap.venue_time) == ("aave-v3", "", TS)
    assert snap.account_value_usd == snap.cross_account_value_usd == Decimal(1_600_000)
    assert snap.notional_usd == Decimal(3_600_000)
    assert snap.margin_used_usd == Decimal(2_000_000) / Decimal("0.80")
    weighted = 3_000_000 * Decimal("0.83") + 600_000 * Decimal("0.78")
    assert snap.maintenance_margin_usd == Decimal(3_600_000) - weighted  # C - W
    assert snap.account_value_usd - snap.maintenance_margin_usd == weighted - 2_000_000
    by_coin = {p.coin: p for p in snap.positions}
    assert [p.coin for p in snap.positions] == ["WETH", "USDC", "WBTC", "DAI"]  # by notional
    weth, usdc, dai = by_coin["WETH"], by_coin["USDC"], by_coin["DAI"]
    assert (weth.side, usdc.side, dai.side) == ("long", "short", "long")
    assert weth.effective_leverage == Decimal(3_600_000) / Decimal(1_600_000)
    assert (weth.leverage, weth.max_leverage, usdc.max_leverage) == (0, 5, 0)  # 1/(1-0.80)
    assert weth.margin_used_usd == snap.margin_used_usd * 3_000_000 / 3_600_000
    assert (weth.margin_mode, weth.entry_px, weth.venue_liquidation_px) == ("cross", None, None)
    # WETH alone moves: (2M - 600k * 0.78) / (1000 * 0.83).
    assert weth.liquidation_px == (2_000_000 - 600_000 * Decimal("0.78")) / (1000 * Decimal("0.83"))
    assert dai.liquidation_px is None and dai.maintenance_margin_usd == 0  # not collateral
    assert dai.margin_used_usd == 0 and dai.max_leverage == 0
    # USDC debt: a rise of USDC to HF dollars liquidates.
    hf = weighted / 2_000_000
    assert usdc.liquidation_px == hf
    assert usdc.distance_to_liq_pct == (hf - 1) * 100
    # ETH and BTC fall together: s* = D / W_volatile.
    assert snap.shock_to_liq_pct == (2_000_000 / weighted - 1) * 100


def test_same_asset_supplied_and_borrowed_gets_two_keys() -> None:
    account = _account(
        _reserve("WETH", "100", "300", "3000", "0.95", in_emode=True),
        _reserve("USDC", "1000000", "0", "1", "0.78", stable=True),
        collateral="1300000",
        debt="900000",
        ltv="0.79",
    )
    snap = risk_aave.assess_aave_account(account, TS)
    assert {(p.coin, p.side) for p in snap.positions} == {
        ("WETH", "long"),
        ("WETH-debt", "short"),
        ("USDC", "long"),
    }


def test_no_debt_no_liquidation() -> None:
    account = _account(
        _reserve("WETH", "5", "0", "3000", "0.83"), collateral="15000", debt="0", ltv="0.8"
    )
    snap = risk_aave.assess_aave_account(account, TS)
    [weth] = snap.positions
    assert weth.liquidation_px is None and weth.distance_to_liq_pct is None
    assert snap.shock_to_liq_pct is None and snap.margin_used_usd == 0
