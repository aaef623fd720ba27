"""Benchmark: the tape's cost per trade in the live book, one core, no network on the hot path.

    .venv/bin/python bench/tape_apply.py --accounts 10000 --trades 100000 [--batch 200] [--json]

The fake market (tests/fakes) models N accounts on 20 coins with two positions each; the book is
warmed with every account's exact `clearinghouseState`. Then `--trades` random trades among them
(both parties tracked: the worst case) are made on the fake, which moves its own accounts, and
their parsed records are applied to the book `--batch` at a time (`TapeBook.apply_many`), each
batch settled (liquidation prices, distances and shock recomputed), as the engine does for a
burst drained from the stream.
The heap is frozen as the live engine freezes it (`heap.long_lived_frozen`).
Reports the cost per trade (apply + settle) and, after the run, how far the book is from the
fake's truth for every account the tape moved (refreshed exactly): sizes must be equal, and
liquidation prices within a relative `liq_px_drift_max`. Run by hand; never part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.universe import COINS, address, build_fake  # noqa: E402


async def run(n: int, count: int, batch: int) -> dict[str, Any]:
    import aiohttp

    from tracker.app.live.heap import long_lived_frozen
    from tracker.app.live.tape import TapeBook
    from tracker.net.http import RetryPolicy
    from tracker.net.limiter import WeightLimiter
    from tracker.replay.tape import Tape, random_trades
    from tracker.risk.live.book import LiveBook
    from tracker.sources.hyperliquid.client import (
        HyperliquidClient,
        parse_clearinghouse_state,
        parse_meta_and_asset_ctxs,
    )
    from tracker.sources.hyperliquid.ws_parse import parse_trades

    fake = build_fake(n)
    await fake.start()
    addresses = [address(i) for i in range(n)]
    try:
        async with aiohttp.ClientSession() as session:
            client = HyperliquidClient(
                session, fake.url, limiter=WeightLimiter(0), policy=RetryPolicy(retries=3)
            )
            meta = parse_meta_and_asset_ctxs(
                await client.info({"type": "metaAndAssetCtxs"}), "", datetime.now(UTC)
            )
            book = LiveBook()
            sem = asyncio.Semaphore(64)

            async def warm(a: str) -> None:
                async with sem:
                    raw = await client.fetch_clearinghouse_state(a, "")
                book.upsert(parse_clearinghouse_state(raw, a), meta)

            async with asyncio.TaskGroup() as group:
                for a in addresses:
                    group.create_task(warm(a))
            book.settle()
            tape_book = TapeBook(book, lambda dex: meta, set(addresses).__contains__)
            import gc

            gc.freeze()
            gc.set_threshold(50_000, 50, 100)
            tape = Tape(fake)
            source = random_trades(addresses, COINS, max_notional_usd=50_000)
            records = []
            for _ in range(count):
                coin, px, size, buyer, seller, side = next(source)
                item = tape.trade(coin, px, size, buyer, seller, side=side)
                records.extend(parse_trades([item]))
            moved = {a for t in records for a in (t.buyer, t.seller) if a}
            with long_lived_frozen():  # as the live engine runs
                started = time.perf_counter()
                settling = 0.0
                for i in range(0, len(records), batch):
                    tape_book.apply_many(records[i : i + batch])
                    settle_started = time.perf_counter()
                    book.settle()
                    settling += time.perf_counter() - settle_started
                elapsed = time.perf_counter() - started
            # the fast path's columns against the exact path's records (snapshots catch up)
            sample = sorted(moved)[:2000]
            fast = {(a, c): d for a, _, c, d, _ in book.below([1e12]) if a in set(sample)}
            paths = [
                abs(float(p.distance_to_liq_pct) - fast[a, p.coin])
                for a in sample
                for s in book.snapshots(a)
                for p in s.positions
                if p.distance_to_liq_pct is not None and (a, p.coin) in fast
            ]
            # the truth: every moved account's exact state from the fake, against the book
            size_diff = 0
            drift = []
            for a in sample:
                exact = parse_clearinghouse_state(await client.fetch_clearinghouse_state(a, ""), a)
                ours = {p.coin: p for s in book.snapshots(a) for p in s.positions}
                for p in exact.positions:
                    mine = ours.get(p.coin)
                    if mine is None or mine.size != abs(p.size):
                        size_diff += 1
                        continue
                    if p.liquidation_px and mine.liquidation_px:
                        drift.append(
                            float(abs(mine.liquidation_px - p.liquidation_px) / p.liquidation_px)
                        )
                if len(ours) != len(exact.positions):
                    size_diff += 1
    finally:
        await fake.stop()
    return {
        "accounts": n,
        "trades": count,
        "batch": batch,
        "trade_sides_applied": tape_book.applied,
        "us_per_trade": round(elapsed / count * 1e6, 1),
        "trades_per_s": round(count / elapsed),
        "apply_us_per_trade": round((elapsed - settling) / count * 1e6, 1),
        "settle_ms_per_batch": round(settling / -(-count // batch) * 1e3, 2),
        "accounts_checked": len(sample),
        "size_mismatches": size_diff,
        "liq_px_drift_max": max(drift, default=None),
        "fast_vs_exact_distance_max_pct": max(paths, default=None),
        "distances_compared": len(paths),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    random.seed(1)
    result = asyncio.run(run(args.accounts, args.trades, args.batch))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
