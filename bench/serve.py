"""Benchmark: the dashboard served by `tracker run --serve` over N watched accounts.

    .venv/bin/python bench/serve.py --accounts 1000 --json [--samples 20] [--seconds 20]

The fake venue (tests/fakes, REST + WebSocket) runs in this process with the N modelled accounts
of bench/snapshot.py; a `tracker snapshot` with the weight limit lifted stores every account
once, then `tracker run -w LIST --serve 127.0.0.1:0` runs as a user runs it (by default
`--no-live --interval 1` with the limit lifted: every account stored every pass, the fastest
the page can follow the file; `--live` runs the daemon's default live mode instead, where the
pages follow the engine's book: venue WebSocket -> engine -> SSE -> DOM).
Headless Chromium (Debian's /usr/bin/chromium through Playwright) measures:
- overview_load_ms: a fresh browser profile opens the overview; navigation start to the N-th
  account row in the DOM (a MutationObserver installed before the page's own script). Median of
  --loads loads, each in a new browser context (cold cache); every load listed, with its
  /api/accounts request (Resource Timing: start to last byte);
- mark_to_page_p99_ms: the account page of one account is open; this process moves the mark of
  one of its coins on the fake venue (`set_mark`), and the page's observer notes when that
  position's mark cell shows the new price (same machine, same clock). p50/p99/max of --samples
  moves, each --gap to --gap + 0.5 s after the previous one showed (live pages push an account
  at most once a second: with --gap 0 a move waits for the account's next second by design);
- cpu_pct_50_clients: the daemon's extra CPU (psutil, % of one core) with 50 open
  `/api/stream?account=A` connections (Server-Sent Events as the account page of one of the
  accounts opens it, read and otherwise idle) over windows with no client:
  --rounds rounds of --seconds windows (none, 50 streams, 50 pages), interleaved; CPU seconds
  per stored pass compared, at the idle windows' pass rate (see extra_pct; the plain ratios are
  listed too). cpu_pct_50_pages: the same with 50 clients that each re-read what the account
  page reads on every `change` event naming the account (or naming none), as an open page does;
  cpu_pct_50_overview_streams: 50 streams as the overview opens them. With --live the mark of
  one coin moves every --churn s through every window (each account holding it changes, so is
  pushed, once a second), passes are rare, and the extra is the plain CPU over wall time.
Prints JSON with the machine. Run by hand; never part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import aiohttp  # noqa: E402
from live import env_for, proc_sample, watchlist  # noqa: E402
from playwright.async_api import Browser, Page, async_playwright  # noqa: E402
from snapshot import machine, make_state  # noqa: E402

from tests.fakes import loaders  # noqa: E402
from tests.fakes.hyperliquid import FakeHyperliquid  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
MOVE = 0.003  # each mark move: ±0.3 %, alternately
RECORDS = ("fills", "funding", "ledger")  # the account page's tables, first page each
WAIT_S = 180.0  # a ceiling for one sample, not a measured time
ROWS_SEEN = """
window.__rowsAt = null;
new MutationObserver((_, observer) => {
  const rows = document.querySelectorAll("#accounts tbody tr").length;
  if (rows >= %d) { window.__rowsAt = performance.now(); observer.disconnect(); }
}).observe(document, { childList: true, subtree: true });
"""
WATCH_MARK = """([coin, want]) => {
  window.__markAt = null;
  const shown = () => document.querySelector(`#positions tr[data-coin="${coin}"] td.mark`);
  const check = () => {
    const cell = shown();
    if (cell && cell.textContent === want && window.__markAt === null) {
      window.__markAt = Date.now();
    }
  };
  new MutationObserver(check).observe(document.querySelector("#positions"),
    { childList: true, subtree: true, characterData: true });
  check();
}"""


async def until_set(page: Page, name: str) -> float:
    """window[name] once the page's observer set it (polled: the page's CSP forbids the eval
    behind wait_for_function; the time itself is taken in the page)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = await page.evaluate(f"window.{name}")
        if value is not None:
            return float(value)
        await asyncio.sleep(0.02)
    raise SystemExit(f"the page never set {name} in {WAIT_S:.0f} s")


async def start_daemon(
    wl: Path, env: dict[str, str], work: Path, mode: list[str]
) -> tuple[asyncio.subprocess.Process, str]:
    """`tracker run ... --serve 127.0.0.1:0` and the URL it printed."""
    err = work / "run.stderr"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tracker",
        "run",
        "-w",
        str(wl),
        *mode,
        "--serve",
        "127.0.0.1:0",
        env=env,
        cwd=str(REPO),
        stdout=(work / "run.stdout").open("wb"),
        stderr=err.open("wb"),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = re.search(r"serving at (http://127\.0\.0\.1:\d+/)", err.read_text())
        if found:
            return proc, found[1]
        if proc.returncode is not None:
            raise SystemExit(f"tracker run died:\n{err.read_text()[-3000:]}")
        await asyncio.sleep(0.2)
    raise SystemExit("tracker run did not start serving")


