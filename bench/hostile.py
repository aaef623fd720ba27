"""Issue 7's hostile venue with the real weight budget: one `tracker snapshot`, timed.

    .venv/bin/python bench/hostile.py [--weight-per-min 1200] [--json]

The acceptance scenario of tests/test_faults.py (50 accounts; the first 5 requests answered 429
with Retry-After 0.2 s, every 7th 500, every 11th a truncated body, every 13th stalled 5 s past a
1 s timeout; 6 retries), but with the default budget of 1,200 weight a minute instead of the
limiter lifted as CI does to stay fast. Reports the exit code, the wall time, what the pass
counted as retried against what the fake fired, and the largest weight the venue's own log saw
in any 60 seconds. Exits 1 when the pass failed, a traceback was printed, an account is missing,
the retries do not match the faults, or the venue saw more than the budget.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import duckdb  # noqa: E402
from snapshot import machine  # noqa: E402
from soak import max_weight_in_window  # noqa: E402

from tests.conftest import run_cli, tracker_env  # noqa: E402
from tests.fakes.hyperliquid import FakeHyperliquid  # noqa: E402
from tests.test_faults import ACCOUNTS, model_accounts  # noqa: E402
from tests.test_snapshot import write_watchlist  # noqa: E402


async def hostile(budget: int, work: Path) -> dict[str, Any]:
    async with FakeHyperliquid.seeded() as fake:
        model_accounts(fake)
        fake.faults.fail_next(5, status=429, retry_after=0.2)
        fake.faults.every_nth(7, "500")
        fake.faults.every_nth(11, "garbage")
        fake.faults.every_nth(13, "stall", stall_seconds=5.0)
        watchlist = write_watchlist(work / "w.toml", *ACCOUNTS)
        db = work / "t.duckdb"
        env = tracker_env(
            fake.url,
            db,
            TRACKER_HTTP_RETRIES="6",
            TRACKER_HTTP_TIMEOUT="1",
            TRACKER_HL_WEIGHT_PER_MIN=str(budget),
        )
        started, since = time.monotonic(), time.time()
        result = await run_cli("snapshot", "-w", str(watchlist), "--json", env=env, timeout=1800)
        wall = time.monotonic() - started
        fired = len(fake.faults.fired)
        venue_max = max_weight_in_window(fake.requests, since)
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    con = duckdb.connect(str(db), read_only=True)
    row = con.execute("select count(distinct address) from account_snapshots").fetchone()
    con.close()
    stored = int(row[0]) if row else 0
    retried = sum(report.get("retries", {}).values())
    failures = [
        *([f"exit {result.code}"] if result.code != 0 else []),
        *(["a traceback on stderr"] if "Traceback" in result.stderr else []),
        *([f"{stored} of {len(ACCOUNTS)} accounts stored"] if stored != len(ACCOUNTS) else []),
        *([f"{retried} retries counted, {fired} faults fired"] if retried != fired else []),
        *([f"the venue saw {venue_max} in a minute"] if budget and venue_max > budget else []),
    ]
    return {
        "weight_per_min": budget,
        "exit_code": result.code,
        "wall_s": round(wall, 1),
        "accounts_stored": stored,
        "weight": report.get("weight"),
        "faults_fired": fired,
        "retries": report.get("retries"),
        "max_weight_in_any_60s_at_the_venue": venue_max,
        "machine": machine(),
        "failures": failures,
        "ok": not failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weight-per-min", type=int, default=1200, help="0 lifts the limit")
    parser.add_argument("--json", action="store_true", help="print only the JSON summary")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracker-hostile-") as tmp:
        summary = asyncio.run(hostile(args.weight_per_min, Path(tmp)))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
