"""Crash safety: SIGKILL `tracker run` at random moments, often mid-write, restart, check the DB.

    .venv/bin/python bench/crash.py [--kills 50] [--accounts 20] [--no-live] [--seed 7] [--json]

The fake Hyperliquid (tests/fakes) runs in this process, not in its own as bench/snapshot.py's
`start_fake` does, because the script keeps changing it while the tracker runs: every watched
account gets a new fill every ~0.25 s (every 40th a $1M+ liquidation slice), a funding payment
every ~1 s and a deposit every ~2 s, and the ETH mark walks between 2,000 and 3,000 (about half
the accounts are leveraged longs liquidated between 2,100 and 2,600, so near-liquidation alerts
fire and re-arm). `tracker run --interval 0.2` (live mode unless --no-live; limiter lifted,
history due every pass, alerts to a JSON Lines file) is then killed with SIGKILL --kills times:
half of the kills at a random moment 0.3-2.5 s after start, half 0-30 ms after DuckDB's
write-ahead log appears (a write transaction is being committed or checkpointed). After every
kill the DB must open read-only and show only complete passes. At the end, generation stops, one
`tracker snapshot` catches up, and the checks are: no duplicate on any natural key (positions,
account_snapshots, fills, funding, ledger, alerts, alert_deliveries, liquidations,
snapshot_runs), every stored pass complete (its snapshot_runs row finished, exactly its accounts
and positions stored under its ts), and fills / funding / ledger exactly the fake's sequence (no
gap, nothing extra). Prints a JSON summary; exits 1 when a check fails. Run by hand; the short CI
version is tests/test_faults.py.
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
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import duckdb  # noqa: E402
from snapshot import work_dir  # noqa: E402

from tests.fakes.hyperliquid import FakeHyperliquid  # noqa: E402

NATURAL_KEYS = {
    "positions": "venue, address, dex, coin, ts",
    "account_snapshots": "venue, address, dex, ts",
    "fills": "venue, address, coin, time_ms, fill_key, side",
    "funding": "venue, address, coin, time_ms",
    "ledger": "venue, address, time_ms, entry_key",
    "alerts": "id",
    "alert_deliveries": "alert_id, sink",
    "liquidations": "episode_id",
    "snapshot_runs": "ts",
}


class Venue:
    """The fake plus what this script generated for each account (the sequences to compare)."""

    def __init__(self, fake: FakeHyperliquid, accounts: list[str], rng: random.Random) -> None:
        self.fake = fake
        self.accounts = accounts
        self.rng = rng
        self.fills: dict[str, list[dict[str, Any]]] = {a: [] for a in accounts}
        self.funding: dict[str, list[dict[str, Any]]] = {a: [] for a in accounts}
        self.ledger: dict[str, list[dict[str, Any]]] = {a: [] for a in accounts}
        self.seq = 0
        self.mark = 2500.0

    def model(self) -> None:
        self.fake.set_mark("ETH", f"{self.mark:.1f}")
        for i, address in enumerate(self.accounts):
            if i % 2:  # a leveraged long: liquidated where cash + 100 m = 2 m (mmr 2 %)
                liq = self.rng.uniform(2100, 2600)
                cash, size = f"{-98 * liq:.2f}", "100"
            else:
                cash, size = str(100_000 + i), str(1 + i % 7)
            self.fake.put_model_account(
                address,
                cash,
                positions=[
                    {
                        "coin": "ETH",
                        "size": size,
                        "entry_px": "2500",
                        "leverage": 20 if i % 2 else 5,
                        "margin_mode": "cross",
                    }
                ],
            )

    def _time(self, series: list[dict[str, Any]]) -> int:
        now = time.time_ns() // 1_000_000
        return max(now, int(series[-1]["time"]) + 1) if series else now

    def add_fill(self, address: str) -> None:
        self.seq += 1
        series = self.fills[address]
        liquidation = len(series) % 40 == 39
        px = f"{self.mark + self.rng.uniform(-2, 2):.1f}"
        fill: dict[str, Any] = {
            "coin": "ETH",
            "px": px,
            "sz": "500.0" if liquidation else f"{self.rng.randint(1, 50) / 10:.1f}",
            "side": "A" if liquidation or self.seq % 2 else "B",
            "time": self._time(series),
            "startPosition": "100.0",
            "dir": "Close Long" if liquidation or self.seq % 2 else "Open Long",
            "closedPnl": "-1000.0" if liquidation else "0.0",
            "hash": f"0x{self.seq:064x}",
            "oid": 10_000_000 + self.seq,
            "crossed": True,
            "fee": "0.1",
            "tid": 900_000_000_000 + self.seq,
            "feeToken": "USDC",
            "twapId": None,
        }
        if liquidation:
            fill["liquidation"] = {"liquidatedUser": address, "markPx": px, "method": "market"}
        series.append(fill)
        self.fake.put_fills(address, list(series))

    def add_funding(self, address: str) -> None:
        series = self.funding[address]
        series.append(
            {
                "time": self._time(series),
                "hash": "0x" + "0" * 64,
                "delta": {
                    "type": "funding",
                    "coin": "ETH",
                    "usdc": f"{-self.rng.uniform(0.1, 5):.4f}",
                    "szi": "100.0",
                    "fundingRate": "0.0000125",
                    "nSamples": None,
                },
            }
        )
        self.fake.put_funding(address, list(series))

    def add_deposit(self, address: str) -> None:
        self.seq += 1
        series = self.ledger[address]
        series.append(
            {
                "time": self._time(series),
                "hash": f"0x{self.seq:064x}",
                "delta": {"type": "deposit", "usdc": f"{self.rng.randint(1, 9) * 1000}.0"},
            }
        )
        self.fake.put_ledger(address, list(series))

    async def generate(self, stop: asyncio.Event) -> None:
        """New history for every account and a mark walk until stop is set."""
        tick = 0
        while not stop.is_set():
            tick += 1
            for address in self.accounts:
                self.add_fill(address)
                if tick % 4 == 0:
                    self.add_funding(address)
                if tick % 8 == 0:
                    self.add_deposit(address)
            if tick % 2 == 0:
                self.mark = min(3000.0, max(2000.0, self.mark + self.rng.uniform(-60, 60)))
                self.fake.set_mark("ETH", f"{self.mark:.1f}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)


def write_watchlist(path: Path, accounts: list[str]) -> Path:
    lines = []
    for i, address in enumerate(accounts):
        lines += ["[[address]]", f'address = "{address}"', f'label = "crash {i}"', ""]
    path.write_text("\n".join(lines))
    return path


def tracker_env(url: str, db: Path, work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(
        {
            "TRACKER_HL_API_URL": url,
            "TRACKER_DB": str(db),
            "TRACKER_ENV_FILE": str(work / "no.env"),
            "TRACKER_HL_WEIGHT_PER_MIN": "0",
            "TRACKER_HTTP_RETRIES": "2",
            "TRACKER_HTTP_TIMEOUT": "5",
            "TRACKER_HISTORY_MAX_AGE": "0.1",
            "TRACKER_FUNDING_MAX_AGE": "0.1",
            "TRACKER_FOLLOW_LIQUIDATORS": "0",
            "TRACKER_ALERTS_JSONL": str(work / "alerts.jsonl"),
            "TRACKER_LOG_LEVEL": "WARNING",
        }
    )
    return env


async def count_lines(stream: asyncio.StreamReader | None, into: list[int]) -> None:
    if stream is None:
        return
    while line := await stream.readline():
        if line.startswith(b'{"event":"pass"'):
            into[0] += 1


def present(path: Path) -> bool:
    """One stat of a local file (microseconds): fine to call from the event loop."""
    return path.exists()


async def wait_for_wal(wal: Path, proc: asyncio.subprocess.Process, limit_s: float) -> bool:
    """Poll (1 ms) until the write-ahead log exists; False when the limit passes first."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and proc.returncode is None:
        if present(wal):
            return True
        await asyncio.sleep(0.001)
    return False