async def passes(work: Path) -> int:
    """Pass lines the daemon has printed so far."""
    text = await asyncio.to_thread((work / "run.stdout").read_text)
    return text.count("\n")


async def overview_loads(
    browser: Browser, url: str, n: int, loads: int, api: list[float]
) -> list[float]:
    """Navigation start to the N-th overview row (ms), each load in a fresh context; api gets
    each load's /api/accounts request, start to last byte (ms)."""
    found = []
    for _ in range(loads):
        context = await browser.new_context(viewport={"width": 1300, "height": 900})
        await context.add_init_script(ROWS_SEEN % n)
        page = await context.new_page()
        await page.goto(url)
        found.append(round(await until_set(page, "__rowsAt"), 1))
        api.append(
            await page.evaluate(
                """() => performance.getEntriesByType("resource")
                    .filter(e => new URL(e.name).pathname === "/api/accounts")
                    .map(e => Math.round(e.responseEnd - e.startTime))[0] ?? null"""
            )
        )
        await context.close()
    return found


async def mark_moves(
    page: Page, fake: FakeHyperliquid, coin: str, mark: float, samples: int, gap: float
) -> list[float]:
    """Venue mark move -> the page's mark cell showing it (ms), per sample; each move gap to
    gap + 0.5 s (uniform) after the previous one showed."""
    found = []
    jitter = random.Random(16)
    for i in range(samples):
        await asyncio.sleep(gap + jitter.random() * 0.5)
        mark *= 1 + (MOVE if i % 2 == 0 else -MOVE)
        price = f"{mark:.2f}"
        want = await page.evaluate("p => px(p)", price)
        await page.evaluate(WATCH_MARK, [coin, want])
        moved = time.time() * 1000
        fake.set_mark(coin, price)
        found.append(round(await until_set(page, "__markAt") - moved, 1))
    return found


async def client(
    session: aiohttp.ClientSession,
    url: str,
    address: str | None,
    reread: bool,
    stop: asyncio.Event,
) -> None:
    """One open stream following address, as the account page opens it (its live figures come
    on it), or the overview's (address None); reread: on each `change` that concerns address
    (names it, or names none), re-read what the account page reads, as an open page does."""
    topic = "overview=1" if address is None else f"account={address}"
    async with session.get(f"{url}api/stream?{topic}") as stream:
        event = None
        async for raw in stream.content:
            if stop.is_set():
                return
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "change" and reread:
                stored = json.loads(line.removeprefix("data: ")).get("addresses")
                if stored is not None and address not in stored:
                    continue
                for path in (
                    f"api/accounts/{address}",
                    f"api/accounts?address={address}",
                    f"api/accounts/{address}/history",
                    *(f"api/accounts/{address}/{t}?limit=25&offset=0" for t in RECORDS),
                ):
                    async with session.get(url + path) as response:
                        await response.read()


async def cpu_with(
    pid: int, url: str, address: str | None, clients: int, reread: bool, s: float, work: Path
) -> dict[str, float]:
    """The daemon's CPU seconds, wall seconds and passes stored over s seconds with that many
    clients open."""
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [
            asyncio.create_task(client(session, url, address, reread, stop)) for _ in range(clients)
        ]
        await asyncio.sleep(2 if clients else 0)  # connected before the window opens
        cpu0, _ = proc_sample(pid)
        passes0, t0 = await passes(work), time.monotonic()
        await asyncio.sleep(s)
        cpu1, _ = proc_sample(pid)
        passes1, elapsed = await passes(work), time.monotonic() - t0
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"cpu_s": cpu1 - cpu0, "wall_s": elapsed, "passes": passes1 - passes0}


def extra_pct(windows: list[dict[str, float]], idle: list[dict[str, float]]) -> float:
    """Extra % of a core over the idle windows, compared per stored pass (a pass is both what
    the daemon spends most on and what makes every page re-read) at the idle pass rate: the
    machine is shared, and how many passes fit a window drifts with its load."""
    per_pass = sum(w["cpu_s"] for w in windows) / max(1, sum(w["passes"] for w in windows))
    base = sum(w["cpu_s"] for w in idle) / max(1, sum(w["passes"] for w in idle))
    rate = sum(w["passes"] for w in idle) / sum(w["wall_s"] for w in idle)
    return round((per_pass - base) * rate * 100, 1)


def extra_plain(windows: list[dict[str, float]], idle: list[dict[str, float]]) -> float:
    """Extra % of a core over the idle windows, CPU seconds over wall seconds (live mode: passes
    are rare there, the marks' churn is what every window shares)."""

    def share(ws: list[dict[str, float]]) -> float:
        return sum(w["cpu_s"] for w in ws) / sum(w["wall_s"] for w in ws) * 100

    return round(share(windows) - share(idle), 1)


