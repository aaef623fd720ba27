"""Benchmark: the wire parse alone (JSON bytes -> records), per answer, in one process.

    .venv/bin/python bench/parse.py [--accounts 1000] [--rounds 15] [--json] [--repo PATH]

- snapshot: the clearinghouseState and spotClearinghouseState answers of N modelled accounts
  (bench/snapshot.py's accounts, served once by the fake venue and kept as bytes), then
  `orjson.loads` + `parse_clearinghouse_state` / `parse_spot_state` over all of them;
- fills: 2,000 fills (one full userFillsByTime page) through `parse_fills`;
- tape: 20,000 `trades` frames of one trade and 2,000 of ten (both naming buyer and seller),
  each through `parse_frame` as the stream reads them.
Each figure is the median CPU time of `--rounds` rounds. `--repo` measures the tracker of another
checkout (a worktree of the base branch) with the same answers, to compare before and after on
one machine. Run by hand; never part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def fetch_answers(n: int) -> list[bytes]:
    """The 2n state answers of bench/snapshot.py's N accounts, as the fake venue serves them."""
    sys.path.insert(0, str(REPO / "bench"))
    import aiohttp
    from snapshot import make_state, start_fake

    state, addresses = make_state(n)
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmp:
        state_file = Path(tmp) / "state.json"
        state_file.write_text(json.dumps(state))
        proc, url = start_fake(state_file)
        try:

            async def run() -> list[bytes]:
                async with aiohttp.ClientSession() as session:

                    async def get(body: dict[str, Any]) -> bytes:
                        async with session.post(url + "/info", json=body) as resp:
                            return await resp.read()

                    out = []
                    for a in addresses:
                        out.append(await get({"type": "clearinghouseState", "user": a, "dex": ""}))
                        out.append(await get({"type": "spotClearinghouseState", "user": a}))
                    return out

            return asyncio.run(run())
        finally:
            proc.terminate()
            proc.wait()


def trade_frames(count: int, per_frame: int) -> list[bytes]:
    """`trades` frames as the venue sends them (reference §2.4), buyer and seller named."""
    import orjson

    frames, tid = [], 1
    for _ in range(count):
        items = []
        for _ in range(per_frame):
            items.append(
                {
                    "coin": "ETH",
                    "side": "B" if tid % 2 else "A",
                    "px": f"{2900 + tid % 97 / 10:.1f}",
                    "sz": f"{tid % 13 + 0.25:.4f}",
                    "hash": "0x" + format(tid, "064x"),
                    "time": 1_769_800_000_000 + tid,
                    "tid": tid,
                    "users": [f"0x{tid:040x}", f"0x{tid + 1:040x}"],
                }
            )
            tid += 1
        frames.append(orjson.dumps({"channel": "trades", "data": items}))
    return frames


def median_cpu(fn: Callable[[], object], rounds: int) -> float:
    """Median CPU seconds of one call of fn over `rounds` calls (one warm-up call first)."""
    fn()
    times = []
    for _ in range(rounds):
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
    return statistics.median(times)


def measure(answers: list[bytes], rounds: int) -> dict[str, Any]:
    import orjson

    from tests.history_data import make_fills
    from tracker.sources.hyperliquid import client as hl
    from tracker.sources.hyperliquid.history import parse_fills
    from tracker.sources.hyperliquid.ws_parse import parse_frame

    ts = datetime.now(UTC)
    pairs = list(zip(answers[::2], answers[1::2], strict=True))

    def snapshot() -> None:
        for i, (state, spot) in enumerate(pairs):
            address = f"0x{i + 1:040x}"
            hl.parse_clearinghouse_state(orjson.loads(state), address, "")
            hl.parse_spot_state(orjson.loads(spot), address, ts)

    fills_page = orjson.dumps(make_fills(2000)[0])

    def fills() -> None:
        parse_fills(orjson.loads(fills_page), "0x" + "ab" * 20)

    single, batched = trade_frames(20_000, 1), trade_frames(2_000, 10)

    def tape(frames: list[bytes]) -> Callable[[], None]:
        def run() -> None:
            for raw in frames:
                parse_frame(raw, ts)

        return run

    snap_s = median_cpu(snapshot, rounds)
    fills_s = median_cpu(fills, rounds)
    single_s = median_cpu(tape(single), rounds)
    batched_s = median_cpu(tape(batched), rounds)
    return {
        "parsed_by": str(Path(hl.__file__).parents[3]),  # the checkout whose tracker was measured
        "snapshot_answers": len(answers),
        "snapshot_ms": round(snap_s * 1000, 2),
        "snapshot_us_per_answer": round(snap_s / len(answers) * 1e6, 2),
        "fills_us_per_fill": round(fills_s / 2000 * 1e6, 2),
        "tape_us_per_frame_of_1": round(single_s / len(single) * 1e6, 2),
        "tape_us_per_trade_in_frames_of_10": round(batched_s / (len(batched) * 10) * 1e6, 2),
        "tape_trades_per_s": round(len(single) / single_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repo", type=Path, help="measure the tracker of this checkout instead")
    args = parser.parse_args()
    answers = fetch_answers(args.accounts)
    repo = (args.repo or REPO).resolve()
    sys.path.insert(0, str(repo))  # ahead of the editable install: that checkout's tracker
    for name in [m for m in sys.modules if m == "tracker" or m.startswith("tracker.")]:
        del sys.modules[name]
    result = measure(answers, args.rounds)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:<36} {value}")


if __name__ == "__main__":
    main()