# A pass is complete when its snapshot_runs row is finished, every address it polled succeeded
# (the fake never fails) and exactly its accounts and positions are stored under its ts; stored
# snapshots without a run are a partial pass too. Live mode refreshes batches, so a pass holds
# the accounts it was given, not necessarily all of them.
PASS_PROBLEMS = """
select count(*) from snapshot_runs r
full outer join (select ts, count(*) as n, count(distinct address) as d
                 from account_snapshots group by ts) s on s.ts = r.ts
left join (select ts, count(*) as p from positions group by ts) p on p.ts = coalesce(r.ts, s.ts)
where r.ts is null or r.finished_at is null or r.addresses_ok <> r.addresses
   or coalesce(s.n, 0) <> r.addresses_ok or coalesce(s.d, 0) <> r.addresses_ok
   or coalesce(p.p, 0) <> r.positions
"""


def quick_check(db: Path) -> dict[str, Any]:
    """After a kill: the file opens read-only and every stored pass is complete."""
    if not db.exists():
        return {"opened": True, "passes": 0, "incomplete": 0}
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        return {"opened": False, "error": str(exc).splitlines()[0]}
    try:
        passes = con.execute("select count(*) from snapshot_runs").fetchone()
        problems = con.execute(PASS_PROBLEMS).fetchone()
    except duckdb.CatalogException:  # killed before the first migration committed
        passes = problems = (0,)
    finally:
        con.close()
    assert passes is not None
    assert problems is not None
    return {"opened": True, "passes": int(passes[0]), "incomplete": int(problems[0])}


