"""Liquidation candidates from the tape (pure): grouped by hash and taker, zero hashes skipped."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tracker.records import Trade
from tracker.risk.liquidation_candidates import (
    CandidateGrouper,
    group_trades,
    is_zero_hash,
    taker_of,
)

A = "0x" + "aa" * 20
B = "0x" + "bb" * 20
C = "0x" + "cc" * 20
VAULT = "0x" + "99" * 20
H1 = "0x" + "12" * 32
H2 = "0x" + "34" * 32
ZERO = "0x" + "0" * 64
MIN = Decimal(200_000)


def trade(
    *,
    buyer: str = A,
    seller: str = B,
    side: str = "sell",
    px: str = "84000",
    size: str = "1",
    tx: str | None = H1,
    tid: int = 1,
    time_ms: int = 1_000,
    coin: str = "BTC",
) -> Trade:
    return Trade(
        ts=datetime.fromtimestamp(time_ms / 1000, UTC),
        time_ms=time_ms,
        coin=coin,
        side="buy" if side == "buy" else "sell",
        px=Decimal(px),
        size=Decimal(size),
        tid=tid,
        hash=tx,
        buyer=buyer,
        seller=seller,
    )


def test_slices_of_one_hash_and_taker_make_one_candidate_from_the_threshold():
    # A long liquidated: the account sells (side "A"), hitting three bids; $252k in all.
    trades = [trade(buyer=m, seller=A, size="1", tid=i) for i, m in enumerate((B, C, B))]
    (cand,) = group_trades(trades, MIN)
    assert cand.address == A and cand.coin == "BTC" and cand.notional_usd == Decimal(252_000)
    assert group_trades(trades[:2], MIN) == []  # $168k: under the threshold


def test_the_taker_is_the_side_the_trade_names():
    buy = trade(buyer=A, seller=B, side="buy", size="3")
    sell = trade(buyer=A, seller=B, side="sell", size="3")
    assert [c.address for c in group_trades([buy], MIN)] == [A]
    assert [c.address for c in group_trades([sell], MIN)] == [B]


def test_zero_and_missing_hashes_never_make_candidates():
    twap = [trade(tx=ZERO, size="10", tid=i) for i in range(5)]
    assert group_trades(twap, MIN) == []
    assert group_trades([trade(tx=None, size="10")], MIN) == []
    assert is_zero_hash("0x0") and is_zero_hash(None) and not is_zero_hash(H1)


def test_different_hashes_or_takers_are_different_groups():
    trades = [
        trade(tx=H1, seller=A, size="2"),
        trade(tx=H2, seller=A, size="2", tid=2),
        trade(tx=H1, seller=C, size="2", tid=3),
    ]
    assert group_trades(trades, MIN) == []  # $168k each


def test_a_trade_with_an_hlp_child_makes_the_other_side_a_candidate_from_a_tenth():
    vaults = frozenset({VAULT})
    backstop = trade(buyer=VAULT, seller=A, side="buy", size="0.5")  # $42k, the vault took it
    assert taker_of(backstop, vaults) == (A, True)
    assert [c.address for c in group_trades([backstop], MIN, vaults)] == [A]
    assert group_trades([backstop], MIN) == []  # without knowing the vault: under $200k
    maker_vault = trade(buyer=B, seller=VAULT, side="buy", size="0.1")  # $8.4k: too small
    assert group_trades([maker_vault], MIN, vaults) == []
    both = trade(buyer=VAULT, seller=VAULT, side="buy", size="10")
    assert group_trades([both], MIN, vaults) == []


def test_the_streaming_grouper_emits_from_the_threshold_with_each_new_total():
    grouper = CandidateGrouper(MIN)
    first = grouper.add([trade(size="1.5", tid=1)])  # $126k
    second = grouper.add([trade(size="1.5", tid=2)])  # $252k: emitted
    third = grouper.add([trade(size="1", tid=3), trade(size="1", tid=4)])  # one, at $420k
    assert first == [] and [c.notional_usd for c in second] == [Decimal(252_000)]
    assert [c.notional_usd for c in third] == [Decimal(420_000)]
    assert grouper.add([trade(tx=H2, size="1", tid=5)]) == []  # another hash: its own group


@given(
    st.lists(
        st.tuples(
            st.sampled_from([H1, H2, ZERO]),
            st.sampled_from([A, B, C]),
            st.integers(min_value=1, max_value=400),
        ),
        max_size=30,
    )
)
def test_streaming_finds_every_group_the_batch_finds(rows):
    trades = [
        trade(tx=tx, seller=who, buyer=VAULT if who != A else B, size=str(n / 100), tid=i)
        for i, (tx, who, n) in enumerate(rows)
    ]
    batch = {(c.coin, c.hash, c.address) for c in group_trades(trades, MIN)}
    grouper = CandidateGrouper(MIN)
    streamed = {(c.coin, c.hash, c.address) for t in trades for c in grouper.add([t])}
    assert streamed == batch
    assert all(not is_zero_hash(h) for _, h, _ in batch)
