"""Pure Aave v3 risk math, and an Aave account mapped onto the tracker's Position/AccountSnapshot.

Formulas (aave-v3-origin GenericLogic.calculateUserAccountData; shared/reference/evm.md §2.5):
    HF = Σ_i c_i·p_i·LT_i / Σ_j d_j·q_j         (collateral-enabled reserves only; LT_i is the
                                                 e-mode category's when the reserve is in it)
    one asset k moves, the others fixed, HF = 1:
        p_k* = (D − W) / (c_k·LT_k − d_k)      D = debt value, W = weighted collateral, both
                                                 without asset k; a fall liquidates when the
                                                 denominator is > 0, a rise when it is < 0
    one volatile collateral, stable debt:  p* = p / HF
    all non-stable prices × s together:  s* = (D_s − W_s) / (W_v − D_v)

How an Aave account maps onto the tables shared with Hyperliquid (`positions`,
`account_snapshots`; venue "aave-v3", dex "", margin mode "cross"):

    Position, one per reserve leg           collateral (aToken) leg: side "long", coin = symbol;
                                            debt leg: side "short", coin = symbol ("WETH-debt"
                                            when the same asset is also supplied)
      size, mark_px, notional_usd           units, Aave oracle price, size × price
      entry_px, unrealized_pnl_usd, roe     None, 0, None (Aave has no entry price)
      leverage                              0: Aave has no leverage setting
      max_leverage                          collateral legs: ⌊1 / (1 − LTV)⌋, the loop limit;
                                            debt legs: 0
      effective_leverage                    account-wide C / (C − D); None when C ≤ D
      margin_used_usd                       collateral legs: their share of D / LTV_avg (the
                                            collateral the debt ties up); debt legs: 0
      maintenance_margin_usd                collateral legs: c·p·(1 − LT); debt legs: 0
      liquidation_px, distance_to_liq_pct   p_k* above (this asset alone moves); distance is
                                            the % move towards it (a rise for a short leg)
      venue_liquidation_px                  None: Aave reports no per-asset price
    AccountSnapshot
      account_value_usd (= cross_…)         C − D (the chain's totals)
      notional_usd                          C
      margin_used_usd                       min(C, D / LTV_avg)
      maintenance_margin_usd                Σ c·p·(1 − LT) = C − W, so account value minus
                                            maintenance is W − D: positive exactly when HF > 1,
                                            the same meaning as on Hyperliquid
      withdrawable_usd                      availableBorrowsBase (what may still be borrowed)
      venue_time                            the block's timestamp
      shock_to_liq_pct                      (s* − 1) × 100 over every non-stable price at once
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from tracker.records import AaveAccount, AaveLiquidationCall, AccountSnapshot, Position
from tracker.risk import perps as risk

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Leg:
    """One asset of an account: units counted as collateral and owed, price, LT (fraction)."""

    collateral: Decimal  # 0 when supplied but not enabled as collateral
    debt: Decimal
    price: Decimal
    liquidation_threshold: Decimal
    stable: bool = False


def weighted_collateral_usd(legs: Sequence[Leg]) -> Decimal:
    """Σ c·p·LT: the collateral value that counts towards the health factor."""
    return sum((g.collateral * g.price * g.liquidation_threshold for g in legs), ZERO)


def debt_usd(legs: Sequence[Leg]) -> Decimal:
    """Σ d·q."""
    return sum((g.debt * g.price for g in legs), ZERO)


def health_factor(legs: Sequence[Leg]) -> Decimal | None:
    """Σ c·p·LT / Σ d·q; None without debt (the chain reports uint256 max)."""
    debt = debt_usd(legs)
    return weighted_collateral_usd(legs) / debt if debt > 0 else None


def liquidation_price(legs: Sequence[Leg], k: int) -> Decimal | None:
    """Price of leg k at which HF = 1, the others fixed; None if no positive price gets there."""
    others = [g for i, g in enumerate(legs) if i != k]
    net = legs[k].collateral * legs[k].liquidation_threshold - legs[k].debt
    if net == 0:
        return None
    price = (debt_usd(others) - weighted_collateral_usd(others)) / net
    return price if price > 0 else None


def falls_to_liquidation(leg: Leg) -> bool:
    """True when a falling price of this asset brings liquidation (net long), else a rise."""
    return leg.collateral * leg.liquidation_threshold - leg.debt > 0


def single_collateral_liquidation_price(price: Decimal, hf: Decimal) -> Decimal:
    """One volatile collateral against stable debt: p / HF."""
    return price / hf


def distance_pct(leg: Leg, liq_px: Decimal | None) -> Decimal | None:
    """% of price the asset must move, towards liquidation, to reach liq_px."""
    direction = ONE if falls_to_liquidation(leg) else -ONE
    return risk.distance_to_liquidation_pct(direction, leg.price, liq_px)


def shock_to_liquidation_pct(legs: Sequence[Leg]) -> Decimal | None:
    """Uniform % move of every non-stable price at which HF = 1 (0 if HF ≤ 1 already).

    HF(s) = (s·W_v + W_s) / (s·D_v + D_s) is monotonic in s, so the root is exact. None when
    no debt, when no uniform move changes HF, or when the root lies beyond a fall to zero or
    a rise of +1,000 % (the same bound as the Hyperliquid shock).
    """
    hf = health_factor(legs)
    if hf is None:
        return None
    if hf <= 1:
        return ZERO
    volatile = [g for g in legs if not g.stable]
    stable = [g for g in legs if g.stable]
    slope = weighted_collateral_usd(volatile) - debt_usd(volatile)
    if slope == 0:
        return None
    factor = (debt_usd(stable) - weighted_collateral_usd(stable)) / slope
    if factor <= 0 or factor - ONE > risk.MAX_SHOCK_UP:
        return None
    return (factor - ONE) * HUNDRED


def large(call: AaveLiquidationCall, threshold_usd: Decimal) -> bool:
    """A liquidation is large when the collateral seized is worth at least threshold_usd."""
    return call.collateral_usd is not None and call.collateral_usd >= threshold_usd


# -- mapping onto Position / AccountSnapshot ---------------------------------------------------


def legs_of(account: AaveAccount) -> list[Leg]:
    """The risk legs of an account, one per reserve it holds."""
    return [
        Leg(
            collateral=r.supplied if r.collateral_enabled else ZERO,
            debt=r.borrowed,
            price=r.price_usd,
            liquidation_threshold=r.liquidation_threshold,
            stable=r.stable,
        )
        for r in account.reserves
    ]


def assess_aave_account(account: AaveAccount, ts: datetime) -> AccountSnapshot:
    """Positions (collateral and debt legs) and account figures of an Aave account (pure)."""
    legs = legs_of(account)
    collateral = account.total_collateral_usd
    equity = collateral - account.total_debt_usd
    margin_used = _margin_used(account)
    effective = collateral / equity if equity > 0 else None
    positions: list[Position] = []
    supplied = {r.symbol for r in account.reserves if r.supplied > 0}
    for k, (r, leg) in enumerate(zip(account.reserves, legs, strict=True)):
        liq = liquidation_price(legs, k)
        value = r.supplied * r.price_usd
        counted = r.collateral_enabled and collateral > 0
        collateral_leg = Position(
            ts=ts,
            venue=account.venue,
            address=account.address,
            dex="",
            coin=r.symbol,
            side="long",
            size=r.supplied,
            entry_px=None,
            mark_px=r.price_usd,
            notional_usd=value,
            unrealized_pnl_usd=ZERO,
            roe=None,
            leverage=0,
            effective_leverage=effective,
            margin_mode="cross",
            margin_used_usd=margin_used * value / collateral if counted else ZERO,
            maintenance_margin_usd=value * (ONE - r.liquidation_threshold) if counted else ZERO,
            liquidation_px=liq,
            venue_liquidation_px=None,
            distance_to_liq_pct=distance_pct(leg, liq),
            max_leverage=_loop_leverage(r.ltv) if r.collateral_enabled else 0,
            cum_funding_since_open_usd=None,
        )
        if r.supplied > 0:
            positions.append(collateral_leg)
        if r.borrowed > 0:
            positions.append(
                replace(
                    collateral_leg,
                    coin=f"{r.symbol}-debt" if r.symbol in supplied else r.symbol,
                    side="short",
                    size=r.borrowed,
                    notional_usd=r.borrowed * r.price_usd,
                    margin_used_usd=ZERO,
                    maintenance_margin_usd=ZERO,
                    max_leverage=0,
                )
            )
    maintenance_total = sum((p.maintenance_margin_usd for p in positions), ZERO)
    return AccountSnapshot(
        ts=ts,
        venue=account.venue,
        address=account.address,
        dex="",
        venue_time=account.block_ts,
        account_value_usd=equity,
        cross_account_value_usd=equity,
        notional_usd=collateral,
        margin_used_usd=margin_used,
        maintenance_margin_usd=maintenance_total,
        withdrawable_usd=account.available_borrows_usd,
        shock_to_liq_pct=shock_to_liquidation_pct(legs),
        positions=tuple(sorted(positions, key=lambda p: p.notional_usd, reverse=True)),
    )


def _margin_used(account: AaveAccount) -> Decimal:
    """Collateral the current debt ties up at the borrow limit: min(C, D / LTV_avg)."""
    if account.total_debt_usd == 0:
        return ZERO
    if account.ltv == 0:
        return account.total_collateral_usd
    return min(account.total_collateral_usd, account.total_debt_usd / account.ltv)


def _loop_leverage(ltv: Decimal) -> int:
    """⌊1 / (1 − LTV)⌋: the leverage reachable by re-supplying borrowed funds forever."""
    if ltv >= 1:
        return 0
    return int((ONE / (ONE - ltv)).to_integral_value(ROUND_FLOOR))
