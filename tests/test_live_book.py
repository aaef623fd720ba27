"""LiveBook against the exact Decimal path: random books and mark moves, recorded states, queries.

How the float64 book is held to the exact path. Every figure is compared as

    |ours - exact| <= RTOL * |exact| + ATOL * scale,    RTOL = 1e-9, ATOL = 1e-12,

where `scale` is the magnitude of the USD figures the quantity is computed from, carried into its
unit. float64 rounds each operation to 2**-53 ~ 1.1e-16 of its operands; a figure here is a few
dozen operations deep (Decimal -> float conversion of every input, sums over at most four legs,
one division), so its error is below ~50 * 1.1e-16 ~ 6e-15 of `scale` -- more than two orders of
magnitude inside ATOL, and far inside RTOL wherever the result is not much smaller than its
inputs. Where it is (PnL near the entry price, margin available near zero, a dust leg in a large
cross account whose liquidation price is set by the account's equity), a plain relative test
would measure cancellation, not the book: the Decimal path carries 28 digits through it, float64
16. Hence the scales:
- USD of an account: G = |cross value at refresh| + sum(|size| * (mark + mark at refresh)) +
  sum(maintenance) + |venue offset| over the cross legs (the isolated leg's own terms for it);
- a price: mark + G / |size| (a USD error spread over the leg's size);
- a distance in % of mark: 100 * (mark + G / |size|) / mark;
- the shock in %: 100 * G * (1 + |x|) / |f'(x)|, f' the slope of equity minus maintenance in the
  uniform move x at the root (the root's condition number).
None must match exactly except where the exact value sits within that tolerance of the edge that
decides it (a liquidation price of 0, a shock root at -100 % or +1,000 %).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.records import (
    AccountSnapshot,
    MarginTable,
    MarginTier,
    Market,
    MarketMeta,
    VenueAccount,
    VenuePosition,
)
from tracker.risk import perps as risk
from tracker.risk.assess import assess_account
from tracker.risk.assess import position_tiers as tiers_for
from tracker.risk.live.book import AccountKey, BookView, LiveBook
from tracker.risk.live.kernel import NO_PRICE_BELOW
from tracker.risk.live.remark import remark_account
from tracker.sources.hyperliquid.client import parse_clearinghouse_state, parse_meta_and_asset_ctxs

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "hyperliquid"
RECORDED = sorted((FIXTURES / "other_repos" / "ccxt").glob("clearinghouseState_*.json"))
NOW = datetime(2026, 1, 31, tzinfo=UTC)
RTOL, ATOL = Decimal("1e-9"), Decimal("1e-12")
D = Decimal
ZERO = D(0)


def _table(table_id: int, *tiers: tuple[int, int]) -> MarginTable:
    return MarginTable(
        id=table_id,
        tiers=tuple(MarginTier(lower_bound_usd=D(lb), max_leverage=lev) for lb, lev in tiers),
    )


# Mainnet tables (reference §3.1), a three-tier one, and (DOGE) a coin without a table.
TABLES = {
    56: _table(56, (0, 40), (150_000_000, 20)),
    55: _table(55, (0, 25), (100_000_000, 15)),
    54: _table(54, (0, 20), (70_000_000, 10)),
    52: _table(52, (0, 10), (20_000_000, 5)),
    90: _table(90, (0, 10), (3_000_000, 5), (10_000_000, 3)),
    # Not a venue table: leverage rising with notional makes maintenance concave, which the
    # vectorised shock does not assume; the book must send such accounts to the exact function.
    91: _table(91, (0, 5), (1_000_000, 10)),
}
COINS = {  # coin: (mark, table id or None, tier-0 max leverage)
    "BTC": (D(100_000), 56, 40),
    "ETH": (D(3_000), 55, 25),
    "SOL": (D(150), 54, 20),
    "HYPE": (D(40), 52, 10),
    "ARB": (D("0.4"), 90, 10),
    "DOGE": (D("0.12"), None, 10),
    "ODD": (D(7), 91, 5),
}


def _meta(dex: str = "") -> MarketMeta:
    markets = {
        coin: Market(
            venue="hyperliquid",
            dex=dex,
            coin=coin,
            ts=NOW,
            mark_px=mark,
            oracle_px=None,
            mid_px=None,
            funding_rate=None,
            open_interest=None,
            max_leverage=lev,
            margin_table_id=table,
            day_notional_volume_usd=None,
            prev_day_px=None,
        )
        for coin, (mark, table, lev) in COINS.items()
    }
    return MarketMeta(dex=dex, markets=markets, margin_tables=dict(TABLES))


META = _meta()


# ------------------------------------------------------------------ random books


def _log_usd(low: int, high: int) -> st.SearchStrategy[Decimal]:
    """USD amounts spread over orders of magnitude 10**low .. 10**high."""
    return st.builds(
        lambda m, e: m * D(10) ** e,
        st.decimals(min_value=D(1), max_value=D("9.99"), places=2),
        st.integers(min_value=low, max_value=high),
    )


@st.composite
def positions(draw: st.DrawFn, coin: str, dex: str) -> VenuePosition:
    base, table, tier0 = COINS.get(coin.split(":")[-1], (D(25), None, 10))
    mark = base * draw(st.decimals(min_value=D("0.5"), max_value=D(2), places=3))
    bounds = [t.lower_bound_usd for t in TABLES[table].tiers[1:]] if table else []
    notional = draw(
        st.one_of(
            _log_usd(1, 8),
            # Near a tier bound, where liquidation prices and shocks change tier.
            st.tuples(
                st.sampled_from(bounds or [D(1_000_000)]),
                st.decimals(min_value=D("0.4"), max_value=D(3), places=3),
            ).map(lambda pair: pair[0] * pair[1]),
        )
    )
    size = (notional / mark).quantize(D("0.00001"))
    if size == 0:
        size = D("0.00001")
    size = -size if draw(st.booleans()) else size
    max_leverage = draw(st.sampled_from([tier0, tier0, tier0, 50, 3]))
    leverage = draw(st.integers(min_value=1, max_value=max_leverage))
    value = (abs(size) * mark).quantize(D("0.000001"))
    entry = draw(
        st.one_of(
            st.none(),
            st.decimals(min_value=D("0.5"), max_value=D("1.5"), places=4).map(lambda f: mark * f),
        )
    )
    pnl = size * (mark - entry) if entry is not None else draw(_log_usd(0, 6))
    cross = draw(st.booleans())
    raw, used = None, value / leverage
    if not cross:
        margin = value / leverage * draw(st.decimals(min_value=D("0.3"), max_value=D(3), places=2))
        if draw(st.integers(0, 9)) > 0:
            raw = margin - size * mark
        used = margin
    return VenuePosition(
        coin=coin,
        size=size,
        entry_px=entry,
        position_value_usd=value,
        unrealized_pnl_usd=pnl,
        return_on_equity=None,
        liquidation_px=None,
        margin_mode="cross" if cross else "isolated",
        leverage=leverage,
        isolated_raw_usd=raw,
        margin_used_usd=used,
        max_leverage=max_leverage,
        cum_funding_all_time_usd=None,
        cum_funding_since_open_usd=None,
    )


def _account(
    address: str,
    legs: list[VenuePosition],
    cross_value: Decimal,
    *,
    dex: str = "",
    meta: MarketMeta | None = META,
    skew: Decimal = ZERO,
) -> VenueAccount:
    """A venue state around these legs; its maintenance is ours * (1 + skew), to six places."""
    cross_mm = sum(
        (
            risk.maintenance_margin(tiers_for(p, meta), p.position_value_usd)
            for p in legs
            if p.margin_mode == "cross"
        ),
        D(0),
    )
    iso = sum((p.margin_used_usd for p in legs if p.margin_mode == "isolated"), D(0))
    return VenueAccount(
        venue="hyperliquid",
        address=address,
        dex=dex,
        venue_time=NOW,
        account_value_usd=cross_value + iso,
        cross_account_value_usd=cross_value,
        total_notional_usd=sum((p.position_value_usd for p in legs), D(0)),
        total_raw_usd=D(0),
        margin_used_usd=sum((p.margin_used_usd for p in legs), D(0)),
        cross_maintenance_margin_usd=(cross_mm * (1 + skew)).quantize(D("0.000001")),
        withdrawable_usd=D(0),
        positions=tuple(legs),
    )


@st.composite
def accounts(draw: st.DrawFn, address: str, dex: str = "") -> VenueAccount:
    names = list(COINS) if not dex else [f"{dex}:CRCL", f"{dex}:TSLA"]
    coins = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
    legs = [draw(positions(coin, dex)) for coin in coins]
    meta = META if not dex else None
    cross_mm = _account(address, legs, D(0), dex=dex, meta=meta).cross_maintenance_margin_usd
    # From already under maintenance to fifty times over it.
    cushion = draw(st.decimals(min_value=D("0.5"), max_value=D(50), places=3))
    cross_value = cross_mm * cushion if cross_mm else draw(_log_usd(2, 6))
    # Now and then the venue's maintenance differs from ours outright.
    skew = draw(st.sampled_from([D(0), D(0), D(0), D("0.01"), D("-0.01"), D("0.3")]))
    return _account(address, legs, cross_value, dex=dex, meta=meta, skew=skew)


mark_moves = st.dictionaries(
    st.sampled_from(list(COINS)),
    st.decimals(min_value=D("0.3"), max_value=D(3), places=4),
)


@given(data=st.data(), moves=mark_moves)
@settings(max_examples=100, deadline=None)
def test_remarking_keeps_the_venue_bookkeeping_identities(data, moves):
    # The model the book follows keeps what a mark cannot change: cash (accountValue minus
    # sum(size * mark)), isolated rawUsd (marginUsed - size * mark), cross marginUsed per unit
    # of notional, and the venue's maintenance minus ours.
    account = data.draw(accounts("0x" + "aa" * 20))
    marks = {coin: COINS[coin][0] * factor for coin, factor in moves.items()}
    now = remark_account(account, marks, META)

    def cash(a: VenueAccount) -> Decimal:
        return a.account_value_usd - sum((p.size * _mark(p) for p in a.positions), D(0))

    def offset(a: VenueAccount) -> Decimal:
        ours = (
            risk.maintenance_margin(tiers_for(p, META), p.position_value_usd)
            for p in a.positions
            if p.margin_mode == "cross"
        )
        return a.cross_maintenance_margin_usd - sum(ours, D(0))

    assert abs(cash(now) - cash(account)) < D("1e-12") * (1 + now.total_notional_usd)
    assert abs(offset(now) - offset(account)) < D("1e-12") * (1 + now.total_notional_usd)
    assert now.total_notional_usd == sum((p.position_value_usd for p in now.positions), D(0))
    for before, after in zip(account.positions, now.positions, strict=True):
        if after.coin not in marks:
            assert after == before
            continue
        assert after.position_value_usd == abs(after.size) * marks[after.coin]
        if after.margin_mode == "cross":
            ratio = before.margin_used_usd / before.position_value_usd
            assert abs(after.margin_used_usd / after.position_value_usd - ratio) < D("1e-20")
        elif after.isolated_raw_usd is not None:
            raw_before = before.margin_used_usd - before.size * _mark(before)
            raw_after = after.margin_used_usd - after.size * _mark(after)
            assert abs(raw_after - raw_before) < D("1e-12") * (1 + after.position_value_usd)


# ------------------------------------------------------------------ agreement


def close(ours: Decimal, exact: Decimal, scale: Decimal) -> bool:
    return abs(ours - exact) <= RTOL * abs(exact) + ATOL * scale


def _mark(p: VenuePosition) -> Decimal:
    return p.position_value_usd / abs(p.size)


def _gross(refreshed: VenueAccount, now: VenueAccount, meta: MarketMeta | None) -> Decimal:
    """G of the module docstring for the cross legs."""
    before = {p.coin: p for p in refreshed.positions}
    cross = [p for p in now.positions if p.margin_mode == "cross"]
    mm = [risk.maintenance_margin(tiers_for(p, meta), p.position_value_usd) for p in cross]
    offset = now.cross_maintenance_margin_usd - sum(mm, D(0))
    return (
        abs(refreshed.cross_account_value_usd)
        + sum((abs(p.size) * (_mark(p) + _mark(before[p.coin])) for p in cross), D(0))
        + sum(mm, D(0))
        + abs(offset)
    )


def _iso_gross(refreshed: VenuePosition, p: VenuePosition, tiers: risk.Tiers) -> Decimal:
    raw = refreshed.isolated_raw_usd
    equity = raw + refreshed.size * _mark(refreshed) if raw is not None else p.margin_used_usd
    return (
        abs(equity)
        + abs(p.size) * (_mark(p) + _mark(refreshed))
        + risk.maintenance_margin(tiers, p.position_value_usd)
    )


def _shock_scale(
    now: VenueAccount, meta: MarketMeta | None, shock: Decimal, gross: Decimal
) -> Decimal:
    x = shock / 100
    legs = [
        (p.size, _mark(p), tiers_for(p, meta)) for p in now.positions if p.margin_mode == "cross"
    ]
    exposure = sum((s * m for s, m, _ in legs), D(0))
    slopes = []
    for strict in (False, True):
        rate = D(0)
        for s, m, tiers in legs:
            n = abs(s) * m * (1 + x)
            index = sum(
                1
                for t in tiers[1:]
                if (n > t.lower_bound_usd if strict else n >= t.lower_bound_usd)
            )
            rate += abs(s) * m * tiers[index].mmr
        slopes.append(abs(exposure - rate))
    slope = min(slopes)
    if slope == 0:
        return D("Infinity")
    return 100 * gross * (1 + abs(x)) / slope


def assert_agrees(
    ours: AccountSnapshot,
    refreshed: VenueAccount,
    now: VenueAccount,
    meta: MarketMeta | None,
) -> None:
    """Every figure of one account against assess_account at the same marks."""
    exact = assess_account(now, meta, NOW)
    gross = _gross(refreshed, now, meta)
    where = f"{now.address} dex={now.dex!r}"
    assert close(ours.cross_account_value_usd, exact.cross_account_value_usd, gross), where
    assert close(ours.account_value_usd, now.account_value_usd, gross + now.total_notional_usd)
    assert close(ours.notional_usd, now.total_notional_usd, now.total_notional_usd)
    assert close(ours.maintenance_margin_usd, exact.maintenance_margin_usd, gross), where
    _assert_shock(ours.shock_to_liq_pct, exact.shock_to_liq_pct, now, meta, gross)
    assert {p.coin for p in ours.positions} == {p.coin for p in exact.positions}
    before = {p.coin: p for p in refreshed.positions}
    venue = {p.coin: p for p in now.positions}
    by_coin = {p.coin: p for p in exact.positions}
    for p in ours.positions:
        e, v = by_coin[p.coin], venue[p.coin]
        tiers = tiers_for(v, meta)
        g = gross if p.margin_mode == "cross" else _iso_gross(before[p.coin], v, tiers)
        what = f"{where} {p.coin} {p.margin_mode}"
        assert close(p.mark_px, e.mark_px, e.mark_px), what
        assert close(p.notional_usd, e.notional_usd, e.notional_usd), what
        assert close(p.maintenance_margin_usd, e.maintenance_margin_usd, e.notional_usd), what
        assert close(p.margin_used_usd, v.margin_used_usd, e.notional_usd + g), what
        base = (
            p.size * (e.mark_px + abs(e.entry_px))
            if e.entry_px is not None
            else abs(v.unrealized_pnl_usd) + p.size * (e.mark_px + _mark(before[p.coin]))
        )
        assert close(p.unrealized_pnl_usd, e.unrealized_pnl_usd, base), what
        price_scale = e.mark_px + g / p.size
        if e.liquidation_px is None or p.liquidation_px is None:
            # Only where the formula's price is 0 within the tolerance may None differ, or under
            # the share of the mark the kernel counts as none (NO_PRICE_BELOW).
            other = e.liquidation_px if p.liquidation_px is None else p.liquidation_px
            assert (
                other is None
                or close(other, D(0), price_scale)
                or other < D(NO_PRICE_BELOW) * e.mark_px
            ), (what, other)
        else:
            assert close(p.liquidation_px, e.liquidation_px, price_scale), what
            assert e.distance_to_liq_pct is not None and p.distance_to_liq_pct is not None
            assert close(
                p.distance_to_liq_pct, e.distance_to_liq_pct, 100 * price_scale / e.mark_px
            ), what


def _assert_shock(
    ours: Decimal | None,
    exact: Decimal | None,
    now: VenueAccount,
    meta: MarketMeta | None,
    gross: Decimal,
) -> None:
    if ours is None and exact is None:
        return
    ends = (D(-100), D(1000))
    if ours is None or exact is None:
        value = exact if ours is None else ours
        assert value is not None
        scale = _shock_scale(now, meta, value, gross)
        assert any(close(value, end, scale) for end in ends), (ours, exact)
        return
    scale = max(_shock_scale(now, meta, exact, gross), _shock_scale(now, meta, ours, gross))
    assert close(ours, exact, scale), (ours, exact, scale)


@given(
    data=st.data(),
    count=st.integers(min_value=1, max_value=6),
    steps=st.lists(mark_moves, min_size=1, max_size=3),
    refresh_at=st.integers(min_value=0, max_value=3),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_books_agree_with_the_exact_path_after_mark_moves(data, count, steps, refresh_at):
    addresses = [f"0x{i:040x}" for i in range(1, count + 1)]
    book = LiveBook()
    refreshed = {a: data.draw(accounts(a)) for a in addresses}
    for account in refreshed.values():
        book.upsert(account, META)
    marks: dict[str, Decimal] = {}
    for step, moves in enumerate(steps):
        if step == refresh_at:
            # A REST refresh mid-stream: the venue state at the marks so far becomes the base.
            for a, account in refreshed.items():
                refreshed[a] = remark_account(account, marks, META)
                book.upsert(refreshed[a], META)
            marks = {}
        mids = {coin: COINS[coin][0] * factor for coin, factor in moves.items()}
        update = book.apply_marks(mids)
        assert update.coins == len(
            {c for c in mids if any(c in _coins(r) for r in refreshed.values())}
        )
        marks.update(mids)
    for a, account in refreshed.items():
        (ours,) = book.snapshots(a)
        assert_agrees(ours, account, remark_account(account, marks, META), META)


def _coins(account: VenueAccount) -> set[str]:
    return {p.coin for p in account.positions}


@given(
    data=st.data(),
    moves=st.dictionaries(
        st.sampled_from(["flx:CRCL", "flx:TSLA"]),
        st.decimals(min_value=D("0.3"), max_value=D(3), places=4),
        min_size=1,
    ),
    main=mark_moves,
)
@settings(max_examples=50, deadline=None)
def test_builder_dex_marks_move_only_that_dex(data, moves, main):
    book = LiveBook()
    on_main = data.draw(accounts("0x" + "aa" * 20))
    on_flx = data.draw(accounts("0x" + "aa" * 20, dex="flx"))
    book.upsert(on_main, META)
    book.upsert(on_flx, None)
    mids = {coin: D(25) * f for coin, f in moves.items()}
    book.apply_marks(mids, dex="flx")
    book.apply_marks({f"flx:{c}": D(1) for c in main}, dex="")  # names of another dex: ignored
    main_mids = {coin: COINS[coin][0] * f for coin, f in main.items()}
    book.apply_marks(main_mids, dex="")
    ours = {s.dex: s for s in book.snapshots(on_main.address)}
    assert_agrees(ours[""], on_main, remark_account(on_main, main_mids, META), META)
    assert_agrees(ours["flx"], on_flx, remark_account(on_flx, mids, None), None)


# ------------------------------------------------------------------ recorded states


def _recorded():
    meta = parse_meta_and_asset_ctxs(
        json.loads(
            (FIXTURES / "other_repos/Yassi80_hyperliquid/metaAndAssetCtxs.json").read_text()
        ),
        "",
        NOW,
    )
    for path in RECORDED:
        account = parse_clearinghouse_state(json.loads(path.read_text()), "0x" + "ab" * 20)
        for m in (None, meta):
            yield pytest.param(account, m, id=f"{path.stem}-{'meta' if m else 'no-meta'}")


@pytest.mark.parametrize(("account", "meta"), list(_recorded()))
def test_recorded_states_at_their_own_marks_reproduce_the_venue_liquidation_px(account, meta):
    book = LiveBook()
    book.upsert(account, meta)
    book.apply_marks({p.coin: _mark(p) for p in account.positions})
    ours = {p.coin: p for p in book.positions()}
    assert len(ours) == len(account.positions)
    for p in account.positions:
        mine = ours[p.coin].liquidation_px
        if p.liquidation_px is None:
            assert mine is None, p.coin
        else:
            assert mine is not None
            assert abs(mine / p.liquidation_px - 1) < RTOL, (p.coin, mine, p.liquidation_px)
    (snapshot,) = book.snapshots()
    assert_agrees(snapshot, account, account, meta)


def test_recorded_fixtures_cover_null_and_non_null_liquidation_prices():
    positions = [p for param in _recorded() for p in param.values[0].positions]
    assert len(RECORDED) >= 4
    assert any(p.liquidation_px is None for p in positions)
    assert any(p.liquidation_px is not None for p in positions)


# ------------------------------------------------------------------ hand-built books


def _leg(
    coin: str,
    size: str,
    mark: str,
    *,
    cross: bool = True,
    max_leverage: int | None = None,
    raw: str | None = None,
) -> VenuePosition:
    signed, px = D(size), D(mark)
    value = abs(signed) * px
    lev = max_leverage or COINS[coin][2]
    return VenuePosition(
        coin=coin,
        size=signed,
        entry_px=px,
        position_value_usd=value,
        unrealized_pnl_usd=D(0),
        return_on_equity=None,
        liquidation_px=None,
        margin_mode="cross" if cross else "isolated",
        leverage=lev,
        isolated_raw_usd=None if raw is None else D(raw),
        margin_used_usd=value / lev if raw is None else D(raw) + signed * px,
        max_leverage=lev,
        cum_funding_all_time_usd=None,
        cum_funding_since_open_usd=None,
    )


def _only(book: LiveBook, address: str) -> AccountSnapshot:
    (snapshot,) = book.snapshots(address)
    return snapshot


def test_a_leg_on_a_tier_bound_falls_in_the_tier_below_and_rises_in_the_tier_above():
    # ARB long exactly at its 3M bound (10x below, 5x above) hedged by a DOGE short: equity minus
    # maintenance rises into a fall (slope 0.12M per unit move) and falls into a rise (-0.03M),
    # so both a fall and a rise reach maintenance; the fall is nearer.
    legs = [_leg("ARB", "7500000", "0.4"), _leg("DOGE", "-21666666.66667", "0.12")]
    account = _account("0x" + "01" * 20, legs, D(0))
    account = replace(
        account, cross_account_value_usd=account.cross_maintenance_margin_usd + 10_000
    )
    book = LiveBook()
    book.upsert(account, META)
    update = book.apply_marks({"ARB": D("0.4"), "DOGE": D("0.12")})
    assert update.shock_fallbacks == 0  # both roots come from the vectorised first segments
    exact = assess_account(account, META, NOW).shock_to_liq_pct
    assert exact is not None and D(-9) < exact < D(-8)
    assert_agrees(_only(book, account.address), account, account, META)


def test_only_shocks_past_a_tier_bound_go_to_the_exact_function():
    # Short HYPE 10M with 15M of equity: the rise that reaches maintenance takes it past 20M, into
    # 5x. A 1M BTC long stays in its tier. An ODD position has a concave table: exact path too.
    past = _account("0x" + "02" * 20, [_leg("HYPE", "-250000", "40")], D(15_000_000))
    plain = _account("0x" + "03" * 20, [_leg("BTC", "10", "100000")], D(100_000))
    odd = _account("0x" + "04" * 20, [_leg("ODD", "100000", "7")], D(500_000))
    book = LiveBook()
    for account in (past, plain, odd):
        book.upsert(account, META)
    update = book.apply_marks({"HYPE": D(40), "BTC": D(100_000), "ODD": D(7)})
    assert update.shock_fallbacks == 2
    shock = assess_account(past, META, NOW).shock_to_liq_pct
    assert shock is not None and shock > 100 * (D(20) / D(10) - 1)  # beyond the bound
    for account in (past, plain, odd):
        assert_agrees(_only(book, account.address), account, account, META)


@pytest.mark.parametrize(
    ("size", "equity", "expected"),
    [
        ("-1000000", "1267740", D("999")),  # a short reaching maintenance just inside +1,000 %
        ("-1000000", "1270260", None),  # just beyond: none
        ("1000000", "122886", D("-99.9")),  # a long reaching it just before every mark is 0
    ],
)
def test_roots_near_the_ends_of_the_search_count_the_venue_offset(size, equity, expected):
    # DOGE 10x (mmr 5 %); the venue's maintenance is 3,000 over ours, which moves each root.
    leg = _leg("DOGE", size, "0.12")
    account = _account("0x" + "05" * 20, [leg], D(equity))
    account = replace(
        account, cross_maintenance_margin_usd=account.cross_maintenance_margin_usd + 3_000
    )
    assert assess_account(account, META, NOW).shock_to_liq_pct == expected
    book = _book_of(account)
    book.apply_marks({"DOGE": D("0.12")})
    assert_agrees(_only(book, account.address), account, account, META)
    shock = _only(book, account.address).shock_to_liq_pct
    assert (shock is None) == (expected is None)


def _book_of(*accounts: VenueAccount) -> LiveBook:
    book = LiveBook()
    for account in accounts:
        book.upsert(account, META)
    return book


def test_a_mark_update_recomputes_only_the_accounts_holding_its_coins():
    eth = [
        _account(f"0x{i:040x}", [_leg("ETH", "100", "3000"), _leg("SOL", "-50", "150")], D(50_000))
        for i in range(1, 9)
    ]
    btc = _account("0x" + "0b" * 20, [_leg("BTC", "2", "100000")], D(20_000))
    iso = _account(
        "0x" + "0c" * 20, [_leg("BTC", "-1", "100000", cross=False, raw="104000")], D(1_000)
    )
    book = _book_of(*eth, btc, iso)
    book.apply_marks({"ETH": D(3000), "SOL": D(150), "BTC": D(100_000)}, ts=NOW)
    later = datetime(2026, 2, 1, tzinfo=UTC)
    update = book.apply_marks({"BTC": D(90_000), "XYZ": D(1)}, ts=later)
    assert (update.coins, update.accounts, update.positions) == (1, 2, 2)
    assert update.elapsed_ns > 0
    full = book.apply_marks({"ETH": D(2900), "SOL": D(160)}, ts=later)
    assert (full.accounts, full.positions) == (10, 18)  # most rows moved: one pass over all
    assert book.apply_marks({"XYZ": D(1)}).positions == 0
    moved = {"BTC": D(90_000), "ETH": D(2900), "SOL": D(160)}
    for account in (*eth, btc, iso):
        ours = _only(book, account.address)
        assert ours.ts == later
        assert_agrees(ours, account, remark_account(account, moved, META), META)
    # marks repeated: nothing to recompute, the accounts holding them are as of the message
    latest = datetime(2026, 2, 2, tzinfo=UTC)
    same = book.apply_marks({"BTC": D(90_000), "ETH": D(2900)}, ts=latest)
    assert (same.coins, same.accounts, same.positions) == (2, 0, 0)
    assert _only(book, btc.address).ts == latest
    one = book.apply_marks({"BTC": D(91_000), "ETH": D(2900)}, ts=latest)
    assert (one.coins, one.accounts, one.positions) == (2, 2, 2)  # the BTC legs only
    moved["BTC"] = D(91_000)
    for account in (*eth, btc, iso):
        assert_agrees(
            _only(book, account.address), account, remark_account(account, moved, META), META
        )


def test_a_bad_mid_keeps_the_last_good_mark():
    account = _account("0x" + "0d" * 20, [_leg("BTC", "2", "100000")], D(20_000))
    book = _book_of(account)
    for bad in (D(0), D(-5), float("nan"), float("inf")):
        assert book.apply_marks({"BTC": bad}).coins == 0
    (position,) = book.positions()
    assert position.mark_px == D(100_000)


def test_upsert_replaces_an_account_and_remove_forgets_it():
    address = "0x" + "0e" * 20
    three = _account(
        address,
        [_leg("BTC", "1", "100000"), _leg("ETH", "-10", "3000"), _leg("SOL", "5", "150")],
        D(40_000),
    )
    one = _account(address, [_leg("HYPE", "-100", "40", cross=False, raw="4300")], D(1_000))
    other = _account("0x" + "0f" * 20, [_leg("ETH", "1", "3000")], D(1_000))
    book = _book_of(three, other)
    for account in (one, three, one):
        book.upsert(account, META)
        book.apply_marks({"ETH": D(3100), "HYPE": D(41)})
        moved = {"ETH": D(3100), "HYPE": D(41)}
        assert_agrees(_only(book, address), account, remark_account(account, moved, META), META)
        assert len(book.positions(address.upper())) == len(account.positions)
    assert book.stats().positions == 2
    assert book.remove(address.upper())
    assert not book.remove(address)
    assert book.account_keys() == [AccountKey(other.address, "")]
    assert book.positions(address) == []
    book.upsert(three, META)  # takes the freed slot
    assert len(book.account_keys()) == 2
    assert_agrees(_only(book, address), three, three, META)


def test_tombstones_are_compacted_and_results_survive():
    shapes = [
        [_leg("BTC", "1", "100000"), _leg("ETH", "-10", "3000"), _leg("SOL", "5", "150")],
        [_leg("HYPE", "-100", "40", cross=False, raw="4300")],
    ]
    accounts_now = {}
    book = LiveBook(compact_min_dead=64)
    for step in range(400):
        address = f"0x{step % 7 + 1:040x}"
        accounts_now[address] = _account(address, shapes[step % 2], D(30_000 + step))
        book.upsert(accounts_now[address], META)
        if step % 50 == 0:
            book.remove(f"0x{(step + 3) % 7 + 1:040x}")
            accounts_now.pop(f"0x{(step + 3) % 7 + 1:040x}", None)
    stats = book.stats()
    assert stats.dead_rows < 64  # compacted along the way
    assert stats.positions == sum(len(a.positions) for a in accounts_now.values())
    book.compact()
    assert book.stats().dead_rows == 0
    moved = {"BTC": D(97_000), "ETH": D(3100), "HYPE": D(44)}
    book.apply_marks(moved)
    for address, account in accounts_now.items():
        assert_agrees(_only(book, address), account, remark_account(account, moved, META), META)


def test_near_scan_keys_stay_with_a_crossing_and_change_with_its_level_or_its_account():
    # BTC long 10 at 100,000 on 100,000 of equity: liquidation ~9 % below the mark, and the
    # account ~9 % from maintenance; at 95,000 both are under 5 %
    levels = [50.0, 5.0]
    first = _account("0x" + "05" * 20, [_leg("BTC", "10", "100000")], D(100_000))
    book = _book_of(first)
    scan = book.near_scan(levels)
    assert scan.level.tolist() == [50.0, 50.0]  # the position, then the account
    assert book.addresses(scan.slots) == [first.address] * 2
    assert book.near_scan(levels).keys.tolist() == scan.keys.tolist()
    book.apply_marks({"BTC": D(99_000)})  # nearer, under the same level: the same keys
    assert book.near_scan(levels).keys.tolist() == scan.keys.tolist()
    book.apply_marks({"BTC": D(95_000)})
    tighter = book.near_scan(levels)
    assert tighter.level.tolist() == [5.0, 5.0]
    assert set(tighter.keys.tolist()).isdisjoint(scan.keys.tolist())
    # another account takes the slot the first one left: keys of its own
    assert book.remove(first.address)
    second = replace(first, address="0x" + "06" * 20)
    book.upsert(second, META)
    book.apply_marks({"BTC": D(95_000)})
    again = book.near_scan(levels)
    assert again.slots.tolist() == tighter.slots.tolist()  # the same slot
    assert book.addresses(again.slots) == [second.address] * 2
    assert set(again.keys.tolist()).isdisjoint(tighter.keys.tolist())
    assert book.near_scan([1.0]).keys.tolist() == []


def test_an_empty_book_answers_empty():
    book = LiveBook()
    update = book.apply_marks({"BTC": D(1)})
    assert (update.coins, update.positions, update.accounts) == (0, 0, 0)
    assert book.positions() == []
    assert book.below([5]) == []
    assert book.accounts_below([5]) == []
    assert book.risk_order() == []


# ------------------------------------------------------------------ queries


@given(
    data=st.data(),
    count=st.integers(min_value=1, max_value=8),
    moves=mark_moves,
    levels=st.lists(
        st.decimals(min_value=D("0.5"), max_value=D(60), places=1), min_size=1, max_size=3
    ),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_queries_match_the_exact_figures(data, count, moves, levels):
    refreshed = [data.draw(accounts(f"0x{i:040x}")) for i in range(1, count + 1)]
    refreshed.append(_account("0x" + "ee" * 20, [], D(10)))  # watched, flat
    book = _book_of(*refreshed)
    mids = {coin: COINS[coin][0] * factor for coin, factor in moves.items()}
    book.apply_marks(mids)
    exact = [assess_account(remark_account(a, mids, META), META, NOW) for a in refreshed]
    widest = max(levels)
    margin = D("1e-6")  # figures this close to a level may fall either side of it

    def level_of(value: Decimal) -> float:
        return float(min(lv for lv in levels if value < lv))

    near = book.below([float(lv) for lv in levels])
    got = {(n.address, n.coin): n for n in near}
    assert [n.distance_pct for n in near] == sorted(n.distance_pct for n in near)
    for snapshot in exact:
        for p in snapshot.positions:
            d = p.distance_to_liq_pct
            if d is None or any(abs(d - lv) < margin for lv in levels):
                assert d is not None or (snapshot.address, p.coin) not in got
                continue
            hit = got.get((snapshot.address, p.coin))
            assert (hit is not None) == (d < widest), (p.coin, d)
            if hit is not None:
                assert hit.level_pct == level_of(d)
                assert abs(D(hit.distance_pct) - d) < margin
    accounts_near = {n.address: n for n in book.accounts_below([float(lv) for lv in levels])}
    for snapshot in exact:
        shock = snapshot.shock_to_liq_pct
        if shock is None or any(abs(abs(shock) - lv) < margin for lv in levels):
            continue
        hit = accounts_near.get(snapshot.address)
        assert (hit is not None) == (abs(shock) < widest)
        if hit is not None:
            assert hit.level_pct == level_of(abs(shock))

    scan = book.near_scan([float(lv) for lv in levels])  # the same, as arrays
    assert len(set(scan.keys.tolist())) == len(scan.keys)
    found = sorted(zip(book.addresses(scan.slots), scan.level.tolist(), strict=True))
    named = [(n.address, n.level_pct) for n in [*near, *accounts_near.values()]]
    assert found == sorted(named)

    def closeness(s: AccountSnapshot) -> Decimal:
        values = [abs(s.shock_to_liq_pct)] if s.shock_to_liq_pct is not None else []
        values += [p.distance_to_liq_pct for p in s.positions if p.distance_to_liq_pct is not None]
        return min(values, default=D("Infinity"))

    order = book.risk_order()
    assert sorted(order) == sorted(book.account_keys())
    assert order[-1] == AccountKey("0x" + "ee" * 20, "")
    distinct = list(dict.fromkeys(key.address for key in order))
    assert len(distinct) >= 2
    assert book.riskiest_addresses(1) == distinct[:1]
    assert book.riskiest_addresses(len(distinct) + 5) == distinct
    rank = {key.address: i for i, key in enumerate(order)}
    for a in exact:
        for b in exact:
            ca, cb = closeness(a), closeness(b)
            if ca.is_finite() and cb.is_finite() and abs(ca - cb) < margin:
                continue
            notional_a = sum((p.notional_usd for p in a.positions), D(0))
            notional_b = sum((p.notional_usd for p in b.positions), D(0))
            if (ca, -notional_a) < (cb, -notional_b):
                assert rank[a.address] < rank[b.address], (ca, cb)


def test_changed_accounts_names_only_those_whose_figures_moved():
    a = _account("0x" + "1a" * 20, [_leg("BTC", "2", "100000")], D(20_000))
    b = _account("0x" + "1b" * 20, [_leg("ETH", "-10", "3000"), _leg("SOL", "5", "150")], D(9_000))
    book = _book_of(a, b)
    first, look = book.changed_accounts(None)
    assert first == sorted([a.address, b.address])  # the first look: everything held
    book.apply_marks({"BTC": D(100_000), "ETH": D(3000), "SOL": D(150)})  # the same marks again
    assert book.changed_accounts(look)[0] == []
    book.apply_marks({"BTC": D(100_000), "ETH": D(2950), "SOL": D(150)})
    moved, look = book.changed_accounts(look)
    assert moved == [b.address]
    book.upsert(a, META)  # a refresh: named even when its figures end up the same
    moved, look = book.changed_accounts(look)
    assert moved == [a.address]
    book.remove(b.address)
    c = _account("0x" + "1c" * 20, [_leg("ETH", "-10", "3000"), _leg("SOL", "5", "150")], D(9_000))
    book.upsert(c, META)  # takes b's slot and rows
    assert book.changed_accounts(look)[0] == [c.address]
    assert BookView(book).changed_accounts(None)[0] == sorted([a.address, c.address])
