"""Benchmark: snapshot N accounts from a local fake Hyperliquid into DuckDB, against the SDK loop.

    .venv/bin/python bench/snapshot.py --accounts 100 1000 [--json]

For each N it starts the fake venue (tests/fakes) in its own process, serving N modelled accounts
with 1-4 positions each (cross and isolated, BTC/ETH/SOL/HYPE, real margin tables), then runs in
separate child processes (so CPU and peak RSS are each one's own):
- ours: one `tracker` pass of state (snapshot_pass, history off) with the weight limiter lifted;
- parse: our parse + risk + store alone on the same answers, pre-fetched (CPU per account);
- sdk: what a Python user writes with the official SDK: `Info(url, skip_ws=True)`, then
  `user_state(address)` and `spot_user_state(address)` per address in a loop, each row inserted
  into DuckDB one by one.
Run by hand; never part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
FIXTURES = REPO.parent / "shared" / "fixtures" / "hyperliquid"
COINS = {"BTC": 84981.0, "ETH": 2707.04, "SOL": 137.96, "HYPE": 48.145}
MAX_LEV = {"BTC": 40, "ETH": 25, "SOL": 20, "HYPE": 10}


def make_state(n: int, seed: int = 7) -> tuple[dict[str, Any], list[str]]:
    """A fake-venue snapshot with n modelled accounts on the main dex."""
    rng = random.Random(seed)
    meta = json.loads(
        (FIXTURES / "other_repos/Yassi80_hyperliquid/metaAndAssetCtxs.json").read_text()
    )
    addresses, models = [], []
    for i in range(n):
        address = f"0x{i + 1:040x}"
        addresses.append(address)
        positions = []
        for coin in rng.sample(list(COINS), rng.randint(1, 4)):
            mark = COINS[coin]
            notional = rng.uniform(5e3, 5e6)
            lev = rng.randint(1, MAX_LEV[coin])
            positions.append(
                {
                    "coin": coin,
                    "size": f"{(notional / mark) * rng.choice((1, -1)):.4f}",
                    "entry_px": f"{mark * rng.uniform(0.8, 1.2):.2f}",
                    "leverage": lev,
                    "margin_mode": rng.choice(("cross", "cross", "isolated")),
                }
            )
        models.append(
            {
                "user": address,
                "dex": "",
                "cash_usd": f"{rng.uniform(1e5, 5e6):.2f}",
                "positions": positions,
            }
        )
    state = {"perpDexs": [None], "metaAndAssetCtxs": {"": meta}, "models": models}
    return state, addresses


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_fake(state_file: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.hyperliquid",
            "--port",
            str(port),
            "--empty",
            "--state",
            str(state_file),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("fake venue did not start")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------ phases (child processes)


async def phase_ours(url: str, addresses: list[str], db: Path) -> dict[str, Any]:
    from tracker.app.history_plan import HistoryPolicy
    from tracker.app.runner import hyperliquid_poller
    from tracker.app.snapshot_pass import snapshot_pass
    from tracker.config import Settings

    settings = replace(
        Settings.from_env({}), db_path=db, hl_api_url=url, hl_weight_per_min=0, hl_concurrency=32
    )
    cpu0, t0 = time.process_time(), time.perf_counter()
    async with hyperliquid_poller(settings) as poller:
        result = await snapshot_pass(
            poller, db, addresses, command="bench", policy=HistoryPolicy(enabled=False)
        )
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert not result.failed, list(result.failed.items())[:1]
    positions = result.positions
    return {"wall_s": wall, "cpu_s": cpu, "positions": positions}


async def phase_parse(url: str, addresses: list[str], db: Path) -> dict[str, Any]:
    import aiohttp
    import orjson

    from tracker.app.poller import now_utc
    from tracker.records import AccountReport
    from tracker.risk.assess import assess_account
    from tracker.sources.hyperliquid import client as hl
    from tracker.store import open_store
    from tracker.store.writes import write_pass

    async with aiohttp.ClientSession() as session:

        async def get(body: dict[str, Any]) -> bytes:
            async with session.post(url + "/info", json=body) as resp:
                return await resp.read()

        meta_raw = await get({"type": "metaAndAssetCtxs", "dex": ""})
        sem = asyncio.Semaphore(32)

        async def both(a: str) -> tuple[bytes, bytes]:
            async with sem:
                return (
                    await get({"type": "clearinghouseState", "user": a, "dex": ""}),
                    await get({"type": "spotClearinghouseState", "user": a}),
                )

        answers = await asyncio.gather(*(both(a) for a in addresses))
    with open_store(db):
        pass  # create + migrate outside the measurement
    ts = now_utc()
    cpu0, t0 = time.process_time(), time.perf_counter()
    meta = hl.parse_meta_and_asset_ctxs(orjson.loads(meta_raw), "", ts)
    reports = []
    for address, (state_raw, spot_raw) in zip(addresses, answers, strict=True):
        account = hl.parse_clearinghouse_state(orjson.loads(state_raw), address, "")
        spot = hl.parse_spot_state(orjson.loads(spot_raw), address, ts)
        reports.append(
            AccountReport(
                address=address, ts=ts, accounts=(assess_account(account, meta, ts),), spot=spot
            )
        )
    cpu_parse = time.process_time() - cpu0
    with open_store(db) as store:
        write_pass(store, reports, list(meta.markets.values()))
    cpu = time.process_time() - cpu0
    return {
        "wall_s": time.perf_counter() - t0,
        "cpu_s": cpu,
        "cpu_parse_risk_s": cpu_parse,
        "positions": sum(len(r.positions) for r in reports),
    }


def phase_sdk(url: str, addresses: list[str], db: Path) -> dict[str, Any]:
    import duckdb
    from hyperliquid.info import Info

    cpu0, t0 = time.process_time(), time.perf_counter()
    info = Info(url, skip_ws=True)
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE positions (ts TIMESTAMPTZ, address VARCHAR, coin VARCHAR, "
        "size DECIMAL(38,18), entry_px DECIMAL(38,18), position_value DECIMAL(38,18), "
        "unrealized_pnl DECIMAL(38,18), liquidation_px DECIMAL(38,18), leverage INTEGER, "
        "margin_mode VARCHAR, PRIMARY KEY (address, coin, ts))"
    )
    con.execute(
        "CREATE TABLE accounts (ts TIMESTAMPTZ, address VARCHAR, account_value "
        "DECIMAL(38,18), withdrawable DECIMAL(38,18), PRIMARY KEY (address, ts))"
    )
    from datetime import UTC, datetime

    ts = datetime.now(UTC)
    positions = 0
    for address in addresses:
        state = info.user_state(address)
        info.spot_user_state(address)
        con.execute(
            "INSERT INTO accounts VALUES (?, ?, ?, ?)",
            [
                ts,
                address,
                Decimal(state["marginSummary"]["accountValue"]),
                Decimal(state["withdrawable"]),
            ],
        )
        for entry in state["assetPositions"]:
            p = entry["position"]
            con.execute(
                "INSERT INTO positions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    ts,
                    address,
                    p["coin"],
                    Decimal(p["szi"]),
                    Decimal(p["entryPx"]),
                    Decimal(p["positionValue"]),
                    Decimal(p["unrealizedPnl"]),
                    Decimal(p["liquidationPx"]) if p["liquidationPx"] else None,
                    int(p["leverage"]["value"]),
                    p["leverage"]["type"],
                ],
            )
            positions += 1
    con.close()
    return {
        "wall_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - cpu0,
        "positions": positions,
    }


def run_phase(args: argparse.Namespace) -> None:
    addresses = json.loads(Path(args.addresses).read_text())
    db = Path(args.db)
    if args.phase == "ours":
        out = asyncio.run(phase_ours(args.url, addresses, db))
    elif args.phase == "parse":
        out = asyncio.run(phase_parse(args.url, addresses, db))
    else:
        out = phase_sdk(args.url, addresses, db)
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


# ------------------------------------------------------------------ orchestration


def child(phase: str, url: str, addresses_file: Path, workdir: Path) -> dict[str, Any]:
    db = workdir / f"{phase}.duckdb"
    db.unlink(missing_ok=True)
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--phase",
            phase,
            "--url",
            url,
            "--addresses",
            str(addresses_file),
            "--db",
            str(db),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if out.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@contextlib.contextmanager
def work_dir(keep: Path | None, prefix: str) -> Iterator[Path]:
    """The folder a bench run works in: `keep` (created, left behind) or a temporary one."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def machine() -> dict[str, Any]:
    """The machine a figure was measured on (psutil; the CPU model, which it lacks, from Linux)."""
    model = "unknown"
    with contextlib.suppress(OSError):  # psutil has no CPU model name; Linux says it here
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": psutil.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def process_sample(pid: int) -> dict[str, float] | None:
    """RSS (MB), threads, open file descriptors and CPU seconds of a live process, or None."""
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            cpu = proc.cpu_times()
            return {
                "rss_mb": proc.memory_info().rss / 2**20,
                "threads": proc.num_threads(),
                "fds": proc.num_fds(),
                "cpu_s": cpu.user + cpu.system,
            }
    except psutil.Error:  # gone (or a zombie) between two samples
        return None


