"""Rows `tracker run` writes per hour at N accounts, through the real store path.

Simulates an hour of steady state (the first sweep over, every account stored once, the stalest
one cycle of the sweep ago) of REST refreshes in
compressed time and sends every pass through what `tracker run` uses: `read_stored` +
`changed_accounts` (tracker.app.changes) + `write_pass` into a fresh DuckDB file. The model:

- the budget allows `--refreshes-per-min` account refreshes (1200 weight / 2 = 600);
- `--hot-share` of them (the live scheduler's reserve, 30 %) go to `--hot` accounts refreshed
  again and again (seen trading, or near liquidation), each refresh finding a position changed
  with probability `--hot-change`;
- the rest sweep every account, stalest first; an account's positions change with probability
  `--change-per-hour` per hour between two of its refreshes;
- each account holds `--positions` positions; marks move every figure between refreshes.

Prints JSON: rows written per hour (accounts + positions) with change-only storage and with a
row per refresh (what every pass stored before), the file's growth, seconds taken.

    .venv/bin/python bench/storage.py --accounts 50000 --minutes 60
    .venv/bin/python bench/storage.py --accounts 50000 --interval 3600
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson

from tracker.app.changes import changed_accounts, read_stored
from tracker.records import AccountReport, AccountSnapshot, Position
from tracker.store import open_store
from tracker.store.writes import write_pass

T0 = datetime(2026, 12, 1, tzinfo=UTC)
COINS = ("BTC", "ETH", "SOL", "HYPE", "XRP", "DOGE")


def report(
    address: str, version: int, positions: int, ts: datetime, mark: Decimal
) -> AccountReport:
    """One refresh of an account: `version` changes its sizes, `mark` every other figure."""
    held = []
    for i in range(positions):
        size = Decimal(10 + i + version)
        held.append(
            Position(
                ts=ts,
                venue="hyperliquid",
                address=address,
                dex="",
                coin=COINS[i % len(COINS)],
                side="long" if i % 2 == 0 else "short",
                size=size,
                entry_px=Decimal(1000 + i),
                mark_px=mark,
                notional_usd=size * mark,
                unrealized_pnl_usd=size * (mark - 1000 - i),
                roe=Decimal("0.1"),
                leverage=10,
                effective_leverage=Decimal(3),
                margin_mode="cross",
                margin_used_usd=size * mark / 10,
                maintenance_margin_usd=size * mark / 40,
                liquidation_px=mark / 2,
                venue_liquidation_px=mark / 2,
                distance_to_liq_pct=Decimal(50),
                max_leverage=20,
                cum_funding_since_open_usd=Decimal(1),
            )
        )
    account = AccountSnapshot(
        ts=ts,
        venue="hyperliquid",
        address=address,
        dex="",
        venue_time=ts,
        account_value_usd=Decimal(1_000_000),
        cross_account_value_usd=Decimal(1_000_000),
        notional_usd=Decimal(100_000),
        margin_used_usd=Decimal(10_000),
        maintenance_margin_usd=Decimal(2_500),
        withdrawable_usd=Decimal(900_000),
        shock_to_liq_pct=Decimal(50),
        positions=tuple(held),
    )
    return AccountReport(address=address, ts=ts, accounts=(account,), spot=())


def main(argv: list[str] | None = None) -> None:
    """Run the model; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--positions", type=int, default=3)
    parser.add_argument("--refreshes-per-min", type=int, default=600)
    parser.add_argument("--hot", type=int, default=500)
    parser.add_argument("--hot-share", type=float, default=0.3)
    parser.add_argument("--hot-change", type=float, default=0.2)
    parser.add_argument("--change-per-hour", type=float, default=0.05)
    parser.add_argument("--interval", type=float, default=60.0, help="tracker run --interval")
    parser.add_argument("--minutes", type=int, default=60, help="simulated, after the sweep")
    args = parser.parse_args(argv)
    rng = random.Random(14)
    addresses = [f"0x{i:040x}" for i in range(args.accounts)]
    hot = addresses[: args.hot]
    version = dict.fromkeys(addresses, 0)
    last_refresh: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        hot_per_min = int(args.refreshes_per_min * args.hot_share)
        sweep_per_min = args.refreshes_per_min - hot_per_min
        # Steady state: the sweep last stored account k (k-th in its order) one cycle ago, less
        # k refreshes, so the stalest comes first.
        for k, a in enumerate(addresses):
            last_refresh[a] = -(len(addresses) - k) / sweep_per_min * 60
        with open_store(db) as store:
            for start in range(0, len(addresses), 5000):
                chunk = addresses[start : start + 5000]
                write_pass(
                    store,
                    [
                        report(
                            a,
                            0,
                            args.positions,
                            T0 + timedelta(seconds=last_refresh[a]),
                            Decimal(1000),
                        )
                        for a in chunk
                    ],
                    (),
                )
        size0 = db.stat().st_size
        order = list(addresses)  # stalest first: all stored at t=0
        cursor = hot_cursor = 0
        written = naive = 0
        started = time.perf_counter()
        for minute in range(1, args.minutes + 1):
            now_s = minute * 60.0
            ts = T0 + timedelta(seconds=now_s)
            mark = Decimal(1000 + minute)
            batch = []
            for _ in range(sweep_per_min):
                a = order[cursor % len(order)]
                cursor += 1
                hours = (now_s - last_refresh[a]) / 3600
                if rng.random() < 1 - (1 - args.change_per_hour) ** hours:
                    version[a] += 1
                batch.append(a)
            for _ in range(hot_per_min):
                a = hot[hot_cursor % len(hot)]
                hot_cursor += 1
                if rng.random() < args.hot_change:
                    version[a] += 1
                batch.append(a)
            batch = list(dict.fromkeys(batch))
            reports = [report(a, version[a], args.positions, ts, mark) for a in batch]
            for a in batch:
                last_refresh[a] = now_s
            naive += len(reports) * (1 + args.positions)
            with open_store(db) as store:
                kept, _ = changed_accounts(reports, read_stored(store, batch), args.interval)
                inserted = write_pass(store, kept, ())
            written += inserted["account_snapshots"] + inserted["positions"]
        took = time.perf_counter() - started
        per_hour = 60 / args.minutes
        doc = {
            "accounts": args.accounts,
            "positions_per_account": args.positions,
            "refreshes_per_min": args.refreshes_per_min,
            "interval_s": args.interval,
            "simulated_minutes": args.minutes,
            "rows_per_hour": round(written * per_hour),
            "rows_per_hour_one_per_refresh": round(naive * per_hour),
            "rows_per_hour_full_snapshot_every_interval": round(
                args.accounts * (1 + args.positions) * 3600 / args.interval
            ),
            "db_growth_mb_per_hour": round((db.stat().st_size - size0) / 1e6 * per_hour, 1),
            "seconds": round(took, 1),
        }
    sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")


if __name__ == "__main__":
    main()