def store_checks(db: Path, jsonl: Path) -> dict[str, Any]:
    """Rows, duplicates on natural keys and incomplete passes in the store; repeated alert ids."""
    con = duckdb.connect(str(db), read_only=True)
    try:

        def one(sql: str) -> int:
            row = con.execute(sql).fetchone()
            assert row is not None
            return int(row[0])

        rows = {t: one(f"select count(*) from {t}") for t in NATURAL_KEYS}
        duplicates = {
            t: one(f"select count(*) from (select {k} from {t} group by all having count(*) > 1)")
            for t, k in NATURAL_KEYS.items()
        }
        incomplete = one(PASS_PROBLEMS)
        kinds = con.execute("select kind, count(*) from alerts group by kind").fetchall()
    finally:
        con.close()
    lines = jsonl.read_text().splitlines() if jsonl.exists() else []
    ids = Counter(json.loads(line)["id"] for line in lines)
    return {
        "rows": rows,
        "duplicates": duplicates,
        "incomplete_passes": incomplete,
        "alerts_by_kind": dict(kinds),
        # The JSONL sink is at least once: a kill between writing the line and recording the
        # delivery sends that alert again on restart (the stored alert stays one row).
        "alert_jsonl_lines": len(lines),
        "alert_jsonl_repeated_ids": sum(c - 1 for c in ids.values() if c > 1),
    }


def final_checks(db: Path, venue: Venue, jsonl: Path) -> dict[str, Any]:
    checks = store_checks(db, jsonl)
    con = duckdb.connect(str(db), read_only=True)
    n = len(venue.accounts)

    def one(sql: str, params: dict[str, Any] | None = None) -> Any:
        row = con.execute(sql, params).fetchone()
        assert row is not None
        return row[0]

    checks["duplicates"]["fills_by_tid"] = one(
        "select count(*) from (select address, tid from fills group by all having count(*) > 1)"
    )
    full_passes = one("select count(*) from snapshot_runs where addresses = $n", {"n": n})
    gaps: dict[str, int] = {"fills": 0, "funding": 0, "ledger": 0}
    for address in venue.accounts:
        stored_fills = [
            r[0]
            for r in con.execute(
                "select tid from fills where address = $a order by time_ms", {"a": address}
            ).fetchall()
        ]
        gaps["fills"] += stored_fills != [f["tid"] for f in venue.fills[address]]
        stored_funding = [
            r[0]
            for r in con.execute(
                "select time_ms from funding where address = $a order by time_ms", {"a": address}
            ).fetchall()
        ]
        gaps["funding"] += stored_funding != [f["time"] for f in venue.funding[address]]
        stored_ledger = [
            r[0]
            for r in con.execute(
                "select time_ms from ledger where address = $a order by time_ms", {"a": address}
            ).fetchall()
        ]
        gaps["ledger"] += stored_ledger != [e["time"] for e in venue.ledger[address]]
    con.close()
    return {
        **checks,
        "stored_passes": checks["rows"]["snapshot_runs"],
        "passes_over_every_account": full_passes,
        "accounts_with_gaps": gaps,
        "generated": {
            "fills": sum(len(v) for v in venue.fills.values()),
            "funding": sum(len(v) for v in venue.funding.values()),
            "ledger": sum(len(v) for v in venue.ledger.values()),
        },
    }


