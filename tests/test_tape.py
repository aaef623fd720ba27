"""The tape: the fake market's trades move its accounts, and `risk.tape` estimates the same move.

The fake's `clearinghouseState` after each trade is the truth; the tracker's estimate starts from
the state before and applies the trade as it reads it on the tape. Size must match exactly, entry
and account value to the venue's printed digits, the liquidation price to 1e-6 relative.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from tests.fakes.hyperliquid import FakeHyperliquid
from tests.fakes.tape import Tape, random_trades
from tracker.records import MarketMeta, VenueAccount
from tracker.risk.assess import assess_account, position_tiers
from tracker.risk.tape import TapeFill, apply_fill, remark
from tracker.sources.hyperliquid.client import parse_clearinghouse_state, parse_meta_and_asset_ctxs

A = "0x00000000000000000000000000000000000000a1"
B = "0x00000000000000000000000000000000000000b2"
MAKER = "0x00000000000000000000000000000000000000cc"  # not modelled: not moved
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def market() -> FakeHyperliquid:
    fake = FakeHyperliquid()
    fake.dex("").add_coin("ETH", "3000", max_leverage=25)
    fake.dex("").add_coin("BTC", "90000", max_leverage=40)
    fake.put_model_account(
        A,
        "50000",
        positions=[
            {"coin": "ETH", "size": "10", "entry_px": "2900", "leverage": 10},
            {
                "coin": "BTC",
                "size": "-0.5",
                "entry_px": "95000",
                "leverage": 20,
                "margin_mode": "isolated",
            },
        ],
    )
    fake.put_model_account(B, "20000", positions=[])
    return fake


def state(fake: FakeHyperliquid, user: str) -> VenueAccount:
    return parse_clearinghouse_state(fake.clearinghouse_state(user), user)


def meta(fake: FakeHyperliquid) -> MarketMeta:
    raw = fake.answer({"type": "metaAndAssetCtxs"}).data
    return parse_meta_and_asset_ctxs(orjson.loads(raw) if isinstance(raw, bytes) else raw, "", NOW)


def estimate(fake, before: VenueAccount, trade: dict, user: str) -> VenueAccount:
    book_meta = meta(fake)
    delta = Decimal(trade["sz"]) * (1 if user == trade["users"][0] else -1)
    taker = (trade["side"] == "B") == (delta > 0)
    fill = TapeFill.of(trade["coin"], delta, Decimal(trade["px"]), taker=taker)
    market_ = book_meta.markets[trade["coin"]]
    assert market_.mark_px is not None
    return apply_fill(
        before,
        fill,
        mark=market_.mark_px,
        max_leverage=market_.max_leverage,
        tiers_of=lambda p: position_tiers(p, book_meta),
    ).account


def assert_close(estimated: VenueAccount, truth: VenueAccount, fake) -> None:
    book_meta = meta(fake)
    assert {p.coin: p.size for p in estimated.positions} == {
        p.coin: p.size for p in truth.positions
    }
    assert abs(estimated.account_value_usd - truth.account_value_usd) < Decimal("0.00001")
    ours = {p.coin: p for p in assess_account(estimated, book_meta, NOW).positions}
    theirs = {p.coin: p for p in truth.positions}
    for coin, p in ours.items():
        venue = theirs[coin]
        assert venue.entry_px is not None and p.entry_px is not None
        assert abs(p.entry_px - venue.entry_px) <= Decimal("1e-9") * venue.entry_px
        if venue.liquidation_px is None:
            assert p.liquidation_px is None
        else:
            assert p.liquidation_px is not None
            assert abs(p.liquidation_px / venue.liquidation_px - 1) < Decimal("1e-6"), coin


@pytest.mark.parametrize(
    ("coin", "px", "size", "side", "what"),
    [
        ("ETH", "3010", "5", "B", "increase a cross long as the taker"),
        ("ETH", "2990", "-4", "A", "reduce a cross long as the taker"),
        ("ETH", "3005", "-10", "B", "close a cross long as the maker"),
        ("ETH", "2995", "-16", "A", "flip a cross long"),
        ("BTC", "89000", "-0.25", "A", "increase an isolated short"),
        ("BTC", "91000", "0.2", "B", "reduce an isolated short"),
        ("BTC", "90500", "0.5", "A", "close an isolated short"),
        ("BTC", "90500", "0.8", "B", "flip an isolated short"),
    ],
)
def test_one_trade_moves_the_fake_as_the_tracker_estimates(coin, px, size, side, what):
    fake = market()
    tape = Tape(fake)
    before = state(fake, A)
    qty = Decimal(size)
    buyer, seller = (A, MAKER) if qty > 0 else (MAKER, A)
    trade = tape.trade(coin, px, abs(qty), buyer, seller, side=side)
    truth = state(fake, A)
    assert {p.coin: p.size for p in truth.positions}.get(coin, Decimal(0)) == sum(
        (p.size for p in before.positions if p.coin == coin), Decimal(0)
    ) + qty, what
    assert_close(estimate(fake, before, trade, A), truth, fake)


def test_a_random_tape_keeps_both_sides_equal_to_the_venue_and_strangers_unmoved():
    fake = market()
    tape = Tape(fake)
    trades = random_trades([A, B, MAKER], [("ETH", Decimal(3000)), ("BTC", Decimal(90000))])
    est = {A: state(fake, A), B: state(fake, B)}
    for _ in range(60):
        coin, px, size, buyer, seller, side = next(trades)
        trade = tape.trade(coin, px, size, buyer, seller, side=side)
        for user in (buyer, seller):
            if user in est:
                est[user] = estimate(fake, est[user], trade, user)
        fake.set_mark(coin, px)  # the mark follows the tape: estimates re-mark through it
    book_meta = meta(fake)
    marks = {c: m.mark_px for c, m in book_meta.markets.items() if m.mark_px is not None}
    for user, estimated in est.items():
        at_marks = remark(estimated, marks, lambda p: position_tiers(p, book_meta))
        assert_close(at_marks, state(fake, user), fake)
    assert fake.clearinghouse_state(MAKER)["assetPositions"] == []
    assert tape.trades == 60
