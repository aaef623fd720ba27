"""Benchmark: live mode against naive polling, same weight budget, N watched accounts.

    .venv/bin/python bench/live.py --accounts 1000 --json [--seconds 90]

The fake venue (REST + WebSocket) runs in this process with N modelled accounts. First a
`tracker snapshot` with the limit lifted stores every account once (what a daemon that has been
running would have); then, with the default budget (1200 weight/min):
- live: `tracker run` (live mode, warmed from the store) while every second all marks move (an
  allMids message) and one random watched account trades on the public feed;
- naive: `tracker run --no-live --interval 1` under the same budget and the same price path.
Figures for live come from the daemon's own status file (mark received -> every position
re-marked; trade received -> that account refreshed and stored; the limiter's max weight in any
60 s); CPU and RSS are sampled with psutil. For naive polling a mark change reaches a position only
when that account is next polled, so its figures are the measured time to poll every account once
(p99 ~ the whole cycle) from the measured refresh rate. Run by hand; never part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from snapshot import COINS, machine, make_state, process_sample  # noqa: E402

from tests.fakes import loaders  # noqa: E402
from tests.fakes.hyperliquid import FakeHyperliquid  # noqa: E402


def env_for(url: str, db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(
        {
            "TRACKER_HL_API_URL": url,
            "TRACKER_DB": str(db),
            "TRACKER_ENV_FILE": "/none",
            "TRACKER_FOLLOW_LIQUIDATORS": "0",
            "PYTHONPATH": str(REPO),
        }
    )
    env.update(extra)
    return env


def watchlist(path: Path, addresses: list[str]) -> Path:
    path.write_text(
        "".join(
            f'[[address]]\naddress = "{a}"\nlabel = "b{i}"\n\n' for i, a in enumerate(addresses)
        )
    )
    return path


def proc_sample(pid: int) -> tuple[float, float]:
    """(cpu seconds, rss MB) of the tracker process under test."""
    sample = process_sample(pid)
    if sample is None:
        raise SystemExit(f"process {pid} is gone")
    return sample["cpu_s"], sample["rss_mb"]


async def drive(
    fake: FakeHyperliquid,
    addresses: list[str],
    seconds: float,
    stop: asyncio.Event,
    trades: list[float],
) -> None:
    """Every second: move every mark, and one random watched account trades."""
    rng = random.Random(11)
    marks = dict(COINS)
    started = time.monotonic()
    while time.monotonic() - started < seconds and not stop.is_set():
        for coin in marks:
            marks[coin] *= 1 + rng.gauss(0, 0.002)
            fake.set_mark(coin, f"{marks[coin]:.2f}")
        fake.ws.trade(
            "ETH",
            f"{marks['ETH']:.2f}",
            "1.0",
            buyer=rng.choice(addresses),
            seller="0x" + "55" * 20,
        )
        trades.append(time.time())
        await asyncio.sleep(1.0)


async def run_daemon(
    args: list[str],
    env: dict[str, str],
    fake: FakeHyperliquid,
    addresses: list[str],
    seconds: float,
) -> dict[str, Any]:
    """Run `tracker run ARGS` while driving marks and trades; sample it and read its status."""
    errors = Path(env["TRACKER_DB"] + ".stderr")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tracker",
        "run",
        *args,
        env=env,
        cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE,
        stderr=errors.open("wb"),
    )
    passes: list[dict[str, Any]] = []

    async def read_lines() -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            passes.append(json.loads(line))

    reader = asyncio.create_task(read_lines())
    await asyncio.sleep(5)  # start-up: imports, warm book, subscriptions
    cpu0, _ = proc_sample(proc.pid)
    t0 = time.monotonic()
    states0 = sum(r.type == "clearinghouseState" for r in fake.requests)
    trades: list[float] = []
    stop = asyncio.Event()
    driver = asyncio.create_task(drive(fake, addresses, seconds, stop, trades))
    rss_max = 0.0
    polled_at: list[tuple[float, int]] = []
    while not driver.done():
        if proc.returncode is not None:
            stop.set()
            raise SystemExit(f"tracker run {' '.join(args)} died:\n{errors.read_text()[-3000:]}")
        _, rss = proc_sample(proc.pid)
        rss_max = max(rss_max, rss)
        polled_at.append(
            (time.monotonic(), sum(r.type == "clearinghouseState" for r in fake.requests))
        )
        await asyncio.sleep(1.0)
    cpu1, _ = proc_sample(proc.pid)
    elapsed = time.monotonic() - t0
    # Steady state: the last full minute (a fresh process spends a whole window at once).
    end_t, end_n = polled_at[-1]
    start_t, start_n = next(((t, c) for t, c in polled_at if t >= end_t - 60), polled_at[0])
    polled_per_s = (end_n - start_n) / max(end_t - start_t, 1.0)
    del states0
    status_file = Path(env["TRACKER_DB"] + ".status.json")
    text = await asyncio.to_thread(lambda: status_file.read_text() if status_file.exists() else "")
    status = json.loads(text) if text else {}
    if proc.returncode is not None:
        raise SystemExit(f"tracker run {' '.join(args)} died:\n{errors.read_text()[-2000:]}")
    proc.send_signal(signal.SIGTERM)
    await proc.wait()
    await reader
    refreshed = sum(p["addresses_ok"] for p in passes)
    weight = max((p.get("weight", 0) for p in passes), default=0)
    return {
        "status": status,
        "passes": passes,
        "refreshed": refreshed,
        "elapsed_s": elapsed,
        "accounts_polled_per_s": polled_per_s,
        "cpu_pct": round((cpu1 - cpu0) / elapsed * 100, 1),
        "rss_mb": round(rss_max, 1),
        "max_pass_weight": weight,
    }


async def bench(n: int, seconds: float, work: Path, modes: set[str]) -> dict[str, Any]:
    state, addresses = make_state(n)
    fake = FakeHyperliquid()
    loaders.load_snapshot(fake, state)
    async with fake:
        wl = watchlist(work / "w.toml", addresses)
        for mode in ("live", "naive"):
            db = work / f"{mode}.duckdb"
            backfill = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tracker",
                "snapshot",
                "-w",
                str(wl),
                env=env_for(
                    fake.url, db, TRACKER_HL_WEIGHT_PER_MIN="0", TRACKER_HL_CONCURRENCY="32"
                ),
                cwd=str(REPO),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            assert await backfill.wait() == 0, "backfill failed"
        idle: dict[str, Any] = {
            "status": {},
            "elapsed_s": 1.0,
            "accounts_polled_per_s": 0,
            "cpu_pct": None,
            "rss_mb": None,
        }
        live = (
            idle
            if "live" not in modes
            else await run_daemon(
                ["-w", str(wl), "--interval", "120"],
                env_for(fake.url, work / "live.duckdb"),
                fake,
                addresses,
                seconds,
            )
        )
        naive = (
            idle
            if "naive" not in modes
            else await run_daemon(
                ["-w", str(wl), "--interval", "1", "--no-live"],
                env_for(fake.url, work / "naive.duckdb"),
                fake,
                addresses,
                max(seconds, 125.0),  # at least one full minute after the first window
            )
        )
    s = live["status"]
    naive_rate = naive["accounts_polled_per_s"]  # one main-dex state per account polled
    cycle = n / naive_rate if naive_rate else None
    return {
        "accounts": n,
        "positions": sum(len(m["positions"]) for m in state["models"]),
        "seconds": seconds,
        "live": {
            "mark_to_risk_p99_ms": s.get("mark_to_risk_p99_ms"),
            "trade_to_refresh_p99_s": s.get("trade_to_refresh_p99_s"),
            "weight_per_min_max": s.get("budget", {}).get("max_in_any_min"),
            "cpu_pct": live["cpu_pct"],
            "rss_mb": live["rss_mb"],
            "mark_updates": s.get("mark_updates"),
            "trades_seen": s.get("trades_seen"),
            "refreshes": s.get("refreshes"),
            "staleness_p50_s": s.get("staleness_p50_s"),
            "stream": s.get("stream", {}).get("state"),
        },
        "naive_polling": {
            "mark_to_risk_p99_ms": round(cycle * 1000) if cycle else None,
            "trade_to_refresh_p99_s": round(cycle * 0.99, 1) if cycle else None,
            "accounts_polled_per_s": round(naive_rate, 2),
            "cpu_pct": naive["cpu_pct"],
            "rss_mb": naive["rss_mb"],
            "note": "derived: a change reaches a position when its account is next polled; "
            "p99 ~ the time to poll every account once at the measured rate",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--modes", default="live,naive", help="live, naive or both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracker-live-") as tmp:
        result = asyncio.run(
            bench(args.accounts, args.seconds, Path(tmp), set(args.modes.split(",")))
        )
    result["machine"] = machine()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    live, naive = result["live"], result["naive_polling"]
    print(
        f"N={args.accounts}: live mark->risk p99 {live['mark_to_risk_p99_ms']} ms, trade->"
        f"refresh p99 {live['trade_to_refresh_p99_s']} s, max weight/min "
        f"{live['weight_per_min_max']}, cpu {live['cpu_pct']}%, rss {live['rss_mb']} MB | "
        f"naive p99 {naive['mark_to_risk_p99_ms']} ms / {naive['trade_to_refresh_p99_s']} s"
    )


if __name__ == "__main__":
    main()
