"""`tracker discover`'s work on a leaderboard of the venue's size, without the network.

Builds a synthetic leaderboard body of N rows (the venue's: 30k-47k rows, 25-35 MB), then times
parsing it (orjson, then every row validated into Decimal records), picking the accounts at or
above $1M, and storing every row in a fresh DuckDB file; prints JSON with the body size, each
step's seconds and the peak RSS.

    .venv/bin/python bench/leaderboard.py                 # 40,000 rows
    .venv/bin/python bench/leaderboard.py --rows 47000
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson

from tracker.app.discover import DiscoverQuery, pick
from tracker.sources.hyperliquid.leaderboard import parse_leaderboard
from tracker.store import open_store
from tracker.store.leaderboard import write_leaderboard


def body(rows: int, seed: int = 14) -> bytes:
    """A leaderboard body shaped like the venue's (decimals as strings, four windows)."""
    rng = random.Random(seed)
    items = []
    for i in range(rows):
        value = 10 ** rng.uniform(0, 8.7)
        items.append(
            {
                "ethAddress": f"0x{rng.getrandbits(160):040x}",
                "accountValue": f"{value:.6f}",
                "displayName": None if i % 3 else f"trader {i}",
                "prize": 0,
                "windowPerformances": [
                    [
                        w,
                        {
                            "pnl": f"{rng.uniform(-1, 1) * value:.6f}",
                            "roi": f"{rng.uniform(-1, 2):.16f}",
                            "vlm": f"{rng.uniform(0, 50) * value:.6f}",
                        },
                    ]
                    for w in ("day", "week", "month", "allTime")
                ],
            }
        )
    return orjson.dumps({"leaderboardRows": items})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=40_000)
    args = parser.parse_args(argv)
    raw = body(args.rows)
    start = time.perf_counter()
    board = parse_leaderboard(raw, datetime.now(UTC))
    parsed = time.perf_counter()
    picked = pick(board, DiscoverQuery(min_account_value_usd=Decimal(1_000_000)))
    picked_at = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "b.duckdb") as store:
        stored = write_leaderboard(store, board)
    done = time.perf_counter()
    result = {
        "rows": args.rows,
        "body_mb": round(len(raw) / 1e6, 1),
        "parse_s": round(parsed - start, 3),
        "pick_s": round(picked_at - parsed, 3),
        "store_s": round(done - picked_at, 3),
        "stored": stored,
        "picked_1m": len(picked),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