async def crash(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    accounts = [f"0x{0xC4A5 + i:040x}" for i in range(args.accounts)]
    db, watchlist = work / "t.duckdb", write_watchlist(work / "w.toml", accounts)
    wal = db.with_name(db.name + ".wal")
    started = time.monotonic()
    async with FakeHyperliquid.seeded() as fake:
        venue = Venue(fake, accounts, rng)
        venue.model()
        for address in accounts:
            venue.add_fill(address)
        stop = asyncio.Event()
        generator = asyncio.create_task(venue.generate(stop))
        env = tracker_env(fake.url, db, work)
        kills: list[dict[str, Any]] = []
        passes = [0]
        stderr = (work / "run.stderr").open("ab")
        for k in range(args.kills):
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tracker",
                "run",
                "-w",
                str(watchlist),
                "--interval",
                str(args.interval),
                *(["--no-live"] if args.no_live else []),
                env=env,
                cwd=str(REPO),
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
            reader = asyncio.create_task(count_lines(proc.stdout, passes))
            mode = "wal" if k % 2 else "random"
            if mode == "wal":
                # Let the first pass go by now and then, so kills also land in later passes.
                await asyncio.sleep(rng.uniform(0.0, 1.5))
                hit = await wait_for_wal(wal, proc, 8.0)
                await asyncio.sleep(rng.uniform(0.0, 0.03))
            else:
                await asyncio.sleep(rng.uniform(0.3, 2.5))
                hit = present(wal)
            wal_at_kill = present(wal)
            exited_early = proc.returncode is not None
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL)
            await proc.wait()
            await reader
            check = quick_check(db)
            kills.append(
                {
                    "mode": mode,
                    "wal_seen": hit,
                    "wal_at_kill": wal_at_kill,
                    "exited_early": exited_early,
                    **check,
                }
            )
            venue.mark = rng.uniform(2000, 3000)
            fake.set_mark("ETH", f"{venue.mark:.1f}")
        stop.set()
        await generator
        stderr.close()
        catch_up = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tracker",
            "snapshot",
            "-w",
            str(watchlist),
            "--json",
            env=env,
            cwd=str(REPO),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await catch_up.communicate()
        if catch_up.returncode != 0:
            raise SystemExit(f"catch-up snapshot failed ({catch_up.returncode}): {err[-2000:]!r}")
        report = json.loads(out)
    checks = final_checks(db, venue, work / "alerts.jsonl")
    logged = (work / "run.stderr").read_text(errors="replace")
    failures = [
        *(f"kill {i}: DB did not open" for i, k in enumerate(kills) if not k["opened"]),
        *(f"kill {i}: incomplete pass visible" for i, k in enumerate(kills) if k.get("incomplete")),
        *(f"duplicates in {t}" for t, n in checks["duplicates"].items() if n),
        *(["incomplete passes"] if checks["incomplete_passes"] else []),
        *(f"gaps in {s}" for s, n in checks["accounts_with_gaps"].items() if n),
    ]
    return {
        "mode": "poll" if args.no_live else "live",
        "kills": len(kills),
        "kills_by_mode": dict(Counter(k["mode"] for k in kills)),
        "kills_with_wal_present": sum(k["wal_at_kill"] for k in kills),
        "runs_that_exited_before_the_kill": sum(k["exited_early"] for k in kills),
        "db_open_failures": sum(not k["opened"] for k in kills),
        "incomplete_passes_seen_after_a_kill": sum(k.get("incomplete", 0) for k in kills),
        "pass_lines_printed": passes[0],
        "catch_up_new_fills": report["new_fills"],
        "tracebacks_on_stderr": logged.count("Traceback"),
        "warning_lines_on_stderr": sum(" WARNING " in line for line in logged.splitlines()),
        "accounts": len(accounts),
        **checks,
        "wall_s": round(time.monotonic() - started, 1),
        "db_bytes": db.stat().st_size,
        "failures": failures,
        "ok": not failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-live", action="store_true", help="kill the polling daemon")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--json", action="store_true", help="print only the JSON summary")
    args = parser.parse_args()
    with work_dir(args.keep, "crash-") as work:
        summary = asyncio.run(crash(args, work))
    if not args.json:
        print(f"{summary['kills']} SIGKILLs, ok={summary['ok']}", file=sys.stderr)
    print(json.dumps(summary, indent=2, default=str))
    raise SystemExit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
