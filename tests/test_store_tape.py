"""Rows of the tape-driven book as the store takes them (tracker.store.tape)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.records.events import PositionChange
from tracker.store import open_store
from tracker.store.tape import _CHANGE_COLUMNS, change_frame, write_tape
from tracker.store.writes import frame

sizes = st.decimals(min_value=-(10**9), max_value=10**9, places=8, allow_nan=False)
prices = st.decimals(min_value=Decimal("1e-8"), max_value=10**7, places=8, allow_nan=False)


@st.composite
def changes(draw: st.DrawFn) -> PositionChange:
    before = draw(sizes)
    after = draw(sizes.filter(lambda a: a != before))
    return PositionChange(
        venue="hyperliquid",
        address="0x" + draw(st.sampled_from(["a1", "b2"])) * 20,
        dex=draw(st.sampled_from(["", "xyz"])),
        coin=draw(st.sampled_from(["ETH", "xyz:XYZ100"])),
        ts=datetime(2026, 1, 30, tzinfo=UTC) + timedelta(microseconds=draw(st.integers(0, 10**12))),
        size_before=before,
        size_after=after,
        price=draw(prices),
        source=draw(st.sampled_from(["tape", "refresh"])),
        ref=draw(st.text(min_size=1, max_size=70)),
    )


@given(batch=st.lists(changes(), max_size=30))
@settings(max_examples=200, deadline=None)
def test_the_one_pass_frame_of_changes_equals_the_generic_one(batch):
    fast, generic = change_frame(batch), frame(_CHANGE_COLUMNS, batch)
    assert list(fast) == list(generic)
    for name, column in generic.items():
        assert fast[name].dtype == column.dtype, name
        assert np.array_equal(fast[name], column), name


def test_changes_are_stored_once_whatever_the_frame(tmp_path):
    ts = datetime(2026, 1, 30, 12, tzinfo=UTC)
    change = PositionChange(
        venue="hyperliquid",
        address="0x" + "a1" * 20,
        dex="",
        coin="ETH",
        ts=ts,
        size_before=Decimal(0),
        size_after=Decimal("-12.5"),
        price=Decimal("2750.1"),
        source="tape",
        ref="0x" + "ab" * 32,
    )
    with open_store(tmp_path / "t.duckdb") as store:
        assert write_tape(store, [change]) == (1, 0)
        assert write_tape(store, [change]) == (0, 0)  # idempotent
        assert write_tape(store, []) == (0, 0)
        row = store.con.execute(
            "SELECT kind, size_before, size_after, price, notional_usd, time_ms "
            "FROM position_changes"
        ).fetchall()
    assert row == [
        (
            "open",
            Decimal(0),
            Decimal("-12.5"),
            Decimal("2750.1"),
            Decimal("34376.25"),
            round(ts.timestamp() * 1000),
        )
    ]
