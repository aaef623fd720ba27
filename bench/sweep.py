"""How fast `tracker run --discover` sweeps a universe of N accounts, and what the budget allows.

Serves a leaderboard of N accounts (each modelled with one to three positions) from the fake
venue (tests/fakes, in this process), runs `tracker run --discover 0 --no-live` as a child
process with the weight limiter lifted, and reads its pass lines until every account was seen.
Prints JSON: the seconds the sweep took (the tracker's own speed, the fake answering at once), the
rows stored, and the minutes the default budget allows at N and at 50,000 accounts (1200 weight a
minute, weight 2 an account: at most 600 a minute; 420 with the 30 % the scheduler keeps free).

    .venv/bin/python bench/sweep.py --accounts 3000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.hyperliquid import FakeHyperliquid  # noqa: E402
from tests.fakes.leaderboard import leaderboard_row  # noqa: E402

WEIGHT = 2
BUDGET = 1200
RESERVE = 0.3


async def sweep(n: int, timeout_s: float) -> dict[str, object]:
    rng = random.Random(14)
    async with FakeHyperliquid.seeded() as fake:  # the shared fixtures: markets, meta
        fake.set_mark("ETH", "2900")
        fake.set_mark("BTC", "60000")
        rows = []
        for i in range(n):
            address = f"0x{i + 1:040x}"
            rows.append(leaderboard_row(address, f"{10 ** rng.uniform(6, 8.5):.2f}", f"w{i}"))
            held = [
                {
                    "coin": c,
                    "size": str(rng.choice((1, -1)) * rng.randint(1, 50)),
                    "entry_px": px,
                    "leverage": 5,
                    "margin_mode": "cross",
                }
                for c, px in (("ETH", "2900"), ("BTC", "60000"))[: rng.randint(1, 2)]
            ]
            fake.put_model_account(address, "5000000", positions=held)
        fake.put_leaderboard(rows)
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "t.duckdb"
            env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
            env.update(
                TRACKER_HL_API_URL=fake.url,
                TRACKER_HL_STATS_URL=fake.url,
                TRACKER_DB=str(db),
                TRACKER_HL_WEIGHT_PER_MIN="0",
                TRACKER_HL_DEXES="main",
                TRACKER_FOLLOW_LIQUIDATORS="0",
                TRACKER_WATCHLISTS_DIR=str(Path(tmp) / "none"),
                TRACKER_ENV_FILE=str(Path(tmp) / "no.env"),
            )
            started = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tracker", "run", "--discover", "0", "--no-live",
                "--interval", "3600", env=env, cwd=str(REPO),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            assert proc.stdout is not None
            seen, passes = 0, 0
            try:
                async with asyncio.timeout(timeout_s):
                    while seen < n:
                        line = await proc.stdout.readline()
                        if not line:
                            break
                        doc = json.loads(line)
                        passes += 1
                        seen = (doc.get("universe") or {}).get("seen", seen)
            finally:
                took = time.monotonic() - started
                proc.terminate()
                await proc.wait()
            with duckdb.connect(str(db), read_only=True) as con:
                accounts, positions = con.execute(
                    "select (select count(*) from account_snapshots),"
                    " (select count(*) from positions)"
                ).fetchone() or (0, 0)
    per_min = BUDGET / WEIGHT
    return {
        "accounts": n,
        "seen": seen,
        "passes": passes,
        "sweep_s_unlimited": round(took, 1),
        "accounts_per_s_unlimited": round(seen / took, 1),
        "rows_stored": accounts + positions,
        "budget_sweep_min": round(n / per_min, 1),
        "budget_sweep_min_with_reserve": round(n / (per_min * (1 - RESERVE)), 1),
        "budget_sweep_min_50000": round(50_000 / per_min, 1),
        "budget_sweep_min_50000_with_reserve": round(50_000 / (per_min * (1 - RESERVE)), 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Run one sweep; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--timeout", type=float, default=170.0, help="seconds, at most")
    args = parser.parse_args(argv)
    doc = asyncio.run(sweep(args.accounts, args.timeout))
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
