"""The DuckDB store: migrations once, idempotent batched writes, views, lock waiting."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tracker import resources
from tracker.errors import StoreBusy
from tracker.records import AccountReport, Market
from tracker.risk.assess import assess_account
from tracker.sources.hyperliquid.client import parse_clearinghouse_state
from tracker.store import Store, open_store
from tracker.store import db as store_db
from tracker.store.db import kept_open, migrate
from tracker.store.writes import PassSummary, write_pass

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "hyperliquid"
T0 = datetime(2026, 1, 31, 12, tzinfo=UTC)


def _report(ts: datetime, name: str = "clearinghouseState_cross_short_SOL") -> AccountReport:
    raw = json.loads((FIXTURES / "other_repos/ccxt" / f"{name}.json").read_text())
    account = parse_clearinghouse_state(raw, "0x" + "12" * 20)
    snap = assess_account(account, None, ts)
    return AccountReport(address=account.address, ts=ts, accounts=(snap,), spot=())


def test_migrations_apply_once(db_path):
    with open_store(db_path) as store:
        versions = store.con.execute("select version from schema_migrations order by 1").fetchall()
        shipped = [v for v, _, _ in resources.migrations()]
        assert [v for (v,) in versions] == shipped and shipped[:2] == [1, 2]
        assert migrate(store) == []
    with open_store(db_path) as store:
        count = store.con.execute("select count(*) from schema_migrations").fetchone()
        assert count == (len(shipped),)


def test_writes_are_idempotent_and_exact(db_path):
    report = _report(T0)
    with open_store(db_path) as store:
        write_pass(store, [report], [])
        write_pass(store, [report], [])  # a re-poll of the same snapshot adds nothing
        write_pass(store, [_report(T0 + timedelta(seconds=5))], [])
        rows = store.con.execute(
            "select ts, coin, liquidation_px, venue_liquidation_px from positions order by ts, coin"
        ).fetchall()
    assert len(rows) == 4
    sol = [r for r in rows if r[1] == "SOL"][0]
    assert sol[0] == T0
    assert sol[3] == Decimal("22881.19788911")
    assert abs(sol[2] - sol[3]) < Decimal("1e-8")


def test_decimals_are_stored_as_duckdbs_own_cast_of_their_full_text(db_path):
    """writes.decimal_text rounds to the column's 18 places in Python (DuckDB casts longer text 25x
    slower); every stored decimal must equal DuckDB's cast of the unrounded text."""
    report = _report(T0)
    position = report.positions[0]
    awkward = {
        "size": Decimal("-0.0000000000000000025"),  # a tie, below zero: away from zero
        "entry_px": Decimal("5.199153597211849639034105054"),
        "notional_usd": Decimal("1E+5"),
        "roe": Decimal("0.0000000000000000014999"),
        "liquidation_px": Decimal("1.99999999999999999999"),
    }
    snap = replace(report.accounts[0], positions=(replace(position, **awkward),))
    with open_store(db_path) as store:
        write_pass(store, [replace(report, accounts=(snap,))], [])
        stored = store.con.execute(
            "select size, entry_px, notional_usd, roe, liquidation_px from positions"
        ).fetchone()
        cast = store.con.execute(
            "select " + ", ".join(f"'{v}'::DECIMAL(38, 18)" for v in awkward.values())
        ).fetchone()
    assert stored == cast
    assert stored[0] == Decimal("-0.000000000000000003") and stored[4] == Decimal(2)


def test_latest_positions_follow_the_latest_account_snapshot(db_path):
    with open_store(db_path) as store:
        write_pass(store, [_report(T0)], [])
        later = _report(T0 + timedelta(minutes=1), "clearinghouseState_empty_account")
        # the same address later has no positions: latest_positions must show none of it
        later = AccountReport(
            address="0x" + "12" * 20, ts=later.ts, accounts=later.accounts, spot=()
        )
        write_pass(store, [later], [])
        assert store.con.execute("select count(*) from latest_positions").fetchone() == (0,)
        assert store.con.execute("select count(*) from positions").fetchone() == (2,)


