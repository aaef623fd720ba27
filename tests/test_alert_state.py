"""The armed state of near-liquidation alerts in a real DuckDB file (tracker.alerts.store)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tracker.alerts.rules import Armed
from tracker.alerts.store import read_armed, write_armed
from tracker.store import open_store

A, B = "0x" + "a1" * 20, "0x" + "b2" * 20
SINCE = datetime(2026, 1, 30, 12, tzinfo=UTC)


def test_armed_conditions_are_read_for_the_addresses_asked_only(tmp_path):
    keys = {
        f"near_liquidation:hyperliquid:{A}::ETH": Armed(Decimal(5), SINCE),
        f"near_liquidation:hyperliquid:{A}:xyz:xyz:XYZ100": Armed(Decimal(2), SINCE),
        f"account_near_liquidation:hyperliquid:{A}:": Armed(Decimal(10), SINCE),
        f"near_liquidation:hyperliquid:{B}::BTC": Armed(Decimal(10), SINCE),
        f"account_near_liquidation:hyperliquid:{B}:xyz": Armed(Decimal(5), SINCE),
    }
    with open_store(tmp_path / "t.duckdb") as store:
        with store.transaction():  # as the alert paths write it
            write_armed(store, keys)
        assert read_armed(store) == keys
        assert read_armed(store, [A]) == {k: v for k, v in keys.items() if f":{A}:" in k}
        assert read_armed(store, {B, "0x" + "cc" * 20}) == {
            k: v for k, v in keys.items() if f":{B}:" in k
        }
        assert read_armed(store, []) == {}
        with store.transaction():
            write_armed(store, {f"near_liquidation:hyperliquid:{A}::ETH": None})
        assert len(read_armed(store, [A])) == 2
