"""Soak: `tracker run` for an hour over 1,000 accounts while a scripted price path plays.

    .venv/bin/python bench/soak.py [--accounts 1000] [--minutes 60] [--no-live] [--json]

The fake Hyperliquid (tests/fakes) runs in this process with N modelled accounts (1-4 positions
each, BTC/ETH/SOL/HYPE, cross and isolated: bench/snapshot.py's `make_state`), 20 fills each,
and then, every 10 s, a new fill for 5 random accounts. First a `tracker snapshot` with the
limiter lifted backfills history (unless --no-backfill), so the soak starts from steady state.
Then `tracker run` (live mode unless --no-live) runs for --minutes with the default weight budget
(1200 per minute, unless --weight-per-min) while every mark follows one scripted path: ETH from
2,900 down to 2,300 and back to 2,900 over the run (the other coins by the same ratio), a step
every --tick-s seconds, so positions near liquidation warn, recover and re-arm.

Every --sample-s seconds, from the first pass (or --warmup-s) on: the tracker's RSS, open file
descriptors (psutil), threads and CPU seconds; the DuckDB file size; and from the daemon's
status file (live mode) the weight used in the last minute, its count of asyncio tasks and the C
heap in use and free but held (glibc's mallinfo2, see tracker/app/live/heap.py). From the
JSON pass lines: weight and duration per pass. From the fake's own request log: the largest weight
in any 60-second window (the budget, seen from the venue). Then SIGTERM, and one JSON summary: per
metric first / last / min / max and a least-squares slope per hour over the whole run and over its
second half (after warm-up). After the stop, the store is checked as bench/crash.py checks it: no
duplicate on any natural key, no incomplete pass; and the JSONL alert sink for an alert delivered
twice. Exits 1 if the tracker died, printed a traceback, overran the budget, did not stop on
SIGTERM, stored a duplicate or an incomplete pass, or delivered an alert twice. Run by hand, not in
CI.

Leaks: `second_half` in the JSON gives, for RSS and the asyncio task count, the slope per hour of
the first and of the second half of the samples, and of their floor (the least value of each
--floor-s window, which drops the tasks and memory of a pass in flight, so what remains is what
stays). The second half is `flat` when its floor slopes are within --flat-mb-per-h and
--flat-tasks-per-h (reported, not a failure: an hour is short for a slow leak). With
--tracemalloc-s S the tracker traces Python allocations (6 frames) and dumps a snapshot every S
seconds into the work folder; the JSON then gives the traced total over time and the 15 lines
that grew most from the first snapshot to the last (native memory, DuckDB's included, is RSS
minus the traced total).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from crash import store_checks  # noqa: E402
from snapshot import COINS, machine, make_state, process_sample, work_dir  # noqa: E402

from tests.fakes import loaders  # noqa: E402
from tests.fakes.hyperliquid import FakeHyperliquid  # noqa: E402
from tests.history_data import make_fills  # noqa: E402

ETH_TOP, ETH_BOTTOM = 2900.0, 2300.0
# Loaded by the tracker's interpreter (PYTHONPATH) with --tracemalloc-s: traces allocations in
# `tracker run` and dumps a snapshot every SOAK_TRACEMALLOC_S seconds.
TRACEMALLOC_SITE = """\
import os, sys, threading, time, tracemalloc

def _dump(out, every):
    tracemalloc.start(6)
    started, i = time.monotonic(), 0
    while True:
        time.sleep(every)
        snap = tracemalloc.take_snapshot()
        name = f"{i:04d}-{int(time.monotonic() - started)}.snap"
        snap.dump(os.path.join(out, name + ".tmp"))
        os.replace(os.path.join(out, name + ".tmp"), os.path.join(out, name))
        i += 1

if os.environ.get("SOAK_TRACEMALLOC_DIR") and sys.argv[1:2] == ["run"]:
    threading.Thread(
        target=_dump,
        args=(os.environ["SOAK_TRACEMALLOC_DIR"], float(os.environ["SOAK_TRACEMALLOC_S"])),
        daemon=True,
    ).start()
