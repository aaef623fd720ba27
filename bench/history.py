"""Benchmark: `tracker snapshot` passes over watchlists, fill ingest, and a pass within the budget.

    .venv/bin/python bench/history.py [--accounts 1000] [--budget-pass] [--json]

1. pass: N accounts (1-4 positions and 40 fills each) in a watchlist; the `tracker snapshot`
   command itself, as a user runs it (process start included), limiter lifted: the first pass
   (state + backfill of every history stream) and a second one (state; history not due), against
   the SDK loop of bench/snapshot.py on the same accounts.
2. ingest: one account with 12,000 fills (10,000 available): backfill fills/s, then 2,000 new fills
   read incrementally.
3. --budget-pass: after a backfill with the limit lifted, the next pass over N accounts with the
   default budget (1200 weight/min): how long it takes and where the weight goes; and what the
   first pass (state + backfill of three history streams per account) costs in weight.
Run by hand; never part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from snapshot import child, machine, make_state, start_fake  # noqa: E402

from tests.history_data import make_fills  # noqa: E402


def watchlist(path: Path, addresses: list[str]) -> Path:
    lines = []
    for i, address in enumerate(addresses):
        lines += ["[[address]]", f'address = "{address}"', f'label = "bench {i}"', ""]
    path.write_text("\n".join(lines))
    return path


def tracker(args: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "tracker", *args, "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(
            f"tracker {' '.join(args)} failed ({out.returncode}):\n{out.stderr[-2000:]}"
        )
    return wall, dict(json.loads(out.stdout))


def env_for(url: str, db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(
        {
            "TRACKER_HL_API_URL": url,
            "TRACKER_DB": str(db),
            "TRACKER_ENV_FILE": "/nonexistent",
            "PYTHONPATH": str(REPO),
        }
    )
    env.update(extra)
    return env


def pass_bench(n: int, work: Path) -> dict[str, Any]:
    state, addresses = make_state(n)
    accounts: dict[str, Any] = {}
    for i, address in enumerate(addresses):
        fills, _ = make_fills(40, seed=i, start_ms=1_769_800_000_000 + i)
        accounts[address] = {"userFills": list(reversed(fills))}
    state["accounts"] = accounts
    state_file, addresses_file = work / "state.json", work / "addresses.json"
    state_file.write_text(json.dumps(state))
    addresses_file.write_text(json.dumps(addresses))
    wl = watchlist(work / "bench.toml", addresses)
    proc, url = start_fake(state_file)
    try:
        db = work / "pass.duckdb"
        env = env_for(url, db, TRACKER_HL_WEIGHT_PER_MIN="0", TRACKER_HL_CONCURRENCY="32")
        first_wall, first = tracker(["snapshot", "-w", str(wl)], env)
        second_wall, second = tracker(["snapshot", "-w", str(wl)], env)
        sdk = child("sdk", url, addresses_file, work)
    finally:
        proc.terminate()
        proc.wait()
    assert first["addresses_ok"] == n, first
    assert second["addresses_ok"] == n, second
    return {
        "accounts": n,
        "first_pass": {
            "wall_s": round(first_wall, 3),
            "new_fills": first["new_fills"],
            "weight": first["weight"],
            "weight_by_type": first["weight_by_type"],
        },
        "second_pass": {
            "wall_s": round(second_wall, 3),
            "new_fills": second["new_fills"],
            "weight": second["weight"],
            "weight_by_type": second["weight_by_type"],
        },
        "sdk_loop_wall_s": round(sdk["wall_s"], 3),
        "speedup_second_pass": round(sdk["wall_s"] / second_wall, 2),
        "speedup_first_pass": round(sdk["wall_s"] / first_wall, 2),
    }


def ingest_bench(work: Path) -> dict[str, Any]:
    address = "0x" + "ab" * 20
    fills, _ = make_fills(12_000)
    state = {"perpDexs": [None], "accounts": {address: {"userFills": list(reversed(fills))}}}
    state_file = work / "ingest.json"
    state_file.write_text(json.dumps(state))
    wl = watchlist(work / "ingest.toml", [address])
    proc, url = start_fake(state_file)
    try:
        env = env_for(url, work / "ingest.duckdb", TRACKER_HL_WEIGHT_PER_MIN="0")
        backfill_wall, backfill = tracker(["snapshot", "-w", str(wl), "--full-history"], env)
    finally:
        proc.terminate()
        proc.wait()
    more, _ = make_fills(2_000, start_ms=fills[-1]["time"] + 1000, seed=9)
    state["accounts"][address]["userFills"] = list(reversed(fills + more))
    state_file.write_text(json.dumps(state))
    proc, url = start_fake(state_file)
    try:
        env = env_for(url, work / "ingest.duckdb", TRACKER_HL_WEIGHT_PER_MIN="0")
        incr_wall, incr = tracker(["snapshot", "-w", str(wl), "--full-history"], env)
    finally:
        proc.terminate()
        proc.wait()
    return {
        "backfill": {
            "fills": backfill["new_fills"],
            "wall_s": round(backfill_wall, 3),
            "fills_per_s": round(backfill["new_fills"] / backfill_wall),
        },
        "incremental": {
            "fills": incr["new_fills"],
            "wall_s": round(incr_wall, 3),
            "fills_per_s": round(incr["new_fills"] / incr_wall),
        },
    }


def budget_bench(n: int, work: Path) -> dict[str, Any]:
    """Backfill with the limit lifted, then time the next pass under the default budget."""
    state, addresses = make_state(n)
    state_file = work / "budget.json"
    state_file.write_text(json.dumps(state))
    wl = watchlist(work / "budget.toml", addresses)
    proc, url = start_fake(state_file)
    try:
        db = work / "budget.duckdb"
        _, first = tracker(
            ["snapshot", "-w", str(wl)], env_for(url, db, TRACKER_HL_WEIGHT_PER_MIN="0")
        )
        wall, report = tracker(["snapshot", "-w", str(wl)], env_for(url, db))  # 1200 weight/min
    finally:
        proc.terminate()
        proc.wait()
    return {
        "accounts": n,
        "first_pass_weight": first["weight"],
        "first_pass_minutes_at_1200_per_min": round(first["weight"] / 1200, 1),
        "steady_pass_wall_s": round(wall, 1),
        "steady_pass_weight": report["weight"],
        "steady_pass_weight_by_type": report["weight_by_type"],
        "note": "a new process starts with an empty window, so its first 1200 weight go at once "
        "and the rest at 1200 per minute; a daemon pays the full rate every pass",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--budget-pass", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmp:
        work = Path(tmp)
        results: dict[str, Any] = {
            "machine": machine(),
            "pass": pass_bench(args.accounts, work),
            "ingest": ingest_bench(work),
        }
        if args.budget_pass:
            results["budget_pass"] = budget_bench(args.accounts, work)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
