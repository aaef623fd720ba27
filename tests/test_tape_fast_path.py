"""The tape's fast path (`LiveBook.move`: trades applied to the float columns, the Decimal records
caught up when read) against the exact path (`apply_fill` + `upsert` per trade) and the venue.

A random tape among cross and isolated accounts (records caught up by replaying the fills, or
rebuilt from the columns when a book keeps few fills per account), with increases, reductions,
exact closes, flips and opens on coins an account did not hold, and marks moving between trades.
After every few trades both books are settled and compared twice: first from the columns alone
(what the live pages and the near-liquidation scan read, nothing materialized), then from the
records (what the store and a refresh read). Sizes must be equal exactly; liquidation prices,
distances, equity and shock to float precision. At the end, both equal the fake venue's own
states.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from tests.fakes.hyperliquid import FakeHyperliquid
from tests.fakes.tape import Tape
from tests.test_live_tape import read_at
from tracker.app.live.tape import TapeBook
from tracker.records import MarketMeta
from tracker.risk.assess import position_tiers
from tracker.risk.live.book import LiveBook
from tracker.risk.tape import remark
from tracker.sources.hyperliquid.client import parse_clearinghouse_state, parse_meta_and_asset_ctxs

COINS = {"ETH": Decimal(3000), "BTC": Decimal(90000), "SOL": Decimal(150)}
USERS = [f"0x{i:040x}" for i in range(1, 7)]
MAKER = "0x00000000000000000000000000000000000000cc"  # on no list: never moved
T0 = datetime(2026, 12, 1, tzinfo=UTC)


class ExactBook(LiveBook):
    """A book that never takes the fast path: every trade through apply_fill + upsert."""

    def move(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        return None

    def move_many(self, sides):  # type: ignore[no-untyped-def,override]
        return [None] * len(sides)


def market() -> FakeHyperliquid:
    fake = FakeHyperliquid()
    fake.dex("").add_coin("ETH", "3000", max_leverage=25)
    fake.dex("").add_coin("BTC", "90000", max_leverage=40)
    fake.dex("").add_coin("SOL", "150", max_leverage=20)
    rng = random.Random(5)
    for i, user in enumerate(USERS):
        positions = []
        for coin in rng.sample(sorted(COINS), 2):
            px = COINS[coin]
            size = Decimal(rng.uniform(5_000, 80_000) / float(px)).quantize(Decimal("0.001"))
            position = {
                "coin": coin,
                "size": size if rng.random() < 0.5 else -size,
                "entry_px": px * Decimal(rng.uniform(0.97, 1.03)).quantize(Decimal("0.001")),
                "leverage": rng.choice([5, 10, 20]),
            }
            if i % 3 == 2 and coin == "BTC":
                position["margin_mode"] = "isolated"
            positions.append(position)
        fake.put_model_account(user, Decimal(rng.uniform(20_000, 60_000)), positions)
    return fake


def meta_of(fake: FakeHyperliquid) -> MarketMeta:
    raw = fake.answer({"type": "metaAndAssetCtxs"}).data
    assert isinstance(raw, bytes)
    return parse_meta_and_asset_ctxs(orjson.loads(raw), "", T0)


def columns_view(book: LiveBook) -> dict[tuple[str, str, str, int], float]:
    """Every position's figures from the columns, nothing materialized (NaN as -1)."""
    return {
        (*key, i): -1.0 if value != value else value
        for key, values in book.row_figures().items()
        for i, value in enumerate(values)
    }


def accounts_view(book: LiveBook) -> dict[tuple[str, str, int], float]:
    """Every account's figures from the columns, nothing materialized (NaN as -1)."""
    return {
        (*key, i): -1.0 if value != value else value
        for key, values in book.account_figures().items()
        for i, value in enumerate(values)
    }


def assert_same_floats(fast: dict, exact: dict, what: str) -> None:
    assert fast.keys() == exact.keys(), what
    for key, value in exact.items():
        assert fast[key] == pytest.approx(value, rel=1e-9, abs=1e-9), (what, key)


