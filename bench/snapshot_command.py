"""Benchmark: the `tracker snapshot` command over N replayed accounts against the SDK loop.

    .venv/bin/python bench/snapshot_command.py [--accounts 1000] [--runs 3]

The fake venue (tests/fakes) serves the N modelled accounts of bench/snapshot.py. The command is
run as a user runs it, a fresh process each time (start-up and imports included), over a
watchlist of the N addresses, weight limiter lifted: one warm-up pass first (the first sight of
an address backfills its history streams), then --runs timed steady passes (state of every
account; history not due). The SDK loop of bench/snapshot.py (`Info.user_state` +
`spot_user_state` per address, rows inserted one by one; its imports not timed) runs --runs times
on the same venue. Prints JSON: every wall time, the medians and their ratio.
Run by hand; never part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from history import env_for, tracker, watchlist  # noqa: E402
from snapshot import child, machine, make_state, start_fake  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmp:
        work = Path(tmp)
        state, addresses = make_state(args.accounts)
        state_file, addresses_file = work / "state.json", work / "addresses.json"
        state_file.write_text(json.dumps(state))
        addresses_file.write_text(json.dumps(addresses))
        wl = watchlist(work / "bench.toml", addresses)
        proc, url = start_fake(state_file)
        try:
            env = env_for(
                url, work / "cmd.duckdb", TRACKER_HL_WEIGHT_PER_MIN="0", TRACKER_HL_CONCURRENCY="32"
            )
            warm_wall, warm = tracker(["snapshot", "-w", str(wl)], env)
            ours: list[float] = []
            sdk: list[float] = []
            reports: list[dict[str, Any]] = []
            for _ in range(args.runs):  # interleaved, so load on the machine hits both alike
                wall, report = tracker(["snapshot", "-w", str(wl)], env)
                ours.append(wall)
                reports.append(report)
                sdk.append(child("sdk", url, addresses_file, work)["wall_s"])
        finally:
            proc.terminate()
            proc.wait()
    assert warm["addresses_ok"] == args.accounts, warm
    assert all(r["addresses_ok"] == args.accounts for r in reports), reports
    result = {
        "machine": machine(),
        "accounts": args.accounts,
        "positions": reports[-1].get("positions"),
        "warm_up_pass_wall_s": round(warm_wall, 3),
        "command_wall_s": [round(w, 3) for w in ours],
        "sdk_loop_wall_s": [round(w, 3) for w in sdk],
        "command_median_s": round(statistics.median(ours), 3),
        "sdk_loop_median_s": round(statistics.median(sdk), 3),
        "speedup_of_medians": round(statistics.median(sdk) / statistics.median(ours), 2),
    }
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