"""


@dataclass(slots=True)
class Series:
    """Samples of one metric: (seconds since start, value)."""

    points: list[tuple[float, float]] = field(default_factory=list)

    def add(self, t: float, value: float) -> None:
        self.points.append((t, value))

    def summary(self, floor_s: float = 300.0) -> dict[str, Any]:
        if not self.points:
            return {"samples": 0}
        values = [v for _, v in self.points]
        first, second = halves(self.points)
        floor_first, floor_second = halves(floor(self.points, floor_s))
        return {
            "samples": len(values),
            "first": values[0],
            "last": values[-1],
            "min": min(values),
            "max": max(values),
            "slope_per_hour": slope_per_hour(self.points),
            "slope_per_hour_first_half": slope_per_hour(first),
            "slope_per_hour_second_half": slope_per_hour(second),
            "floor_s": floor_s,
            "floor_slope_per_hour_first_half": slope_per_hour(floor_first),
            "floor_slope_per_hour_second_half": slope_per_hour(floor_second),
        }


def halves(points: list[tuple[float, float]]) -> tuple[list[tuple[float, float]], ...]:
    """The samples before and from the middle of the sampled time."""
    if not points:
        return [], []
    middle = (points[0][0] + points[-1][0]) / 2
    return [p for p in points if p[0] < middle], [p for p in points if p[0] >= middle]


def floor(points: list[tuple[float, float]], window_s: float) -> list[tuple[float, float]]:
    """The least value of each window_s of samples, at the window's middle (a pass in flight
    raises the samples it spans; what a leak leaves behind raises the floor)."""
    if not points:
        return []
    start = points[0][0]
    windows: dict[int, list[float]] = {}
    for t, v in points:
        windows.setdefault(int((t - start) // window_s), []).append(v)
    return [(start + (k + 0.5) * window_s, min(vs)) for k, vs in sorted(windows.items())]


def second_half(
    rss: dict[str, Any], tasks: dict[str, Any], mb_per_h: float, tasks_per_h: float
) -> dict[str, Any]:
    """First- and second-half slopes of RSS and tasks, and whether the second half is flat."""
    keys = (
        "slope_per_hour_first_half",
        "slope_per_hour_second_half",
        "floor_slope_per_hour_first_half",
        "floor_slope_per_hour_second_half",
    )
    out: dict[str, Any] = {
        "rss_mb_per_h": {k: rss.get(k) for k in keys},
        "tasks_per_h": {k: tasks.get(k) for k in keys},
        "flat_if_floor_slope_within": {"rss_mb_per_h": mb_per_h, "tasks_per_h": tasks_per_h},
    }
    rss_slope = rss.get("floor_slope_per_hour_second_half")
    task_slope = tasks.get("floor_slope_per_hour_second_half")
    out["flat"] = (
        None
        if rss_slope is None or task_slope is None
        else abs(rss_slope) <= mb_per_h and abs(task_slope) <= tasks_per_h
    )
    return out


def tracemalloc_report(folder: Path, top: int = 15) -> dict[str, Any]:
    """Traced Python memory over the run and the lines that grew most, from the dumps."""
    import tracemalloc

    dumps = sorted(folder.glob("*.snap"))
    if len(dumps) < 2:
        return {"snapshots": len(dumps)}
    totals = []
    for path in dumps:
        snap = tracemalloc.Snapshot.load(str(path))
        totals.append(
            [
                int(path.stem.split("-")[1]),
                round(sum(s.size for s in snap.statistics("filename")) / 1e6, 2),
            ]
        )
    first = tracemalloc.Snapshot.load(str(dumps[0]))
    last = tracemalloc.Snapshot.load(str(dumps[-1]))
    grown = last.compare_to(first, "lineno")[:top]
    return {
        "snapshots": len(dumps),
        "traced_mb_at_s": totals,
        "grew_most": [str(stat) for stat in grown],
    }


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of value over time, in units per hour."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return round(cov / var * 3600, 3)


def eth_mark(progress: float) -> float:
    """The scripted path: 2,900 -> 2,300 at half time -> 2,900 (progress 0..1)."""
    down = 1 - abs(1 - 2 * min(max(progress, 0.0), 1.0))  # 0 -> 1 -> 0
    return ETH_TOP - (ETH_TOP - ETH_BOTTOM) * down


def max_weight_in_window(requests: list[Any], since: float, window_s: float = 60.0) -> int:
    """The largest sum of request weights inside any window_s seconds after since."""
    times = [(r.time, r.weight) for r in requests if r.time >= since]
    best = total = lo = 0
    for hi in range(len(times)):
        total += times[hi][1]
        while times[hi][0] - times[lo][0] >= window_s:
            total -= times[lo][1]
            lo += 1
        best = max(best, total)
    return best


def setup_fake(fake: FakeHyperliquid, n: int) -> dict[str, list[dict[str, Any]]]:
    """N modelled accounts with 20 fills each; address -> its fills (oldest first)."""
    state, addresses = make_state(n)
    loaders.load_snapshot(fake, state)
    history = {}
    for i, address in enumerate(addresses):
        fills, _ = make_fills(20, seed=i, start_ms=int(time.time() * 1000) - 3_600_000)
        fake.put_fills(address, fills)
        history[address] = fills
    set_marks(fake, ETH_TOP)
    return history


def set_marks(fake: FakeHyperliquid, eth: float) -> None:
    ratio = eth / COINS["ETH"]
    for coin, base in COINS.items():
        fake.set_mark(coin, f"{(eth if coin == 'ETH' else base * ratio):.4f}")


def write_watchlist(path: Path, addresses: list[str]) -> Path:
    lines = []
    for i, address in enumerate(addresses):
        lines += ["[[address]]", f'address = "{address}"', f'label = "soak {i}"', ""]
    path.write_text("\n".join(lines))
    return path


def tracker_env(
    url: str, work: Path, weight: int | None, tracemalloc_s: float | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(
        {
            "TRACKER_HL_API_URL": url,
            "TRACKER_HL_WS_URL": url.replace("http://", "ws://") + "/ws",
            "TRACKER_DB": str(work / "soak.duckdb"),
            "TRACKER_ENV_FILE": str(work / "no.env"),
            "TRACKER_FOLLOW_LIQUIDATORS": "0",
            "TRACKER_ALERTS_JSONL": str(work / "alerts.jsonl"),
            "TRACKER_LOG_LEVEL": "WARNING",
        }
    )
    if weight is not None:
        env["TRACKER_HL_WEIGHT_PER_MIN"] = str(weight)
    if tracemalloc_s:
        site, dumps = work / "tracemalloc-site", work / "tracemalloc"
        site.mkdir(exist_ok=True)
        dumps.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(TRACEMALLOC_SITE)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
        env.update(SOAK_TRACEMALLOC_DIR=str(dumps), SOAK_TRACEMALLOC_S=str(tracemalloc_s))
    return env


async def read_passes(stream: asyncio.StreamReader | None, passes: list[dict[str, Any]]) -> None:
    if stream is None:
        return
    while line := await stream.readline():
        with contextlib.suppress(ValueError):
            doc = json.loads(line)
            if isinstance(doc, dict) and doc.get("event") == "pass":
                passes.append({"at": time.monotonic(), **doc})


async def backfill(env: dict[str, str], watchlist: Path) -> dict[str, Any]:
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tracker",
        "snapshot",
        "-w",
        str(watchlist),
        "--json",
        env={**env, "TRACKER_HL_WEIGHT_PER_MIN": "0"},
        cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"backfill failed ({proc.returncode}): {err.decode()[-2000:]}")
    report = json.loads(out)
    return {
        "wall_s": round(time.monotonic() - started, 1),
        "addresses_ok": report["addresses_ok"],
        "new_fills": report["new_fills"],
        "weight": report["weight"],
    }


async def soak(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    duration = args.minutes * 60
    async with FakeHyperliquid() as fake:
        history = setup_fake(fake, args.accounts)
        addresses = list(history)
        watchlist = write_watchlist(work / "soak.toml", addresses)
        env = tracker_env(fake.url, work, args.weight_per_min, args.tracemalloc_s)
        backfilled = None if args.no_backfill else await backfill(env, watchlist)
        stderr_path = work / "run.stderr"
        run_args = ["run", "-w", str(watchlist), "--interval", str(args.interval)]
        if args.no_live:
            run_args.append("--no-live")
        with stderr_path.open("wb") as stderr:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tracker",
                *run_args,
                env=env,
                cwd=str(REPO),
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
            started, since_epoch = time.monotonic(), time.time()
            passes: list[dict[str, Any]] = []
            reader = asyncio.create_task(read_passes(proc.stdout, passes))
            metrics = {k: Series() for k in ("rss_mb", "threads", "fds", "cpu_s", "db_mb")}
            budget_used, tasks = Series(), Series()
            heap_in_use, heap_free = Series(), Series()  # glibc's account, from the status
            status_file = work / "soak.duckdb.status.json"
            next_sample = next_fill = 0.0
            died = False
            while (elapsed := time.monotonic() - started) < duration:
                set_marks(fake, eth_mark(elapsed / duration))
                if elapsed >= next_fill:
                    for address in rng.sample(addresses, 5):
                        fills = history[address]
                        fills.append(
                            dict(fills[-1], time=int(time.time() * 1000), tid=rng.getrandbits(48))
                        )
                        fake.put_fills(address, list(fills))
                    next_fill = elapsed + 10
                warm = passes or elapsed >= args.warmup_s or proc.returncode is not None
                if elapsed >= next_sample and warm:
                    # Start-up (imports, the first pass) is not the soak.
                    sample = process_sample(proc.pid)
                    if sample is None or proc.returncode is not None:
                        died = True
                        break
                    for key, value in sample.items():
                        metrics[key].add(elapsed, value)
                    db = work / "soak.duckdb"
                    metrics["db_mb"].add(elapsed, db.stat().st_size / 1e6 if db.exists() else 0)
                    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                        status = json.loads(status_file.read_text())
                        budget_used.add(elapsed, status["budget"]["used_last_min"])
                        tasks.add(elapsed, status["tasks"])
                        heap_in_use.add(elapsed, status["heap"]["in_use_mb"])
                        heap_free.add(elapsed, status["heap"]["free_held_mb"])
                    next_sample = elapsed + args.sample_s
                await asyncio.sleep(args.tick_s)
            stop_started = time.monotonic()
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                code = await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                code = await proc.wait()
            stop_s = time.monotonic() - stop_started
            await reader
        max_window = max_weight_in_window(fake.requests, since_epoch)
    errors = stderr_path.read_text(errors="replace")
    store = store_checks(work / "soak.duckdb", work / "alerts.jsonl")
    duplicates = sum(store["duplicates"].values())
    weights = Series()
    durations = Series()
    for p in passes:
        weights.add(p["at"] - started, p.get("weight", 0))
        durations.add(p["at"] - started, p.get("duration_s", 0))
    budget = args.weight_per_min or 1200
    rss_summary = metrics["rss_mb"].summary(args.floor_s)
    tasks_summary = tasks.summary(args.floor_s)
    failures = [
        *(["the tracker died"] if died else []),
        *(["a traceback on stderr"] if "Traceback" in errors else []),
        *([f"max weight in a minute {max_window} > {budget}"] if max_window > budget else []),
        *([f"exit {code} after SIGTERM"] if code != 0 else []),
        *([f"{duplicates} duplicate rows on natural keys"] if duplicates else []),
        *([f"{n} incomplete passes"] if (n := store["incomplete_passes"]) else []),
        *(
            [f"{store['alert_jsonl_repeated_ids']} alerts delivered twice"]
            if store["alert_jsonl_repeated_ids"]
            else []
        ),
    ]
    return {
        "accounts": args.accounts,
        "minutes": args.minutes,
        "mode": "poll" if args.no_live else "live",
        "weight_per_min": budget,
        "backfill": backfilled,
        "passes": len(passes),
        "addresses_refreshed": sum(p.get("addresses", 0) for p in passes),
        "metrics": {k: s.summary(args.floor_s) for k, s in metrics.items()},
        "second_half": second_half(
            rss_summary, tasks_summary, args.flat_mb_per_h, args.flat_tasks_per_h
        ),
        "weight_per_pass": weights.summary(),
        "pass_duration_s": durations.summary(),
        "budget_used_last_min": budget_used.summary(),
        "asyncio_tasks": tasks_summary,
        "c_heap_in_use_mb": heap_in_use.summary(args.floor_s),
        "c_heap_free_held_mb": heap_free.summary(args.floor_s),
        **({"tracemalloc": tracemalloc_report(work / "tracemalloc")} if args.tracemalloc_s else {}),
        "store": store,
        "max_weight_in_any_60s_at_the_venue": max_window,
        "stderr_lines": len(errors.splitlines()),
        "stderr_warning_lines": sum(" WARNING " in line for line in errors.splitlines()),
        "stop_s": round(stop_s, 2),
        "exit_code": code,
        "machine": machine(),
        "failures": failures,
        "ok": not failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--interval", type=float, default=60, help="tracker run --interval")
    parser.add_argument("--weight-per-min", type=int, help="default: the tracker's (1200)")
    parser.add_argument("--no-live", action="store_true", help="soak the polling daemon")
    parser.add_argument("--no-backfill", action="store_true", help="start from an empty DB")
    parser.add_argument("--sample-s", type=float, default=5.0)
    parser.add_argument(
        "--warmup-s", type=float, default=30.0, help="sample from the first pass or after this"
    )
    parser.add_argument("--tick-s", type=float, default=1.0, help="seconds between mark steps")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--floor-s", type=float, default=300.0, help="window of the floor (least value) slopes"
    )
    parser.add_argument("--flat-mb-per-h", type=float, default=5.0, help="flat: RSS floor slope")
    parser.add_argument("--flat-tasks-per-h", type=float, default=2.0, help="flat: tasks floor")
    parser.add_argument(
        "--tracemalloc-s", type=float, help="trace the tracker's allocations, a dump every S s"
    )
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--json", action="store_true", help="print only the JSON summary")
    args = parser.parse_args()
    with work_dir(args.keep, "soak-") as work:
        summary = asyncio.run(soak(args, work))
    if not args.json:
        half = summary["second_half"]
        print(
            f"soak {args.minutes:g} min, {args.accounts} accounts: ok={summary['ok']}; "
            f"second half flat={half['flat']} (RSS floor "
            f"{half['rss_mb_per_h']['floor_slope_per_hour_second_half']} MB/h, tasks floor "
            f"{half['tasks_per_h']['floor_slope_per_hour_second_half']}/h)",
            file=sys.stderr,
        )
    print(json.dumps(summary, indent=2))
    raise SystemExit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
