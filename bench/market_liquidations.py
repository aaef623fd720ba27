"""Benchmark: liquidations of any account found on the tape, within the budget (issue 15).

    .venv/bin/python bench/market_liquidations.py --json [--minutes 3] [--trades-per-s 5000]

The fake venue (REST + WebSocket) and a webhook receiver run in this process; a plain live
`tracker run` (a watchlist of one account that is never liquidated, the default budget) runs as a
subprocess. For `--minutes` the script plays a cascade on BTC, ETH and SOL: `--trades-per-s`
ordinary trades a second (fresh takers, real hashes), TWAP slices (all-zero hash) and now and then
a large ordinary market order ($2M-$20M, one hash: a candidate that must be rejected), and
liquidations of heavy-tailed size ($50k to $250M, Pareto) at a rate giving `--big-per-min` of $1M
or more a minute. Each is liquidated as the venue does: a position of $100k or less at once; a
larger one loses 20 % first, then after `--cooldown-s` (the venue's 30 s, compressed) the rest
goes in one market order (40 % of them) or to an HLP child by backstop (50 %), or the account
recovered and kept it (10 %). Every fill of the account carries its `startPosition`. After a
drain it reports:

- `recall_1m`, `recall_10m`: liquidations of $1M / $10M or more stored as one episode within
  0.5 % of their notional;
- `false_liquidations`: episodes of accounts (or coins) never liquidated (must be 0);
- `detect_p50_s`, `detect_p99_s`: first slice on the tape to its `large_liquidation` webhook
  received (liquidations of $1M or more; the alert is sent once the episode is stored; with the
  default `TRACKER_LARGE_LIQUIDATION_BASIS=position` it can go at the first slice);
- `alerts_position_only`: alerts for positions of $1M or more that recovered after their first
  slice, so under $1M was liquidated (by design on the position basis; 0 on `--basis liquidated`),
  and `alerts_false`: alerts for positions under $1M (must be 0);
- `tape_large_p99_s`: first slice to the slice that takes the liquidation to $1M on the tape
  (no detector can call it large sooner), and `detect_after_large_p50_s` / `_p99_s`: that
  slice to the webhook (the tracker's own part);
- `confirm_weight_per_min_max`, `weight_per_min_max`: the most weight the confirmations, and the
  whole tracker, spent in any 60 s (the daemon's status file);
- `dropped_for_budget`, `candidates`, `confirm_calls` (REST reads), `confirmed_ws` and
  `confirmed_rest` (candidates confirmed from a `userFills` snapshot / over REST),
  `ws_fallbacks`, CPU and RSS of the tracker.
Goals (issue 15): recall_10m 1.0, recall_1m >= 0.95, no false liquidation, detect_p99_s < 10,
weight never above 1200 a minute. Run by hand; never part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import signal
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import duckdb  # noqa: E402
from live import env_for, proc_sample, watchlist  # noqa: E402
from snapshot import machine  # noqa: E402

from tests.alert_receiver import AlertReceiver  # noqa: E402
from tests.fakes import seed  # noqa: E402
from tests.fakes.hyperliquid import FakeHyperliquid  # noqa: E402
from tests.fakes.liquidations import ZERO_HASH, Liquidated, Tape  # noqa: E402
from tracker.percentiles import percentile  # noqa: E402

PX = {"BTC": Decimal(84_000), "ETH": Decimal(2_900), "SOL": Decimal(120)}
CHILDREN = [
    "0xb0a55f13d22f66e6d495ac98113841b2326e9540",
    "0x2ed5c4484ea3ff8b57d5f2fb152a40d9f2b68308",
]
MIN_USD, MAX_USD = 50_000.0, 250_000_000.0


def pareto_usd(rng: random.Random, alpha: float) -> float:
    """A liquidation's size: Pareto from $50k, capped at $250M."""
    return min(MIN_USD * (1 - rng.random()) ** (-1 / alpha), MAX_USD)


async def liquidate(
    tape: Tape,
    done: Liquidated,
    usd: float,
    rng: random.Random,
    cooldown_s: float,
    first: dict[str, float],
    large: dict[str, float],
) -> None:
    """As the venue does it: a position of $100k or less goes in one order; a larger one loses
    20 % first (3 orders), then after the cooldown, if still under water, the rest goes in one
    market order (40 %), or the backstop takes it (50 %), or the account recovered (10 %)."""
    px = PX[done.coin]
    size = (Decimal(str(usd)) / px).quantize(Decimal("0.00001"))
    done.held = size
    first[done.user] = time.monotonic()
    if usd <= 100_000:
        tape.slice(done, long=True, px=px, size=size, mark_px=px, orders=1)
        return
    part = (size / 5).quantize(Decimal("0.00001"))
    tape.slice(done, long=True, px=px, size=part, mark_px=px, orders=3)
    if done.notional_usd >= 1_000_000:
        large.setdefault(done.user, time.monotonic())
    await asyncio.sleep(cooldown_s)
    fate, rest = rng.random(), size - part
    if fate < 0.4:
        tape.slice(done, long=True, px=px, size=rest, mark_px=px, orders=3)
    elif fate < 0.9:
        tape.backstop(done, long=True, px=px, size=rest, vault=rng.choice(CHILDREN))
    if done.notional_usd >= 1_000_000:
        large.setdefault(done.user, time.monotonic())


