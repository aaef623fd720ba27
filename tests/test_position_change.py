"""The PositionChange record: kinds named as the position_events view names them."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tracker.records.events import PositionChange, move_kind


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        ("0", "2", "open"),
        ("0", "-2", "open"),
        ("2", "3", "increase"),
        ("-2", "-3", "increase"),
        ("3", "2", "reduce"),
        ("-3", "-1", "reduce"),
        ("2", "0", "close"),
        ("-2", "0", "close"),
        ("2", "-1", "flip"),
        ("-2", "1", "flip"),
        ("2", "2", None),
    ],
)
def test_move_kind(before, after, kind):
    assert move_kind(Decimal(before), Decimal(after)) == kind


def test_a_change_knows_its_side_notional_and_size_change():
    change = PositionChange(
        venue="hyperliquid",
        address="0x" + "ab" * 20,
        dex="",
        coin="ETH",
        ts=datetime(2026, 1, 29, tzinfo=UTC),
        size_before=Decimal("-10"),
        size_after=Decimal("0"),
        price=Decimal("2500.5"),
        source="tape",
        ref="0x" + "11" * 32,
    )
    assert change.kind == "close"
    assert change.side == "short"
    assert change.size_change == Decimal("10")
    assert change.notional_usd == Decimal("25005.0")
