"""Benchmark: re-marking a LiveBook of N accounts on every allMids message, against the goal.

    /tmp/venv/bin/python bench/book.py --accounts 1000 10000 [--updates 1000] [--json]

For each N, in its own child process (so peak RSS is its own): build N main-dex accounts, 1-4
positions each over 12 coins with the venue's margin tables (BTC 40x/150M/20x, ETH 25x/100M/15x,
SOL, XRP, HYPE, ARB ... and single-tier coins), cross and isolated, notionals log-uniform from $5K
to $50M with a few whales up to $400M, equity from near maintenance to 40x over it; upsert them
into a LiveBook; then apply `--updates` allMids messages, each carrying every coin (400 names,
prices as strings, as the venue sends them) after a random-walk step (0.3 % per message, a 5 %
jump in 1 % of them), with 10 account refreshes (upserts) between messages, the REST scheduler's
~10/s. Timed per message: from the raw {coin: str} dict to every position's risk updated
(Decimal parse + apply_marks), and with the near-liquidation queries (below, accounts_below) the
alerts run on. Also: upsert cost, memory, how many shocks took the exact Decimal fallback, and
agreement with assess_account on a sample of accounts at the final marks.
Goal: p99 < 250 ms per message at 10,000 accounts on 2 cores. Run by hand; never a timed test.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from tracker.records import (  # noqa: E402
    MarginTable,
    MarginTier,
    Market,
    MarketMeta,
    VenueAccount,
    VenuePosition,
)
from tracker.risk import perps as risk  # noqa: E402
from tracker.risk.assess import assess_account, position_tiers  # noqa: E402
from tracker.risk.live.book import LiveBook  # noqa: E402
from tracker.risk.live.remark import remark_account  # noqa: E402

D = Decimal
# coin: (mark, margin tiers as (lower bound USD, max leverage)); mainnet tables, reference §3.1.
COINS: dict[str, tuple[float, tuple[tuple[int, int], ...]]] = {
    "BTC": (84981.0, ((0, 40), (150_000_000, 20))),
    "ETH": (2707.04, ((0, 25), (100_000_000, 15))),
    "SOL": (122.99, ((0, 20), (70_000_000, 10))),
    "XRP": (2.21, ((0, 20), (40_000_000, 10))),
    "HYPE": (25.31, ((0, 10), (20_000_000, 5))),
    "SUI": (3.52, ((0, 10), (20_000_000, 5))),
    "ARB": (0.41, ((0, 10), (3_000_000, 5))),
    "BNB": (601.2, ((0, 10), (3_000_000, 5))),
    "DOGE": (0.2, ((0, 10),)),
    "LINK": (15.1, ((0, 10),)),
    "AVAX": (24.9, ((0, 10),)),
    "kPEPE": (0.0112, ((0, 10),)),
}
NAMES = [*COINS, *(f"COIN{i}" for i in range(200)), *(f"@{i}" for i in range(188))]
LEVELS = [5.0, 2.0]
NOW = datetime.now(UTC)


def make_meta() -> MarketMeta:
    markets, tables = {}, {}
    for i, (coin, (mark, tiers)) in enumerate(COINS.items()):
        tables[i] = MarginTable(
            id=i,
            tiers=tuple(MarginTier(lower_bound_usd=D(lb), max_leverage=lev) for lb, lev in tiers),
        )
        markets[coin] = Market(
            venue="hyperliquid",
            dex="",
            coin=coin,
            ts=NOW,
            mark_px=D(str(mark)),
            oracle_px=None,
            mid_px=None,
            funding_rate=None,
            open_interest=None,
            max_leverage=tiers[0][1],
            margin_table_id=i,
            day_notional_volume_usd=None,
            prev_day_px=None,
        )
    return MarketMeta(dex="", markets=markets, margin_tables=tables)


def q(x: float, places: int = 6) -> Decimal:
    return D(f"{x:.{places}f}")


def make_position(rng: random.Random, coin: str, mark: float) -> VenuePosition:
    tiers = COINS[coin][1]
    whale = rng.random() < 0.01
    notional = math.exp(rng.uniform(math.log(5e3), math.log(4e8 if whale else 5e7)))
    size = q(notional / mark * rng.choice((1, -1)), 5) or D("0.00001")
    px = q(mark, 6)
    value = abs(size) * px
    max_lev = tiers[0][1]
    lev = rng.randint(1, max_lev)
    entry = q(mark * rng.uniform(0.8, 1.2), 6)
    cross = rng.random() < 2 / 3
    raw = None if cross else value / lev * q(rng.uniform(1.0, 1.5), 3) - size * px
    return VenuePosition(
        coin=coin,
        size=size,
        entry_px=entry,
        position_value_usd=value,
        unrealized_pnl_usd=size * (px - entry),
        return_on_equity=None,
        liquidation_px=None,
        margin_mode="cross" if cross else "isolated",
        leverage=lev,
        isolated_raw_usd=raw,
        margin_used_usd=value / lev if raw is None else raw + size * px,
        max_leverage=max_lev,
        cum_funding_all_time_usd=None,
        cum_funding_since_open_usd=None,
    )


def make_account(
    rng: random.Random, address: str, marks: dict[str, float], meta: MarketMeta
) -> VenueAccount:
    coins = rng.sample(list(COINS), rng.randint(1, 4))
    legs = [make_position(rng, c, marks[c]) for c in coins]
    cross_mm = sum(
        (
            risk.maintenance_margin(position_tiers(p, meta), p.position_value_usd)
            for p in legs
            if p.margin_mode == "cross"
        ),
        D(0),
    )
    cushion = q(math.exp(rng.uniform(math.log(1.05), math.log(40))), 3)
    cross_value = (cross_mm * cushion).quantize(D("0.000001")) if cross_mm else q(1e5, 2)
    iso = sum((p.margin_used_usd for p in legs if p.margin_mode == "isolated"), D(0))
    return VenueAccount(
        venue="hyperliquid",
        address=address,
        dex="",
        venue_time=None,
        account_value_usd=cross_value + iso,
        cross_account_value_usd=cross_value,
        total_notional_usd=sum((p.position_value_usd for p in legs), D(0)),
        total_raw_usd=D(0),
        margin_used_usd=sum((p.margin_used_usd for p in legs), D(0)),
        cross_maintenance_margin_usd=cross_mm.quantize(D("0.000001")),
        withdrawable_usd=D(0),
        positions=tuple(legs),
    )


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run_one(n: int, updates: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    meta = make_meta()
    marks = {c: m for c, (m, _) in COINS.items()}
    addresses = [f"0x{i + 1:040x}" for i in range(n)]
    accounts = {a: make_account(rng, a, marks, meta) for a in addresses}
    spare = [make_account(rng, rng.choice(addresses), marks, meta) for _ in range(500)]

    tracemalloc.start()
    t0 = time.perf_counter()
    book = LiveBook()
    for account in accounts.values():
        book.upsert(account, meta)
    upsert_ms = (time.perf_counter() - t0) * 1000
    t1 = time.perf_counter()
    book.risk_order()  # first query recomputes every dirty account
    first_ms = (time.perf_counter() - t1) * 1000
    book_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()

    others = {name: rng.uniform(0.01, 100) for name in NAMES if name not in COINS}
    prices = {**marks, **others}
    apply_ms, total_ms, query_ms, upsert_us = [], [], [], []
    recomputed = fallbacks = near_max = 0
    for _ in range(updates):
        for _refresh in range(10):
            account = rng.choice(spare)
            t = time.perf_counter_ns()
            book.upsert(account, meta)
            upsert_us.append((time.perf_counter_ns() - t) / 1000)
            accounts[account.address] = account
        jump = rng.gauss(0, 0.05) if rng.random() < 0.01 else 0.0
        for name in prices:
            prices[name] *= math.exp(rng.gauss(0, 0.003) + jump)
        raw = {name: f"{px:.6g}" for name, px in prices.items()}  # the wire message
        t = time.perf_counter_ns()
        update = book.apply_marks({coin: D(px) for coin, px in raw.items()})
        t_applied = time.perf_counter_ns()
        near = book.below(LEVELS)
        near_accounts = book.accounts_below(LEVELS)
        t_done = time.perf_counter_ns()
        apply_ms.append(update.elapsed_ns / 1e6)
        total_ms.append((t_applied - t) / 1e6)
        query_ms.append((t_done - t) / 1e6)
        recomputed += update.accounts
        fallbacks += update.shock_fallbacks
        near_max = max(near_max, len(near) + len(near_accounts))
    final = {coin: D(raw[coin]) for coin in COINS}
    stats = book.stats()
    return {
        "accounts": n,
        "positions": stats.positions,
        "updates": updates,
        "message_ms": summary(total_ms),
        "apply_marks_ms": summary(apply_ms),
        "message_and_alert_queries_ms": summary(query_ms),
        "upsert_us": summary(upsert_us, 1),
        "initial_upserts_ms": round(upsert_ms, 1),
        "first_recompute_ms": round(first_ms, 1),
        "shock_fallbacks": fallbacks,
        "shock_fallback_rate": fallbacks / max(1, recomputed),
        "near_liquidation_max": near_max,
        "array_mb": round(stats.array_bytes / 2**20, 2),
        "book_traced_mb": round(book_bytes / 2**20, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "agreement": agreement(book, accounts, final, meta, rng),
    }


def summary(values: list[float], digits: int = 2) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values), digits),
        "p99": round(pct(values, 99), digits),
        "max": round(max(values), digits),
    }


def agreement(
    book: LiveBook,
    accounts: dict[str, VenueAccount],
    marks: dict[str, Decimal],
    meta: MarketMeta,
    rng: random.Random,
) -> dict[str, Any]:
    """Our figures against assess_account at the same marks, on up to 500 accounts."""
    sample = rng.sample(sorted(accounts), min(500, len(accounts)))
    liq_rel = dist_pp = shock_pp = pnl_rel = 0.0
    none_mismatch = compared = 0
    for address in sample:
        exact = assess_account(remark_account(accounts[address], marks, meta), meta, NOW)
        (ours,) = book.snapshots(address)
        by_coin = {p.coin: p for p in exact.positions}
        for p in ours.positions:
            e = by_coin[p.coin]
            compared += 1
            pnl_rel = max(
                pnl_rel, float(abs(p.unrealized_pnl_usd - e.unrealized_pnl_usd) / e.notional_usd)
            )
            if (p.liquidation_px is None) != (e.liquidation_px is None):
                none_mismatch += 1
            elif p.liquidation_px is not None and e.liquidation_px is not None:
                liq_rel = max(liq_rel, float(abs(p.liquidation_px / e.liquidation_px - 1)))
                assert p.distance_to_liq_pct is not None
                assert e.distance_to_liq_pct is not None
                dist_pp = max(dist_pp, float(abs(p.distance_to_liq_pct - e.distance_to_liq_pct)))
        a, b = ours.shock_to_liq_pct, exact.shock_to_liq_pct
        if (a is None) != (b is None):
            none_mismatch += 1
        elif a is not None and b is not None:
            shock_pp = max(shock_pp, float(abs(a - b)))
    return {
        "accounts": len(sample),
        "positions": compared,
        "liq_px_max_rel_err": liq_rel,
        "distance_max_abs_err_pp": dist_pp,
        "shock_max_abs_err_pp": shock_pp,
        "pnl_max_err_per_notional": pnl_rel,
        "none_mismatches": none_mismatch,
    }


def machine() -> dict[str, Any]:
    import numpy
    from snapshot import machine as host

    return {**host(), "numpy": numpy.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.accounts[0], args.updates)))
        return
    results = []
    for n in args.accounts:
        cmd = [
            sys.executable,
            __file__,
            "--one",
            "--accounts",
            str(n),
            "--updates",
            str(args.updates),
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps({"machine": machine(), "results": results}, indent=2))
        return
    print(f"machine: {machine()}")
    for r in results:
        m, a, u = r["message_ms"], r["apply_marks_ms"], r["upsert_us"]
        print(
            f"{r['accounts']:>6} accounts {r['positions']:>6} positions | message ms "
            f"p50 {m['p50']} p99 {m['p99']} max {m['max']} (apply_marks p99 {a['p99']}, "
            f"+alert queries p99 {r['message_and_alert_queries_ms']['p99']}) | upsert us "
            f"p50 {u['p50']} p99 {u['p99']} | fallback {r['shock_fallback_rate']:.2%} | "
            f"arrays {r['array_mb']} MB, book {r['book_traced_mb']} MB, RSS {r['peak_rss_mb']} MB"
        )
        print(f"       agreement: {r['agreement']}")


if __name__ == "__main__":
    main()
