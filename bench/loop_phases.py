"""Benchmark: where the event loop's CPU goes, per trade, in `bench/universe.py`'s run.

    .venv/bin/python bench/loop_phases.py --accounts 50000 [--seconds 40] [--json]

Runs bench/universe.py (same options, same fake market) with the engine's main steps timed by
the CPU time of the loop's thread (`time.thread_time_ns`) around each call: the trade path
(`LiveEngine._on_trades` and inside it `TapeBook.apply_many`, `_sides`, `_logged`,
`LiveBook.move_many`), the stream (`HyperliquidStream._handle`, and inside it `parse_frame` and
the duplicate check `_seen`), the settles, the re-marks, the near-liquidation scans, the risk
order and the status document. Steps nest, so their figures overlap; each is its total CPU over
the trades read in the run. The collector's passes on the loop's thread are timed by
`gc.callbacks`, once the engine's heap is frozen (the warm-up's are left out).

The timing adds ~0.3 us a call: the per-side steps (`_logged`, `saw_trade`) read a little high,
and `loop_cpu_us_per_trade` runs a few % above an untimed run. Compare runs of this script with
each other, not with bench/universe.py. Run by hand; never part of the tests.
"""

from __future__ import annotations

import gc
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CPU: Counter[str] = Counter()  # step -> ns of the loop thread's CPU
CALLS: Counter[str] = Counter()
TRADES = [0]  # trades parsed on the loop's thread


def _timed(owner: Any, name: str, label: str, loop: int) -> None:
    inner: Callable[..., Any] = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() != loop:
            return inner(*args, **kwargs)
        started = time.thread_time_ns()
        try:
            return inner(*args, **kwargs)
        finally:
            CPU[label] += time.thread_time_ns() - started
            CALLS[label] += 1

    setattr(owner, name, timed)


def instrument() -> None:
    from tracker.app.live.engine import LiveEngine
    from tracker.app.live.scheduler import RefreshScheduler
    from tracker.app.live.tape import TapeBook
    from tracker.risk.live.book import LiveBook
    from tracker.sources.hyperliquid import stream

    loop = threading.get_ident()  # the thread asyncio.run will use: this one
    steps = [
        (LiveEngine, "_on_trades"),
        (TapeBook, "apply_many"),
        (TapeBook, "_sides"),
        (TapeBook, "_logged"),
        (TapeBook, "reconcile"),
        (LiveBook, "move_many"),
        (LiveBook, "settle"),
        (LiveBook, "apply_marks"),
        (LiveBook, "account_risk"),
        (LiveEngine, "_check_near"),
        (LiveEngine, "status"),
        (RefreshScheduler, "saw_trade"),
        (RefreshScheduler, "next_batch"),
        (stream.HyperliquidStream, "_seen"),
    ]
    for owner, name in steps:
        _timed(owner, name, f"{owner.__name__}.{name}", loop)

    parse = stream.parse_frame

    def parse_frame(raw: str | bytes, ts: Any) -> Any:
        started = time.thread_time_ns()
        frame = parse(raw, ts)
        CPU["parse_frame"] += time.thread_time_ns() - started
        CALLS["parse_frame"] += 1
        if frame.channel == "trades":
            TRADES[0] += len(frame.records)
        return frame

    stream.parse_frame = parse_frame  # type: ignore[assignment]
    handle = stream.HyperliquidStream._handle

    async def timed_handle(self: Any, raw: str | bytes) -> None:
        started = time.thread_time_ns()  # it never waits: the queue is unbounded
        await handle(self, raw)
        CPU["HyperliquidStream._handle"] += time.thread_time_ns() - started
        CALLS["HyperliquidStream._handle"] += 1

    stream.HyperliquidStream._handle = timed_handle  # type: ignore[method-assign]
    began = [0]

    def collector(phase: str, info: dict[str, int]) -> None:
        if threading.get_ident() != loop or not gc.get_freeze_count():
            return
        if phase == "start":
            began[0] = time.thread_time_ns()
        else:
            label = f"gc generation {info['generation']}"
            CPU[label] += time.thread_time_ns() - began[0]
            CALLS[label] += 1

    gc.callbacks.append(collector)


def main() -> None:
    import bench.universe as universe

    as_json = "--json" in sys.argv
    instrument()
    captured: dict[str, Any] = {}
    run = universe.run

    async def keep(*args: Any) -> dict[str, Any]:
        captured.update(await run(*args))
        return captured

    universe.run = keep  # type: ignore[assignment]
    sys.argv = [a for a in sys.argv if a != "--json"]
    universe.main()  # prints bench/universe.py's figures first
    trades = max(TRADES[0], 1)
    phases = {
        label: {"us_per_trade": round(ns / 1e3 / trades, 1), "calls": CALLS[label]}
        for label, ns in CPU.most_common()
    }
    result = {
        "trades_parsed": TRADES[0],
        "loop_cpu_us_per_trade": captured.get("loop_cpu_us_per_trade"),
        "phases": phases,
    }
    if as_json:
        print(json.dumps(result))
    else:
        for label, figures in phases.items():
            per, calls = figures["us_per_trade"], figures["calls"]
            print(f"{label:36} {per:7.1f} us a trade  {calls:>9} calls")


if __name__ == "__main__":
    main()
