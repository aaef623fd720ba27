"""Benchmark: the tape-driven book of N tracked accounts against the fake market.

    .venv/bin/python bench/universe.py --accounts 10000 --json [--seconds 60] [--rate 5000]
        [--burst 20000]

The fake market runs in a child process (so its CPU is not the tracker's): N modelled accounts
on 20 coins of the main dex, a tape of `--rate` trades a second among them (every tenth second
at `--burst`), each moving both parties' accounts (tests/fakes/tape.py), sent as the venue sends
them (each coin's trades of one 5 ms block in one frame), and every coin's mark moving each
second. This process runs the live engine in process, warmed with every account's
exact state (read once with the weight limit lifted, as a book warmed from the store), then with
the default budget (1200 weight a minute) for `--seconds`:

- trade_to_book_p99_ms: a trade's venue time to its accounts' positions, liquidation prices,
  distances and shock recomputed (includes the WebSocket hop; both processes share a clock);
  over every trade of the run (before 2026-12-05 only the engine's window of the last 5,000);
- mark_to_risk_p99_ms (and _p50, _p90, mark_updates: the messages timed): an allMids message
  received to every tracked position re-marked;
- refresh_lag_p50_s / p99_s: a traded account seen to its exact state stored;
- liq_px_drift_p50 / p99 and size_drift_max: from `tape_drift` (estimate vs exact at refresh);
- weight_per_min_max: the limiter's most weight in any 60 s;
- sweep_minutes_lower_bound: N accounts x weight per account / 1200 a minute (what the budget
  allows at best; the sweep of never-seen accounts is not part of this engine yet);
- rows_per_hour: rows written to the store during the run, per hour;
- rss_mb (peak), cpu_pct (this process), trades_per_s (what the child achieved);
- loop_cpu_pct, loop_cpu_us_per_trade: the CPU time of the event loop's thread (every trade's
  path, the re-marks, the refreshes' bookkeeping; not the store's threads), per wall second and
  per trade read. 1e6 / loop_cpu_us_per_trade bounds the trades a second the engine can take: a
  burst above it queues, and `trade_to_book_p99_ms` < 100 needs it near the burst rate.
Run by hand; never part of the tests. Keep runs short on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import random
import resource
import sys
import tempfile
import time
from collections import deque
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

COINS = [(f"C{i:02d}", Decimal(10 + 37 * i)) for i in range(20)]
TABLES = ("positions", "account_snapshots", "position_changes", "tape_drift", "fills")


def address(i: int) -> str:
    return f"0x{i + 1:040x}"


def build_fake(n: int) -> Any:
    from tests.fakes.hyperliquid import FakeHyperliquid

    fake = FakeHyperliquid()
    for coin, px in COINS:
        fake.dex("").add_coin(coin, px, max_leverage=20)
    rng = random.Random(7)
    for i in range(n):
        positions = []
        for coin, px in rng.sample(COINS, 2):
            size = Decimal(rng.uniform(1_000, 500_000) / float(px)).quantize(Decimal("0.01"))
            size = size if rng.random() < 0.5 else -size
            positions.append({"coin": coin, "size": size, "entry_px": px, "leverage": 10})
        fake.put_model_account(address(i), Decimal(rng.uniform(100_000, 2_000_000)), positions)
    return fake


def serve(n: int, rate: int, burst: int, urls: Any, go: Any, stop: Any, done: Any) -> None:
    """The child: the fake market and its tape until `stop` is set."""

    async def main() -> None:
        from tests.fakes.tape import Tape, random_trades

        fake = build_fake(n)
        tape = Tape(fake)
        await fake.start()
        urls.put(fake.url)
        while not go.is_set():  # noqa: ASYNC110  (a multiprocessing Event: no await)
            await asyncio.sleep(0.05)
        trades = random_trades([address(i) for i in range(n)], COINS, max_notional_usd=50_000)
        rng = random.Random(3)
        marks, base = dict(COINS), dict(COINS)
        start = last_marks = time.monotonic()
        sent = 0
        while not stop.is_set():
            now = time.monotonic()
            second = int(now - start)
            in_burst = second % 10 == 9
            per_s = burst if in_burst else rate
            # the burst's extra trades spread over its second (before 2026-12-05 they came due
            # all at once at the start of the next one, and went out as fast as this process
            # made them: a harsher burst than the one named)
            bursts = second // 10 + ((now - start) - second if in_burst else 0.0)
            due = int((now - start) * rate + (burst - rate) * bursts) - sent
            due = min(due, per_s // 10)
            # one frame per coin and block, as the venue sends them, its trades timed at its
            # close (trade_to_book starts there, not while this process was making the block)
            with fake.ws.block(timed_at_close=True):
                for _ in range(max(due, 0)):
                    coin, px, size, buyer, seller, side = next(trades)
                    tape.trade(coin, marks[coin] * px / base[coin], size, buyer, seller, side=side)
                    sent += 1
            if now - last_marks >= 1.0:
                last_marks = now
                for coin, _ in COINS:
                    marks[coin] *= Decimal(1 + rng.uniform(-0.002, 0.002))
                    fake.set_mark(coin, marks[coin].quantize(Decimal("0.0001")))
            await asyncio.sleep(0.005)
        done.put(sent / (time.monotonic() - start))
        await fake.stop()

    asyncio.run(main())


async def run(n: int, seconds: float, rate: int, burst: int) -> dict[str, Any]:
    import aiohttp

    from tracker.alerts.engine import AlertContext
    from tracker.app.live.engine import LiveEngine
    from tracker.app.poller import HyperliquidPoller
    from tracker.app.snapshot_pass import snapshot_pass
    from tracker.net.http import RetryPolicy
    from tracker.net.limiter import WeightLimiter
    from tracker.percentiles import percentile
    from tracker.sources.hyperliquid.client import HyperliquidClient, parse_clearinghouse_state
    from tracker.sources.hyperliquid.stream import HyperliquidStream
    from tracker.store import open_store

    ctx = mp.get_context("spawn")
    urls, done = ctx.Queue(), ctx.Queue()
    go, stop = ctx.Event(), ctx.Event()
    child = ctx.Process(target=serve, args=(n, rate, burst, urls, go, stop, done))
    child.start()
    url = urls.get(timeout=600)
    addresses = [address(i) for i in range(n)]
    db = Path(tempfile.mkdtemp()) / "universe.duckdb"
    async with aiohttp.ClientSession() as session:
        client = HyperliquidClient(session, url, limiter=WeightLimiter(1200), policy=RetryPolicy())
        poller = HyperliquidPoller(client, dexes=("",))
        alerting = AlertContext(
            large_usd=Decimal(1_000_000),
            near_levels_pct=(Decimal(10), Decimal(5), Decimal(2)),
            gap_s=60.0,
            watched=frozenset(addresses),
            labels={},
        )

        async def real_pass(batch: Any) -> Any:
            # as `tracker run --discover` refreshes its universe (tracker.app.runner): state
            # only, main dex, an unchanged account stored once per --interval
            return await snapshot_pass(
                poller,
                db,
                batch,
                command="run",
                alerting=alerting,
                keep_s=60.0,
                state_only=frozenset(batch),
            )

        async with HyperliquidStream(session, url.replace("http", "ws") + "/ws") as stream:
            engine = LiveEngine(
                poller=poller,
                stream=stream,
                run_pass=real_pass,
                addresses=addresses,
                db=db,
                alerting=alerting,
                sinks=[],
            )
            warm_started = time.monotonic()
            unlimited = HyperliquidClient(
                session, url, limiter=WeightLimiter(0), policy=RetryPolicy(retries=3)
            )
            metas, _ = await poller.market_meta(("",), datetime.now(UTC))
            sem = asyncio.Semaphore(64)

            async def warm(a: str) -> None:
                async with sem:
                    raw = await unlimited.fetch_clearinghouse_state(a, "")
                engine.book.upsert(parse_clearinghouse_state(raw, a), metas.get(""))

            async with asyncio.TaskGroup() as group:
                for a in addresses:
                    group.create_task(warm(a))
            engine.scheduler.refreshed(addresses, time.monotonic())
            warm_s = time.monotonic() - warm_started
            print(f"warmed {n} accounts in {warm_s:.1f} s", file=sys.stderr)
            finish = asyncio.Event()
            running = asyncio.create_task(engine.run(finish))
            while engine.stats.stream_state != "connected":  # noqa: ASYNC110  (no event for it)
                await asyncio.sleep(0.1)
            await asyncio.sleep(2.0)  # subscriptions acknowledged
            # every sample of the run: the engine's own windows keep only the last 5,000 (a
            # fraction of a second of trades), which is what `tracker status` should show but
            # would make these figures depend on the moment the run stops
            for name in ("trade_to_book_ms", "mark_to_risk_ms", "trade_to_refresh_s"):
                setattr(engine.stats, name, deque())
            go.set()
            print(f"tape running for {seconds} s", file=sys.stderr)
            cpu0, wall0, loop0 = time.process_time(), time.monotonic(), time.thread_time()
            seen0 = engine.stats.trades_seen
            await asyncio.sleep(seconds)
            print("tape done", file=sys.stderr)
            wall = time.monotonic() - wall0
            cpu = (time.process_time() - cpu0) / wall * 100
            loop_cpu = time.thread_time() - loop0  # the event loop's thread: the tape's path
            seen = engine.stats.trades_seen - seen0
            print(f"stopping ({engine.tape.applied} trade sides applied)", file=sys.stderr)
            finish.set()  # the engine first, while the venue still answers
            try:
                async with asyncio.timeout(60):
                    stats = await asyncio.shield(running)
            except TimeoutError:
                for task in asyncio.all_tasks():
                    print(task.get_name(), task.get_stack(limit=3), file=sys.stderr)
                raise
            stop.set()
            weight_max = client.limiter.max_in_window
    achieved = done.get(timeout=60)
    child.join(timeout=30)
    with open_store(db) as store:  # this process's own connection settings
        con = store.con
        rows = sum(con.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES)
        drift = con.execute(
            "select liquidation_px_drift, abs(size_drift) from tape_drift"
        ).fetchall()
    liq = [d for d, _ in drift if d is not None]
    cost = engine.scheduler.cost_weight
    return {
        "accounts": n,
        "seconds": seconds,
        "trades_per_s": round(achieved, 1),
        "trades_applied": engine.tape.applied,
        "trades_replayed_on_refreshes": engine.tape.replayed,
        "refreshes": stats.refreshes,
        "near_alerts_from_marks": stats.alerts_from_marks,
        "refresh_passes": stats.passes,
        "failed_passes": stats.failed_passes,
        "position_changes_stored": engine.outbox.stored,
        "warm_s": round(warm_s, 1),
        "trade_to_book_p99_ms": stats.percentile("trade_to_book_ms", 0.99),
        "trade_to_book_p50_ms": stats.percentile("trade_to_book_ms", 0.5),
        "mark_to_risk_p99_ms": stats.percentile("mark_to_risk_ms", 0.99),
        "mark_to_risk_p50_ms": stats.percentile("mark_to_risk_ms", 0.5),
        "mark_to_risk_p90_ms": stats.percentile("mark_to_risk_ms", 0.9),
        "mark_updates": len(stats.mark_to_risk_ms),
        "refresh_lag_p50_s": stats.percentile("trade_to_refresh_s", 0.5),
        "refresh_lag_p99_s": stats.percentile("trade_to_refresh_s", 0.99),
        "liq_px_drift_p50": percentile(liq, 0.5),
        "liq_px_drift_p99": percentile(liq, 0.99),
        "drift_rows": len(drift),
        "size_drift_max": float(max((s for _, s in drift), default=0)),
        "weight_per_min_max": weight_max,
        "sweep_minutes_lower_bound": round(n * cost / 1200, 1),
        "rows_per_hour": round(rows / seconds * 3600),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_pct": round(cpu, 1),
        "loop_cpu_pct": round(loop_cpu / wall * 100, 1),
        "loop_cpu_us_per_trade": round(loop_cpu / max(seen, 1) * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--burst", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.accounts < 2 or args.seconds <= 0 or args.rate <= 0 or args.burst < args.rate:
        print(
            "error: --accounts >= 2, --seconds > 0, --rate > 0, --burst >= --rate", file=sys.stderr
        )
        raise SystemExit(2)
    result = asyncio.run(run(args.accounts, args.seconds, args.rate, args.burst))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