def bench(n: int, workdir: Path) -> dict[str, Any]:
    state, addresses = make_state(n)
    state_file, addresses_file = workdir / f"state-{n}.json", workdir / f"addresses-{n}.json"
    state_file.write_text(json.dumps(state))
    addresses_file.write_text(json.dumps(addresses))
    proc, url = start_fake(state_file)
    try:
        child("ours", url, addresses_file, workdir)  # warm the fake's caches once
        ours = child("ours", url, addresses_file, workdir)
        parse = child("parse", url, addresses_file, workdir)
        sdk = child("sdk", url, addresses_file, workdir)
    finally:
        proc.terminate()
        proc.wait()
    return {
        "accounts": n,
        "positions": ours["positions"],
        "ours": {
            "wall_s": round(ours["wall_s"], 3),
            "accounts_per_s": round(n / ours["wall_s"], 1),
            "positions_per_s": round(ours["positions"] / ours["wall_s"], 1),
            "cpu_ms_per_account_whole_pass": round(ours["cpu_s"] / n * 1000, 3),
            "cpu_ms_per_account_parse_risk_store": round(parse["cpu_s"] / n * 1000, 3),
            "cpu_ms_per_account_parse_risk": round(parse["cpu_parse_risk_s"] / n * 1000, 3),
            "peak_rss_mb": round(ours["peak_rss_mb"], 1),
        },
        "sdk_loop": {
            "wall_s": round(sdk["wall_s"], 3),
            "accounts_per_s": round(n / sdk["wall_s"], 1),
            "cpu_ms_per_account": round(sdk["cpu_s"] / n * 1000, 3),
            "peak_rss_mb": round(sdk["peak_rss_mb"], 1),
        },
        "speedup_wall": round(sdk["wall_s"] / ours["wall_s"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--phase", choices=("ours", "parse", "sdk"))
    parser.add_argument("--url")
    parser.add_argument("--addresses")
    parser.add_argument("--db")
    args = parser.parse_args()
    if args.phase:
        run_phase(args)
        return
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmp:
        results = {"machine": machine(), "runs": [bench(n, Path(tmp)) for n in args.accounts]}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"machine: {results['machine']['cpu']}, {results['machine']['cores']} cores, "
        f"Python {results['machine']['python']}"
    )
    for run in results["runs"]:
        o, s = run["ours"], run["sdk_loop"]
        print(
            f"N={run['accounts']:>5} positions={run['positions']:>5}  "
            f"ours {o['wall_s']:.2f}s ({o['accounts_per_s']:.0f} acct/s, "
            f"{o['positions_per_s']:.0f} pos/s, CPU {o['cpu_ms_per_account_whole_pass']:.2f} "
            f"ms/acct whole pass, {o['cpu_ms_per_account_parse_risk_store']:.3f} ms/acct parse+"
            f"risk+store, RSS {o['peak_rss_mb']:.0f} MB)  sdk {s['wall_s']:.2f}s  "
            f"speedup x{run['speedup_wall']}"
        )


if __name__ == "__main__":
    main()