@pytest.mark.parametrize(
    ("seed", "fold_at", "replay_max", "batch"),
    # fold_at 2, 3: records rebuilt from the columns often; replay_max 32: every read replays
    # the waiting fills, 4 (the default): a read of more than 4 rebuilds from the columns too;
    # batch > 1: the fast book takes that many trades as one lot (`TapeBook.apply_many`, as the
    # engine does with trades read back to back): rows moved several times, opened and closed
    # within one lot (`LiveBook.move_many`), its isolated positions after the rest
    [
        (1, 32, 32, 1),
        (2, 32, 32, 1),
        (3, 32, 4, 1),
        (6, 32, 4, 1),
        (4, 2, 32, 1),
        (5, 3, 32, 1),
        (7, 32, 32, 5),
        (8, 32, 4, 12),
        (9, 3, 32, 7),
        (10, 32, 32, 30),
    ],
)
def test_the_fast_path_equals_the_exact_path_and_the_venue(seed, fold_at, replay_max, batch):
    fake = market()
    tape = Tape(fake)
    meta = meta_of(fake)
    fast, exact = LiveBook(fold_at=fold_at, replay_max=replay_max), ExactBook()
    tracked = set(USERS).__contains__
    many = 2 if batch > 1 else 16  # lots through `LiveBook.move_many` however small
    books = {"fast": (fast, TapeBook(fast, lambda dex: meta, tracked, many=many))}
    books["exact"] = (exact, TapeBook(exact, lambda dex: meta, tracked))
    waiting: list = []  # trades read together, not yet applied by the fast book

    def catch_up() -> None:
        if not waiting:
            return
        ours = books["fast"][1].apply_many(waiting)
        theirs = [c for t in waiting for c in books["exact"][1].apply(t)]
        # the same changes, in tape order per account and coin
        assert sorted(
            [(c.address, c.coin, c.size_before, c.size_after) for c in ours], key=lambda t: t[:2]
        ) == sorted(
            [(c.address, c.coin, c.size_before, c.size_after) for c in theirs],
            key=lambda t: t[:2],
        )
        kinds.update(c.kind for c in ours)
        waiting.clear()

    for user in USERS:
        state = parse_clearinghouse_state(fake.clearinghouse_state(user), user)
        fast.upsert(state, meta)
        exact.upsert(state, meta)
    rng = random.Random(seed)
    marks = dict(COINS)
    kinds: set[str] = set()
    for step in range(240):
        coin = rng.choice(sorted(COINS))
        buyer, seller = rng.sample([*USERS, MAKER], 2)
        held = tape.position(seller, coin)
        if held is not None and held.size > 0 and rng.random() < 0.25:
            size = held.size  # the seller closes its long exactly
        elif held is not None and held.size > 0 and rng.random() < 0.15:
            size = held.size * 2  # the seller flips its long
        else:
            size = Decimal(rng.uniform(100, 20_000) / float(marks[coin])).quantize(Decimal("0.001"))
        px = (marks[coin] * Decimal(1 + rng.uniform(-0.002, 0.002))).quantize(Decimal("0.01"))
        item = tape.trade(coin, px, size, buyer, seller, side=rng.choice("AB"))
        waiting.append(read_at(item, T0, step * 1000))
        if len(waiting) >= batch or step % 5 == 4 or step % 7 == 6:
            catch_up()
        if step % 7 == 6:  # the mark moves: on the fake, in both books
            moved = rng.choice(sorted(COINS))
            marks[moved] = (marks[moved] * Decimal(1 + rng.uniform(-0.01, 0.01))).quantize(
                Decimal("0.01")
            )
            fake.set_mark(moved, marks[moved])
            for book, tb in books.values():
                book.apply_marks({moved: marks[moved]})
                tb.on_mids("", {moved: marks[moved]})
        if step % 5 == 4:
            fast.settle()
            exact.settle()
            assert_same_floats(columns_view(fast), columns_view(exact), f"positions, step {step}")
            assert_same_floats(accounts_view(fast), accounts_view(exact), f"accounts, step {step}")
        if step % 40 == 39:  # records read: the fast book catches up, and agrees
            for user in USERS:
                ours, theirs = fast.snapshots(user), exact.snapshots(user)
                assert [[(p.coin, p.side, p.size) for p in s.positions] for s in ours] == [
                    [(p.coin, p.side, p.size) for p in s.positions] for s in theirs
                ]
                for a, b in zip(ours, theirs, strict=True):
                    assert float(a.cross_account_value_usd) == pytest.approx(
                        float(b.cross_account_value_usd), rel=1e-9
                    )
                    for p, q in zip(a.positions, b.positions, strict=True):
                        assert (p.liquidation_px is None) == (q.liquidation_px is None)
                        if p.liquidation_px is not None and q.liquidation_px is not None:
                            assert float(p.liquidation_px) == pytest.approx(
                                float(q.liquidation_px), rel=1e-9
                            )
    assert {"open", "increase", "reduce", "close", "flip"} <= kinds  # every kind was exercised
    assert fast.moves > 200 and exact.moves == 0  # most trade sides took the fast path
    assert (fast.folds > 50) == (fold_at <= 3)
    assert (fast.folds > 0) == (fold_at <= 3 or replay_max < 32)  # reads folded busy accounts
    # and both books are the venue's own states at the venue's marks
    venue_meta = meta_of(fake)
    venue_marks = {c: m.mark_px for c, m in venue_meta.markets.items() if m.mark_px is not None}
    for user in USERS:
        truth = parse_clearinghouse_state(fake.clearinghouse_state(user), user)
        held = fast.state(user)
        assert held is not None
        estimate = remark(held[0], venue_marks, lambda p: position_tiers(p, venue_meta))
        assert {p.coin: p.size for p in estimate.positions} == {
            p.coin: p.size for p in truth.positions
        }
        assert abs(estimate.account_value_usd - truth.account_value_usd) < Decimal("0.001")