async def flow(tape: Tape, per_s: int, stop: asyncio.Event, rng: random.Random) -> None:
    """Ordinary trades, TWAP slices and now and then a large ordinary market order."""
    ticks = 0
    while not stop.is_set():
        now = time.time_ns() // 1_000_000
        for coin, px in PX.items():
            n = per_s // 10 // len(PX)
            items = []
            for i in range(n):
                size = Decimal(str(round(rng.lognormvariate(0, 1.5) * 1000 / float(px), 5)))
                twap = i % 100 == 0
                items.append(
                    tape._trade(
                        coin,
                        px,
                        max(size, Decimal("0.00001")),
                        tape._maker(),
                        tape._maker(),
                        rng.random() < 0.5,
                        ZERO_HASH if twap else tape._hash(),
                        now,
                    )
                )
            tape.push(coin, items)
        ticks += 1
        if ticks % 100 == 0:  # every ~10 s
            coin = rng.choice(list(PX))
            usd = Decimal(rng.randint(2, 20) * 1_000_000)
            tape.market_order(coin, PX[coin], usd / PX[coin], tape._maker())
        await asyncio.sleep(0.1)


def read_episodes(db: Path) -> list[tuple[str, str, Decimal]]:
    """(address, coin, notional) of every stored episode."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        episodes = con.execute("select address, coin, notional_usd from liquidations").fetchall()
        return [(a, c, Decimal(n)) for a, c, n in episodes]
    finally:
        con.close()


async def bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    rng = random.Random(15)
    fake = FakeHyperliquid.seeded()
    receiver = AlertReceiver()
    async with fake, receiver:
        tape = Tape(fake, record=False)
        tape.hlp_children(CHILDREN)
        for coin, px in PX.items():
            fake.set_mark(coin, px)
        db = work / "m.duckdb"
        env = env_for(
            fake.url,
            db,
            TRACKER_WEBHOOK_URL=f"{receiver.url}/hook",
            TRACKER_LIQUIDATION_CONFIRM_WEIGHT_PER_MIN=str(args.confirm_weight),
            TRACKER_LARGE_LIQUIDATION_BASIS=args.basis,
        )
        wl = watchlist(work / "w.toml", [seed.CROSS_SHORT_SOL])
        errors = db.with_suffix(".stderr")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tracker",
            "run",
            "-w",
            str(wl),
            "--interval",
            "600",
            env=env,
            cwd=str(REPO),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=errors.open("wb"),
        )
        async with asyncio.timeout(60):
            while fake.ws.subscribers("trades", coin="SOL") == 0:
                if proc.returncode is not None:
                    raise SystemExit(f"tracker run died:\n{errors.read_text()[-3000:]}")
                await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # the HLP children read
        cpu0, _ = proc_sample(proc.pid)
        stop = asyncio.Event()
        flowing = asyncio.create_task(flow(tape, args.trades_per_s, stop, rng))
        p_big = (MIN_USD / 1_000_000) ** args.alpha
        per_s = args.big_per_min / 60 / p_big
        truth: list[Liquidated] = []
        first: dict[str, float] = {}
        large: dict[str, float] = {}
        tasks: set[asyncio.Task[None]] = set()
        started, rss = time.monotonic(), 0.0
        victims = (f"0x{0xDEAD0000 + i:040x}" for i in itertools.count())
        while time.monotonic() - started < args.minutes * 60:
            await asyncio.sleep(rng.expovariate(per_s))
            done = Liquidated(user=next(victims), coin=rng.choice(list(PX)))
            truth.append(done)
            task = asyncio.create_task(
                liquidate(
                    tape, done, pareto_usd(rng, args.alpha), rng, args.cooldown_s, first, large
                )
            )
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            rss = max(rss, proc_sample(proc.pid)[1])
        await asyncio.gather(*tasks)
        await asyncio.sleep(args.drain_s)
        stop.set()
        await flowing
        cpu1, _ = proc_sample(proc.pid)
        elapsed = time.monotonic() - started
        status_file = Path(str(db) + ".status.json")
        status = json.loads(status_file.read_text()) if status_file.exists() else {}
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
        hooks = [
            (r.body.get("address"), r.at)
            for r in receiver.received("/hook")
            if r.body and r.body.get("kind") == "large_liquidation"
        ]
    episodes = read_episodes(db)
    return report(truth, (first, large), episodes, hooks, status, elapsed, cpu1 - cpu0, rss, args)


def report(
    truth: list[Liquidated],
    times: tuple[dict[str, float], dict[str, float]],
    episodes: list[tuple[str, str, Decimal]],
    hooks: list[tuple[str, float]],
    status: dict[str, Any],
    elapsed: float,
    cpu_s: float,
    rss: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    first, large = times
    found = {(a, c): n for a, c, n in episodes}
    liquidated = {(t.user, t.coin) for t in truth}

    def recall(floor: float) -> float | None:
        band = [t for t in truth if t.notional_usd >= Decimal(floor)]
        hit = [
            t
            for t in band
            if abs(found.get((t.user, t.coin), Decimal(0)) - t.notional_usd) <= t.notional_usd / 200
        ]
        return round(len(hit) / len(band), 4) if band else None

    first_hook: dict[str, float] = {}
    for address, at in hooks:
        first_hook.setdefault(address, at)
    detect = [
        first_hook[t.user] - first[t.user]
        for t in truth
        if t.notional_usd >= 1_000_000 and t.user in first_hook
    ]
    tape_large = [large[u] - first[u] for u in large]
    # (liquidated, position at stake) of each liquidation, USD
    at_stake = {
        t.user: (t.notional_usd, t.notional_usd + (t.held or 0) * PX[t.coin]) for t in truth
    }
    alerted = {u for u in first_hook if u in at_stake}
    after_large = [first_hook[u] - large[u] for u in large if u in first_hook]
    daemon = status
    watch = daemon.get("liquidations") or {}
    return {
        "machine": machine(),
        "params": vars(args),
        "elapsed_s": round(elapsed, 1),
        "liquidations": len(truth),
        "liquidations_1m": sum(t.notional_usd >= 1_000_000 for t in truth),
        "liquidations_10m": sum(t.notional_usd >= 10_000_000 for t in truth),
        "recall_1m": recall(1_000_000),
        "recall_10m": recall(10_000_000),
        "false_liquidations": sum(1 for key in found if key not in liquidated),
        "detect_p50_s": percentile(detect, 0.5),
        "detect_p99_s": percentile(detect, 0.99),
        "alerts_position_only": sum(
            1 for u in alerted if at_stake[u][0] < 1_000_000 <= at_stake[u][1]
        ),
        "alerts_false": sum(1 for u in alerted if at_stake[u][1] < 1_000_000),
        "tape_large_p99_s": percentile(tape_large, 0.99),
        "detect_after_large_p50_s": percentile(after_large, 0.5),
        "detect_after_large_p99_s": percentile(after_large, 0.99),
        "confirm_weight_per_min_max": watch.get("weight_max_in_any_min"),
        "weight_per_min_max": (daemon.get("budget") or {}).get("max_in_any_min"),
        "dropped_for_budget": watch.get("dropped_for_budget"),
        "candidates": watch.get("candidates"),
        "confirm_calls": watch.get("confirm_calls"),
        "confirmed_ws": watch.get("confirmed_ws"),
        "confirmed_rest": watch.get("confirmed_rest"),
        "ws_fallbacks": watch.get("ws_fallbacks"),
        "ws_messages_last_min": watch.get("ws_messages_last_min"),
        "trades_seen": daemon.get("trades_seen"),
        "cpu_pct": round(cpu_s / elapsed * 100, 1),
        "rss_mb_max": round(rss, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--trades-per-s", type=int, default=5000)
    parser.add_argument("--big-per-min", type=float, default=20.0)
    parser.add_argument("--alpha", type=float, default=0.8, help="Pareto tail of the sizes")
    parser.add_argument("--cooldown-s", type=float, default=5.0, help="between slices")
    parser.add_argument("--drain-s", type=float, default=60.0, help="after the last liquidation")
    parser.add_argument(
        "--confirm-weight", type=int, default=300, help="TRACKER_LIQUIDATION_CONFIRM_WEIGHT_PER_MIN"
    )
    parser.add_argument(
        "--basis",
        choices=("position", "liquidated"),
        default="position",
        help="TRACKER_LARGE_LIQUIDATION_BASIS",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        result = asyncio.run(bench(args, Path(work)))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        for key, value in result.items():
            if key not in ("machine", "params"):
                print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