def test_failed_transaction_leaves_nothing(db_path):
    run = (
        "insert into snapshot_runs (ts, command, addresses, addresses_ok, positions, finished_at) "
        "values (now(), 'x', 1, 1, 1, now())"
    )
    with open_store(db_path) as store:
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL"), store.transaction():
            store.con.execute(run)
            inside = store.con.execute("select count(*) from snapshot_runs").fetchone()
            store.con.execute("insert into positions (ts) values (now())")  # violates NOT NULL
        assert inside == (1,)  # the first insert took effect, then went with the rollback
        assert store.con.execute("select count(*) from snapshot_runs").fetchone() == (0,)


def _counts(store: Store) -> tuple[int, ...]:
    tables = ("account_snapshots", "positions", "markets", "snapshot_runs")
    row = store.con.execute(
        "select " + ", ".join(f"(select count(*) from {t})" for t in tables)
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_a_pass_whose_write_fails_midway_leaves_nothing(db_path):
    # write_pass inserts accounts and positions, then markets: a mark DuckDB cannot hold in
    # DECIMAL(38, 18) fails the batch after the first tables were written.
    report = _report(T0)
    summary = PassSummary(
        ts=T0,
        command="snapshot",
        addresses=1,
        addresses_ok=1,
        positions=2,
        finished_at=T0,
        errors=(),
    )
    market = Market(
        venue="hyperliquid",
        dex="",
        coin="SOL",
        ts=T0,
        mark_px=Decimal("1e30"),
        oracle_px=None,
        mid_px=None,
        funding_rate=None,
        open_interest=None,
        max_leverage=20,
        margin_table_id=None,
        day_notional_volume_usd=None,
        prev_day_px=None,
    )
    with open_store(db_path) as store:
        with pytest.raises(duckdb.ConversionException, match="mark_px"):  # its own error
            write_pass(store, [report], [market], summary)
        assert _counts(store) == (0, 0, 0, 0)
        # The same pass with a mark that fits is stored whole, on the same connection.
        fine = replace(market, mark_px=Decimal("150.5"))
        inserted = write_pass(store, [report], [fine], summary)
        assert [inserted[t] for t in ("account_snapshots", "positions", "markets")] == [1, 2, 1]
        assert _counts(store) == (1, 2, 1, 1)


def _other_process_opens(path: Path) -> bool:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; duckdb.connect(sys.argv[1]).close()",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode == 0


def test_a_kept_store_is_handed_to_the_next_writable_open_once(db_path):
    with kept_open(db_path):
        assert db_path.exists()  # created and migrated at once: a bad --db fails here
        assert not _other_process_opens(db_path)  # held meanwhile, as the pass's own open is
        kept = store_db._KEPT[str(db_path.resolve())]
        with open_store(db_path) as first:
            taken = first.con
            assert taken is kept  # the open DuckDB was handed over, not started again
            assert first.con.execute("select count(*) from schema_migrations").fetchone() != (0,)
        with pytest.raises(duckdb.ConnectionException):
            taken.execute("select 1")  # the taker closed it as its own
        with open_store(db_path) as second:
            assert second.con is not taken
    assert _other_process_opens(db_path)


def test_a_kept_store_nobody_took_is_closed_on_exit(db_path):
    with kept_open(db_path):
        pass
    assert _other_process_opens(db_path)


def test_store_locked_by_another_process_waits_then_reports_busy(db_path):
    with open_store(db_path):
        pass
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('locked', flush=True); time.sleep(30)",
            str(db_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with (
            pytest.raises(StoreBusy, match="locked by another"),
            open_store(db_path, read_only=True, busy_timeout_s=0.5),
        ):
            pass
        assert time.monotonic() - started >= 0.5
    finally:
        holder.kill()
        holder.wait()
    with open_store(db_path, read_only=True, busy_timeout_s=5) as store:
        assert store.con.execute("select count(*) from schema_migrations").fetchone()[0] >= 2


def test_threads_of_one_process_take_turns_on_the_file(db_path):
    import threading

    with open_store(db_path):
        pass
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(20):  # readers and writers mixed, as the live daemon does
                with open_store(db_path, read_only=i % 2 == 0) as store:
                    store.con.execute("select count(*) from positions").fetchone()
        except BaseException as exc:  # the test reports any failure of any thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
