"""Risk math: golden tests against every venue-reported liquidationPx, and properties."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tracker.records import MarginTable, MarginTier
from tracker.risk import perps as risk
from tracker.risk.assess import assess_account
from tracker.sources.hyperliquid.client import parse_clearinghouse_state, parse_meta_and_asset_ctxs

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "hyperliquid"
NOW = datetime(2026, 1, 31, tzinfo=UTC)
ADDRESS = "0x" + "ab" * 20

# Real recordings of the current schema (shared/fixtures/hyperliquid/README.md §3). The 2023 SDK
# cassette uses the old schema without maxLeverage/crossMaintenanceMarginUsed and is left out.
RECORDED = sorted((FIXTURES / "other_repos" / "ccxt").glob("clearinghouseState_*.json"))


def _meta():
    raw = json.loads(
        (FIXTURES / "other_repos/Yassi80_hyperliquid/metaAndAssetCtxs.json").read_text()
    )
    return parse_meta_and_asset_ctxs(raw, "", NOW)


def _recorded_positions():
    for path in RECORDED:
        account = parse_clearinghouse_state(json.loads(path.read_text()), ADDRESS)
        for meta in (None, _meta()):
            snapshot = assess_account(account, meta, NOW)
            for position in snapshot.positions:
                yield pytest.param(position, id=f"{path.stem}-{position.coin}-{bool(meta)}")


def test_recorded_fixtures_have_positions_on_both_sides_of_null():
    positions = [p.values[0] for p in _recorded_positions()]
    assert len(RECORDED) >= 4
    assert any(p.venue_liquidation_px is None for p in positions)
    assert any(p.venue_liquidation_px is not None for p in positions)
    assert {p.margin_mode for p in positions} == {"cross", "isolated"}


@pytest.mark.parametrize("position", list(_recorded_positions()))
def test_liquidation_price_matches_venue(position):
    venue = position.venue_liquidation_px
    if venue is None:
        assert position.liquidation_px is None
    else:
        assert position.liquidation_px is not None
        assert abs(position.liquidation_px / venue - 1) < Decimal("1e-9")


def test_docs_example_matches_to_its_printed_precision():
    # The GitBook example is illustrative: its rawUsd and liquidationPx were not taken at the same
    # instant, so it agrees to 7 significant digits only (reference §3.2).
    raw = json.loads((FIXTURES / "docs_examples/clearinghouseState.json").read_text())
    snapshot = assess_account(parse_clearinghouse_state(raw, ADDRESS), None, NOW)
    (position,) = snapshot.positions
    assert position.venue_liquidation_px == Decimal("2866.26936529")
    assert abs(position.liquidation_px / position.venue_liquidation_px - 1) < Decimal("1e-8")


def test_pnl_and_roe_match_venue_on_recordings():
    for path in RECORDED:
        raw = json.loads(path.read_text())
        account = parse_clearinghouse_state(raw, ADDRESS)
        snapshot = assess_account(account, None, NOW)
        by_coin = {p.coin: p for p in account.positions}
        for position in snapshot.positions:
            venue = by_coin[position.coin]
            # entryPx is displayed rounded, so PnL agrees to about 1e-4 relative (reference §1.2).
            assert abs(position.unrealized_pnl_usd - venue.unrealized_pnl_usd) <= (
                abs(venue.unrealized_pnl_usd) * Decimal("1e-3") + Decimal("0.01")
            )
            assert position.notional_usd == venue.position_value_usd


BTC_TABLE = MarginTable(
    id=56,
    tiers=(
        MarginTier(lower_bound_usd=Decimal(0), max_leverage=40),
        MarginTier(lower_bound_usd=Decimal(150_000_000), max_leverage=20),
    ),
)


def test_tiered_cross_long_worked_example():
    # Reference §3.2: cross long 2000 BTC at 100,000 with account value 30M -> 86,217.95 (tier 1).
    tiers = risk.tiers_from_table(BTC_TABLE)
    assert tiers[1].deduction_usd == Decimal(1_875_000)
    size, mark, equity = Decimal(2000), Decimal(100_000), Decimal(30_000_000)
    liq = risk.liquidation_price(
        size=size, mark_px=mark, equity_usd=equity, other_maintenance_usd=Decimal(0), tiers=tiers
    )
    assert liq is not None
    assert round(liq, 2) == Decimal("86217.95")
    # At that price equity equals maintenance margin exactly.
    equity_at = equity + size * (liq - mark)
    assert abs(equity_at - risk.maintenance_margin(tiers, size * liq)) < Decimal("1e-12")


def test_isolated_liquidation_price_does_not_depend_on_mark():
    tiers = risk.single_tier(10)
    raw = Decimal("211.144417")  # the recorded isolated HYPE short's rawUsd
    prices = set()
    for mark in (Decimal("40"), Decimal("48.145"), Decimal("49.9")):
        size = Decimal(-4)
        prices.add(
            risk.liquidation_price(
                size=size,
                mark_px=mark,
                equity_usd=raw + size * mark,
                other_maintenance_usd=Decimal(0),
                tiers=tiers,
            )
        )
    assert len({round(p, 20) for p in prices}) == 1


# ------------------------------------------------------------------ properties

decimals = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000000"), places=3)
leverages = st.sampled_from([3, 5, 10, 20, 25, 40, 50])
tables = st.sampled_from(
    [
        None,
        BTC_TABLE,
        MarginTable(
            id=52,
            tiers=(
                MarginTier(lower_bound_usd=Decimal(0), max_leverage=10),
                MarginTier(lower_bound_usd=Decimal(20_000_000), max_leverage=5),
            ),
        ),
    ]
)


@given(
    size=decimals,
    mark=decimals,
    lev=leverages,
    cushion=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(5), places=2),
    table=tables,
)
@settings(max_examples=300, deadline=None)
def test_healthy_long_liquidates_below_mark_short_above(size, mark, lev, cushion, table):
    tiers = risk.tiers_for(table.tiers[0].max_leverage if table else lev, table)
    mm = risk.maintenance_margin(tiers, size * mark)
    equity = mm * (1 + cushion)
    long_liq = risk.liquidation_price(
        size=size, mark_px=mark, equity_usd=equity, other_maintenance_usd=Decimal(0), tiers=tiers
    )
    short_liq = risk.liquidation_price(
        size=-size, mark_px=mark, equity_usd=equity, other_maintenance_usd=Decimal(0), tiers=tiers
    )
    assert long_liq is None or long_liq < mark
    assert short_liq is not None and short_liq > mark


@given(size=decimals, entry=decimals, mark=decimals, short=st.booleans())
def test_pnl_sign_follows_side(size, entry, mark, short):
    signed = -size if short else size
    pnl = risk.unrealized_pnl(signed, entry, mark)
    if mark == entry:
        assert pnl == 0
    else:
        assert (pnl > 0) == ((mark > entry) != short)


@given(
    bound=st.sampled_from([Decimal(150_000_000), Decimal(20_000_000)]),
    eps=st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(1), places=6),
)
def test_maintenance_margin_is_continuous_across_tiers(bound, eps):
    table = (
        BTC_TABLE
        if bound == Decimal(150_000_000)
        else MarginTable(
            id=52,
            tiers=(
                MarginTier(lower_bound_usd=Decimal(0), max_leverage=10),
                MarginTier(lower_bound_usd=bound, max_leverage=5),
            ),
        )
    )
    tiers = risk.tiers_from_table(table)
    below = risk.maintenance_margin(tiers, bound - eps)
    above = risk.maintenance_margin(tiers, bound + eps)
    assert abs(above - below) <= eps * 2 * max(t.mmr for t in tiers)


@given(
    equity=st.decimals(min_value=Decimal(1_000_000), max_value=Decimal(60_000_000), places=0),
    short=st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_liquidation_price_is_a_root_and_continuous_in_equity(equity, short):
    tiers = risk.tiers_from_table(BTC_TABLE)
    size = Decimal(-2000) if short else Decimal(2000)
    mark = Decimal(100_000)
    liq = risk.liquidation_price(
        size=size, mark_px=mark, equity_usd=equity, other_maintenance_usd=Decimal(0), tiers=tiers
    )
    assume(liq is not None)
    equity_at = equity + size * (liq - mark)
    assert abs(equity_at - risk.maintenance_margin(tiers, abs(size) * liq)) < Decimal("1e-9")
    nudged = risk.liquidation_price(
        size=size,
        mark_px=mark,
        equity_usd=equity + 1,
        other_maintenance_usd=Decimal(0),
        tiers=tiers,
    )
    assert nudged is not None
    assert abs(nudged - liq) < Decimal("0.01")  # $1 more equity moves it a hair, no jump
    assert (nudged > liq) == short


@given(
    size=decimals,
    mark=decimals,
    lev=leverages,
    cushion=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(3), places=2),
    short=st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_shock_of_a_single_position_equals_its_liquidation_distance(
    size, mark, lev, cushion, short
):
    tiers = risk.single_tier(lev)
    signed = -size if short else size
    equity = risk.maintenance_margin(tiers, size * mark) * (1 + cushion)
    liq = risk.liquidation_price(
        size=signed, mark_px=mark, equity_usd=equity, other_maintenance_usd=Decimal(0), tiers=tiers
    )
    shock = risk.shock_to_liquidation_pct([risk.CrossLeg(signed, mark, tiers)], equity)
    if liq is None:
        assert shock is None or shock > 0  # a long that cannot be liquidated by a fall
    else:
        assert shock is not None
        assert abs(shock - (liq - mark) / mark * 100) < Decimal("1e-9")


def test_shock_of_a_hedged_book_is_smaller_than_one_leg_suggests():
    # Long ETH and long BTC on one cross account: each leg's liquidation price holds the other
    # fixed; the uniform shock moves both and is nearer than either leg's own distance.
    eth, btc = risk.single_tier(25), risk.single_tier(40)
    legs = [
        risk.CrossLeg(Decimal(1000), Decimal(3000), eth),
        risk.CrossLeg(Decimal(30), Decimal(100_000), btc),
    ]
    equity = Decimal(1_500_000)
    mm = sum(risk.maintenance_margin(l.tiers, abs(l.size) * l.mark_px) for l in legs)
    shock = risk.shock_to_liquidation_pct(legs, equity, mm)
    eth_liq = risk.liquidation_price(
        size=legs[0].size,
        mark_px=legs[0].mark_px,
        equity_usd=equity,
        other_maintenance_usd=mm - risk.maintenance_margin(eth, Decimal(3_000_000)),
        tiers=eth,
    )
    assert shock is not None and eth_liq is not None
    eth_distance = (eth_liq - Decimal(3000)) / Decimal(3000) * 100
    assert eth_distance < shock < 0


def test_shock_is_zero_when_already_under_maintenance_and_none_without_cross_legs():
    tiers = risk.single_tier(10)
    leg = risk.CrossLeg(Decimal(10), Decimal(100), tiers)
    assert risk.shock_to_liquidation_pct([leg], Decimal("1")) == 0
    assert risk.shock_to_liquidation_pct([], Decimal("1000")) is None