async def churn(fake: FakeHyperliquid, coin: str, mark: float, every_s: float) -> None:
    """The coin's mark moving ±0.1 % every every_s until cancelled (live mode's CPU windows:
    each account holding it changes, and is pushed, once a second)."""
    step = 0
    while True:
        step += 1
        fake.set_mark(coin, f"{mark * (1 + (0.001 if step % 2 else -0.001)):.2f}")
        await asyncio.sleep(every_s)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    n = args.accounts
    state, addresses = make_state(n)
    fake = FakeHyperliquid()
    loaders.load_snapshot(fake, state)
    model = state["models"][0]
    coin = model["positions"][0]["coin"]
    interval = args.interval if args.interval is not None else (None if args.live else 1.0)
    extra = extra_plain if args.live else extra_pct
    mode = ([] if interval is None else ["--interval", str(interval)]) + (
        [] if args.live else ["--no-live"]
    )
    async with fake:
        wl = watchlist(work / "w.toml", addresses)
        db = work / "serve.duckdb"
        lifted = {"TRACKER_HL_WEIGHT_PER_MIN": "0", "TRACKER_HL_CONCURRENCY": "32"}
        env = env_for(fake.url, db, TRACKER_WATCHLISTS_DIR=str(work), **lifted)
        backfill = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tracker", "snapshot", "-w", str(wl), env=env, cwd=str(REPO),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert await backfill.wait() == 0, "backfill failed"
        daemon_env = (
            env if not args.live else env_for(fake.url, db, TRACKER_WATCHLISTS_DIR=str(work))
        )
        proc, url = await start_daemon(wl, daemon_env, work, mode)
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                api: list[float] = []
                loads = await overview_loads(browser, url, n, args.loads, api)
                page = await browser.new_page(viewport={"width": 1300, "height": 900})
                await page.goto(f"{url}accounts/{model['user']}")
                await page.wait_for_selector(f'#positions tr[data-coin="{coin}"] td.mark')
                marks = dict(fake.dex("").mids())
                moves = await mark_moves(
                    page, fake, coin, float(marks[coin]), args.samples, args.gap
                )
                await browser.close()
            pid, address = proc.pid, model["user"]
            kinds: list[tuple[str, str | None, int, bool]] = [
                ("idle", address, 0, False),
                ("streams", address, 50, False),
                ("pages", address, 50, True),
                ("overviews", None, 50, False),
            ]
            cpu: dict[str, list[dict[str, float]]] = {k[0]: [] for k in kinds}
            moving = (
                asyncio.create_task(churn(fake, coin, float(marks[coin]), args.churn))
                if args.live
                else None
            )
            for _ in range(args.rounds):  # interleaved: the machine's load drifts
                for kind, follows, clients, reread in kinds:
                    cpu[kind].append(
                        await cpu_with(pid, url, follows, clients, reread, args.seconds, work)
                    )
            if moving is not None:
                moving.cancel()
            stored = await passes(work)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            await proc.wait()
    return {
        "accounts": n,
        "positions": sum(len(m["positions"]) for m in state["models"]),
        "daemon": " ".join(["tracker run", *mode, "--serve 127.0.0.1:0"])
        + ("" if args.live else " (weight limit lifted)"),
        "overview_load_ms": statistics.median(loads),
        "overview_loads_ms": loads,
        "overview_api_accounts_ms": api,
        "mark_to_page_p50_ms": statistics.median(moves),
        "mark_to_page_p99_ms": percentile(moves, 0.99),
        "mark_to_page_max_ms": max(moves),
        "mark_moves": len(moves),
        "mark_gap_s": [args.gap, args.gap + 0.5],
        "cpu_pct_50_clients": extra(cpu["streams"], cpu["idle"]),
        "cpu_pct_50_pages": extra(cpu["pages"], cpu["idle"]),
        "cpu_pct_50_overview_streams": extra(cpu["overviews"], cpu["idle"]),
        "cpu_pct_method": "plain, marks churning" if args.live else "per stored pass",
        "churn_s": args.churn if args.live else None,
        "churn_accounts": sum(
            any(p["coin"] == coin for p in m["positions"]) for m in state["models"]
        ),
        "cpu_pct_plain": {  # CPU seconds over wall seconds, no per-pass correction
            k: round(sum(w["cpu_s"] for w in v) / sum(w["wall_s"] for w in v) * 100, 1)
            for k, v in cpu.items()
        },
        "cpu_windows": cpu,
        "cpu_window_s": args.seconds,
        "passes_stored": stored,
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=20, help="mark moves timed")
    parser.add_argument(
        "--gap", type=float, default=1.0, help="s between a move shown and the next (+0-0.5 s)"
    )
    parser.add_argument("--loads", type=int, default=5, help="overview loads timed")
    parser.add_argument("--seconds", type=float, default=15.0, help="each CPU window")
    parser.add_argument("--rounds", type=int, default=3, help="CPU windows of each kind")
    parser.add_argument(
        "--interval", type=float, help="tracker run --interval (1 polling; live: its default)"
    )
    parser.add_argument("--live", action="store_true", help="live mode, the default budget")
    parser.add_argument(
        "--churn", type=float, default=0.5, help="live: s between mark moves in CPU windows"
    )
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmp:
        result = asyncio.run(bench(args, Path(tmp)))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
