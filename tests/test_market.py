"""`tracker market` and the cohort views end to end: a store built by `tracker snapshot` and
`tracker discover` against the fake venue, read back through the real process.

Twelve accounts hold ETH (one also BTC, one a builder-dex coin) at known marks, so every tracked
figure is exact: notional = size x mark at the snapshot, account value = the equity modelled.
(A little over 400 lines: one command's tests around the one store they share, built once.)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import CliResult, run_cli, tracker_env
from tests.fakes.hyperliquid import FakeHyperliquid
from tests.fakes.leaderboard import leaderboard_row
from tests.fakes.venue import now_ms
from tests.test_liquidations import liq_fill, wire_fill
from tests.test_narrow import assert_uncut
from tests.test_snapshot import write_watchlist
from tracker.store import open_store

A, B, C, D, E = (f"0x{'a' * 39}{i}" for i in range(1, 6))
GS = [f"0x{'b' * 39}{i}" for i in range(1, 8)]  # small ETH longs of 1..7 ETH
F = f"0x{'c' * 40}"  # on the leaderboard only
HOSTILE = "[red]pwned[/red] @everyone \x1b[31m"
ETH_MARK, BTC_MARK, XYZ_MARK = Decimal(3000), Decimal(100_000), Decimal(20_000)
OI = Decimal(20_000)  # ETH open interest, coins
KEYS = [  # `--json`, in this order
    *("coin", "dex", "mark_px", "oracle_px", "funding_rate_hourly", "funding_apr"),
    *("open_interest", "open_interest_usd", "volume_24h_usd", "tracked", "cohorts"),
    *("largest_positions", "liquidation_clusters", "recent_position_changes"),
    "recent_liquidations",
]


def ctx(mark: Decimal, oracle: str, funding: str, oi: Decimal, volume: str) -> dict[str, Any]:
    px = str(mark)
    return {
        "funding": funding,
        "openInterest": str(oi),
        "prevDayPx": px,
        "dayNtlVlm": volume,
        "premium": "0.0",
        "oraclePx": oracle,
        "markPx": px,
        "midPx": px,
        "impactPxs": [px, px],
        "dayBaseVlm": "0.0",
    }


def asset(name: str, lev: int) -> dict[str, Any]:
    return {"szDecimals": 4, "name": name, "maxLeverage": lev, "marginTableId": lev}


def open_market(fake: FakeHyperliquid) -> None:
    """The main dex (ETH, BTC) and builder dex xyz with known figures."""
    fake.add_dex(
        "",
        {"universe": [asset("ETH", 25), asset("BTC", 40)], "marginTables": []},
        [
            ctx(ETH_MARK, "3001.5", "0.0000125", OI, "123456789.5"),
            ctx(BTC_MARK, "100010", "-0.00001", Decimal(900), "5000000"),
        ],
    )
    fake.add_dex(
        "xyz",
        {"universe": [asset("xyz:XYZ100", 20)], "marginTables": []},
        [ctx(XYZ_MARK, "20001", "0.0", Decimal(50), "1000")],
    )


def hold(fake: FakeHyperliquid, who: str, equity: int, *positions: tuple, dex: str = "") -> None:
    """Model WHO with EQUITY (USD) of account value: cash = equity - sum(size * mark)."""
    marks = {"ETH": ETH_MARK, "BTC": BTC_MARK, "xyz:XYZ100": XYZ_MARK}
    cash = Decimal(equity) - sum(Decimal(size) * marks[coin] for coin, size, _, _ in positions)
    fake.put_model_account(
        who,
        str(cash),
        [{"coin": c, "size": s, "entry_px": e, "leverage": lev} for c, s, e, lev in positions],
        dex=dex,
    )


@dataclass(frozen=True, slots=True)
class Built:
    db: Path
    folder: Path


async def build(folder: Path) -> Built:
    db = folder / "t.duckdb"
    async with FakeHyperliquid() as fake:
        open_market(fake)
        hold(fake, A, 50_000, ("ETH", "10", "2900", 10))
        hold(fake, B, 150_000, ("ETH", "-300", "3100", 5))  # liquidated near 3431
        hold(fake, C, 5_000_000, ("ETH", "1000", "2800", 3), ("BTC", "-5", "98000", 5))
        hold(fake, D, 50_000_000, ("ETH", "5000", "3000", 5))
        hold(fake, D, 100_000, ("xyz:XYZ100", "10", "20000", 5), dex="xyz")
        hold(fake, E, 200_000_000, ("ETH", "-2000", "3000", 10))
        for i, g in enumerate(GS, start=1):  # equity 30 % to 60 % of notional: liq 2143 down
            hold(fake, g, 3000 * i * (5 + i) // 20, ("ETH", str(i), "3000", 20))
        t = now_ms() - 60_000
        fake.put_fills(D, [wire_fill("ETH", "3000.0", "5000", t, 41, "0.0", "Open Long")])
        fake.put_fills(A, [wire_fill("ETH", "2900.0", "10", t + 1, 42, "0.0", "Open Long")])
        fake.put_fills(  # a small ETH liquidation of G1 (below the large-change threshold)
            GS[0],
            [
                liq_fill(
                    coin="ETH",
                    px="2500",
                    sz="2",
                    time=t + 2,
                    tid=43,
                    method="market",
                    user=GS[0],
                    owner_side="A",
                    start="2.0",
                    mark="2501",
                )
            ],
        )
        fake.put_leaderboard(
            [
                leaderboard_row(A, "60000", HOSTILE, pnl=("0", "0", "0", "-50000")),
                leaderboard_row(B, "400000", "whale-b", pnl=("0", "0", "0", "250000")),
                leaderboard_row(D, "5000000", "Dee", pnl=("0", "0", "0", "20000000")),
                leaderboard_row(E, "190000000", None, pnl=("0", "0", "0", "-2000000")),
                leaderboard_row(F, "1000000000", "not tracked", pnl=("0", "0", "0", "1")),
            ]
        )
        env = tracker_env(
            fake.url,
            db,
            TRACKER_HL_STATS_URL=fake.url,
            TRACKER_HISTORY_MAX_AGE="0.001",
            TRACKER_WATCHLISTS_DIR=str(folder / "nowhere"),
        )
        watchlist = write_watchlist(folder / "all.toml", A, B, C, D, E, *GS)
        snap = await run_cli("snapshot", "-w", str(watchlist), "--json", env=env)
        assert snap.code == 0, snap.stderr
        assert json.loads(snap.stdout)["addresses_ok"] == 12
        found = await run_cli("discover", "--json", env=env)
        assert found.code == 0, found.stderr
    labels = folder / "labels"
    labels.mkdir()
    (labels / "mine.toml").write_text(
        f'[[address]]\naddress = "{C}"\nlabel = "Cee"\n\n'
        f'[[address]]\naddress = "{D}"\nlabel = "D watched"\n'
    )
    return Built(db=db, folder=folder)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """One store per module, read-only afterwards (`tracker market` opens it so)."""
    return asyncio.run(build(tmp_path_factory.mktemp("market")))


@pytest.fixture
async def venue() -> AsyncIterator[FakeHyperliquid]:
    async with FakeHyperliquid() as fake:
        open_market(fake)
        yield fake


async def market(built: Built, url: str, *args: str, **env: str) -> CliResult:
    environment = tracker_env(url, built.db, TRACKER_WATCHLISTS_DIR=str(built.folder / "labels"))
    return await run_cli("market", *args, env={**environment, **env})


def d(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def sql(db: Path, statement: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(statement).fetchall()


# --- the views ---------------------------------------------------------------------------------


def test_account_cohorts_use_latest_accounts_then_the_leaderboard(built):
    rows = dict(
        (a, (v, p, value, pnl))
        for a, v, p, value, pnl in sql(
            built.db,
            "SELECT address, value_cohort, pnl_cohort, account_value_usd, pnl_all_time_usd "
            "FROM account_cohorts",
        )
    )
    assert rows[A][:2] == ("under $100k", "loss under $100k")
    assert rows[B][:2] == ("$100k to $1M", "profit $100k to $1M")
    assert rows[C][:2] == ("$1M to $10M", "unknown")
    assert rows[D][:2] == ("$10M to $100M", "profit $10M and over")  # not the board's $5M
    assert rows[D][2] == Decimal(50_100_000)  # main dex + xyz
    assert rows[E][:2] == ("$100M and over", "loss $1M and over")
    assert rows[F][:2] == ("$100M and over", "profit under $100k")  # the leaderboard's value
    assert all(rows[g][:2] == ("under $100k", "unknown") for g in GS)


# --- one coin ----------------------------------------------------------------------------------


async def test_coin_json_every_key_and_figure(built, venue):
    result = await market(built, venue.url, "eth", "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert list(doc) == KEYS
    assert (doc["coin"], doc["dex"]) == ("ETH", "")
    assert d(doc["mark_px"]) == ETH_MARK and d(doc["oracle_px"]) == Decimal("3001.5")
    assert d(doc["funding_rate_hourly"]) == Decimal("0.0000125")
    assert d(doc["funding_apr"]) == Decimal("0.0000125") * 8760
    assert d(doc["open_interest"]) == OI and d(doc["open_interest_usd"]) == OI * ETH_MARK
    assert d(doc["volume_24h_usd"]) == Decimal("123456789.5")

    small = sum(range(1, 8))  # the seven small longs, ETH
    long_size, short_size = 10 + 1000 + 5000 + small, 300 + 2000
    tracked = doc["tracked"]
    assert list(tracked) == [
        *("long_notional_usd", "short_notional_usd", "accounts_long", "accounts_short"),
        "share_of_oi",
    ]
    assert d(tracked["long_notional_usd"]) == long_size * ETH_MARK
    assert d(tracked["short_notional_usd"]) == short_size * ETH_MARK
    assert (tracked["accounts_long"], tracked["accounts_short"]) == (10, 2)
    assert d(tracked["share_of_oi"]["long"]) == long_size / OI
    assert d(tracked["share_of_oi"]["short"]) == short_size / OI

    cohorts = {(c["kind"], c["cohort"]): c for c in doc["cohorts"]}
    assert len(doc["cohorts"]) == 13  # every band, empty ones as zeros
    expected = {
        ("account_value", "under $100k"): (10 + small, 0, 8, 0),
        ("account_value", "$100k to $1M"): (0, 300, 0, 1),
        ("account_value", "$1M to $10M"): (1000, 0, 1, 0),
        ("account_value", "$10M to $100M"): (5000, 0, 1, 0),
        ("account_value", "$100M and over"): (0, 2000, 0, 1),
        ("all_time_pnl", "profit $10M and over"): (5000, 0, 1, 0),
        ("all_time_pnl", "profit $100k to $1M"): (0, 300, 0, 1),
        ("all_time_pnl", "loss under $100k"): (10, 0, 1, 0),
        ("all_time_pnl", "loss $1M and over"): (0, 2000, 0, 1),
        ("all_time_pnl", "unknown"): (1000 + small, 0, 8, 0),
    }
    for key, c in cohorts.items():
        longs, shorts, n_long, n_short = expected.get(key, (0, 0, 0, 0))
        assert d(c["long_notional_usd"]) == longs * ETH_MARK, key
        assert d(c["short_notional_usd"]) == shorts * ETH_MARK, key
        assert (c["accounts_long"], c["accounts_short"]) == (n_long, n_short), key
        assert d(c["share_of_oi"]["long"]) == Decimal(longs) / OI, key
    for kind in ("account_value", "all_time_pnl"):  # each kind adds up to the coin's totals
        mine = [c for c in doc["cohorts"] if c["kind"] == kind]
        assert sum(d(c["long_notional_usd"]) for c in mine) == d(tracked["long_notional_usd"])
        assert sum(c["accounts_short"] for c in mine) == tracked["accounts_short"]
    assert [c["cohort"] for c in doc["cohorts"][:5]] == [
        "under $100k",
        "$100k to $1M",
        "$1M to $10M",
        "$10M to $100M",
        "$100M and over",
    ]


async def test_largest_positions_labels_order_and_the_limit(built, venue):
    doc = json.loads((await market(built, venue.url, "ETH", "--json")).stdout)
    largest = doc["largest_positions"]
    assert [p["address"] for p in largest] == [D, E, C, B, A, *reversed(GS[2:])]  # ten of 12
    assert [p["label"] for p in largest[:5]] == ["D watched", None, "Cee", "whale-b", HOSTILE]
    assert all(p["label"] is None for p in largest[5:])
    first = largest[0]
    assert (first["side"], d(first["size"]), d(first["notional_usd"])) == (
        "long",
        Decimal(5000),
        5000 * ETH_MARK,
    )
    assert d(largest[1]["entry_px"]) == ETH_MARK and largest[1]["side"] == "short"
    stored = dict(
        sql(
            built.db,
            "SELECT address, liquidation_px FROM latest_positions WHERE coin = 'ETH'",
        )
    )
    for p in largest:
        assert d(p["liquidation_px"]) == stored[p["address"]]
        assert {"distance_to_liq_pct", "entry_px", "size"} <= set(p)


async def test_liquidation_clusters_hold_the_positions_they_say(built, venue):
    doc = json.loads((await market(built, venue.url, "ETH", "--json")).stdout)
    clusters = doc["liquidation_clusters"]
    assert clusters, "the modelled accounts have liquidation prices near the mark"
    positions = sql(
        built.db,
        "SELECT side, liquidation_px, notional_usd FROM latest_positions "
        "WHERE coin = 'ETH' AND liquidation_px IS NOT NULL",
    )
    for side in ("long", "short"):
        mine = [c for c in clusters if c["side"] == side]
        assert len(mine) <= 3
        distances = [abs(d(c["distance_pct"])) for c in mine]
        assert distances == sorted(distances)  # nearest first
        for c in mine:
            low, high = d(c["price_low"]), d(c["price_high"])
            assert (high <= ETH_MARK) if side == "long" else (low >= ETH_MARK)
            inside = sum(
                n for s, px, n in positions if s == side and low <= px < high
            )  # half-open buckets (the top one also holds its top edge: not hit here)
            assert d(c["notional_usd"]) == inside > 0
    longs_below = [px for s, px, _ in positions if s == "long" and px < ETH_MARK]
    nearest = max(longs_below)
    assert any(
        c["side"] == "long" and d(c["price_low"]) <= nearest < d(c["price_high"]) for c in clusters
    )


async def test_recent_changes_and_liquidations(built, venue):
    doc = json.loads((await market(built, venue.url, "ETH", "--json")).stdout)
    changes = doc["recent_position_changes"]
    assert [(c["address"], c["kind"]) for c in changes] == [(D, "open")]  # A's $29k is small
    assert changes[0]["label"] == "D watched" and d(changes[0]["notional_usd"]) == 15_000_000
    liquidations = doc["recent_liquidations"]
    assert [(x["address"], x["side"]) for x in liquidations] == [(GS[0], "long")]
    assert d(liquidations[0]["notional_usd"]) == 5000


async def test_builder_dex_coin_by_prefix_or_dex(built, venue):
    for args in (("xyz:XYZ100",), ("XYZ100", "--dex", "xyz")):
        result = await market(built, venue.url, *args, "--json")
        assert result.code == 0, result.stderr
        doc = json.loads(result.stdout)
        assert (doc["coin"], doc["dex"], d(doc["mark_px"])) == ("xyz:XYZ100", "xyz", XYZ_MARK)
        assert d(doc["tracked"]["long_notional_usd"]) == 10 * XYZ_MARK
        assert d(doc["tracked"]["share_of_oi"]["long"]) == Decimal(10) / 50


# --- the list ----------------------------------------------------------------------------------


async def test_list_by_tracked_notional(built, venue):
    result = await market(built, venue.url, "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [(r["coin"], r["dex"]) for r in doc] == [("ETH", ""), ("BTC", ""), ("xyz:XYZ100", "xyz")]
    btc = doc[1]
    assert d(btc["tracked"]["short_notional_usd"]) == 5 * BTC_MARK
    assert d(btc["mark_px"]) == BTC_MARK and d(btc["open_interest_usd"]) == 900 * BTC_MARK
    only = json.loads((await market(built, venue.url, "--dex", "xyz", "--json")).stdout)
    assert [r["coin"] for r in only] == ["xyz:XYZ100"]
    table = await market(built, venue.url, COLUMNS="80")
    assert table.code == 0, table.stderr
    assert_uncut(table.stdout, 80)
    assert table.stdout.index("ETH") < table.stdout.index("BTC") < table.stdout.index("XYZ100")


# --- the terminal ------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 200])
async def test_terminal_fits_and_names_stay_plain(built, venue, width):
    result = await market(built, venue.url, "ETH", COLUMNS=str(width))
    assert result.code == 0, result.stderr
    screen = result.stdout
    assert_uncut(screen, width)
    assert "[red]pwned[/red]" in screen.replace("\n", "")  # markup printed, not applied
    assert "\x1b" not in screen and "\\x1b[31m" in screen.replace("\n", "")
    for title in ("by cohort", "Largest", "liquidation clusters", "position changes"):
        assert title in screen
    assert "Cee" in screen and "whale-b" in screen


# --- the venue down, bad input, an empty store --------------------------------------------------


async def test_venue_down_falls_back_to_the_stored_markets(built):
    result = await market(built, "http://127.0.0.1:9", "ETH", "--json", TRACKER_HTTP_RETRIES="0")
    assert result.code == 1
    doc = json.loads(result.stdout)
    assert d(doc["mark_px"]) == ETH_MARK and d(doc["open_interest"]) == OI  # as stored
    assert d(doc["tracked"]["share_of_oi"]["short"]) == Decimal(2300) / OI
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one warning line, no log noise
    assert lines[0].startswith("warning: the venue could not be reached"), result.stderr
    assert "market figures: the newest stored ones (as of " in lines[0]
    unknown = await market(built, "http://127.0.0.1:9", "NOPE", TRACKER_HTTP_RETRIES="0")
    assert unknown.code == 2 and "known from the store: BTC, ETH; the venue: " in unknown.stderr


async def test_the_list_falls_back_too(built):
    result = await market(built, "http://127.0.0.1:9", "--json", TRACKER_HTTP_RETRIES="0")
    assert result.code == 1 and "could not be reached" in result.stderr
    doc = json.loads(result.stdout)
    assert [(r["coin"], d(r["mark_px"])) for r in doc] == [
        ("ETH", ETH_MARK),
        ("BTC", BTC_MARK),
        ("xyz:XYZ100", XYZ_MARK),
    ]
    assert d(doc[0]["open_interest_usd"]) == OI * ETH_MARK


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("NOPE",), "unknown coin 'NOPE'"),
        (("ETH", "--dex", "no good"), "--dex must be"),
        (("xyz:XYZ100", "--dex", "abc"), "is on dex 'xyz'"),
        (("ETH", "--bogus"), "--bogus"),
        (("E T H",), "not a coin name"),
        (("ABC", "--dex", "nosuch"), "unknown coin 'nosuch:ABC' on dex 'nosuch'"),
    ],
)
async def test_bad_input_is_one_line_and_exit_2(built, venue, args, says):
    result = await market(built, venue.url, *args)
    assert result.code == 2, (result.stdout, result.stderr)
    assert says in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


async def test_an_empty_store_says_so(tmp_path, venue):
    with open_store(tmp_path / "empty.duckdb"):
        pass
    empty = Built(db=tmp_path / "empty.duckdb", folder=tmp_path)
    (tmp_path / "labels").mkdir()
    listing = await market(empty, venue.url)
    assert listing.code == 0, listing.stderr
    assert "no tracked positions" in listing.stdout and "tracker snapshot" in listing.stdout
    coin = await market(empty, venue.url, "ETH", "--json")
    assert coin.code == 0, coin.stderr
    doc = json.loads(coin.stdout)
    assert d(doc["mark_px"]) == ETH_MARK and doc["largest_positions"] == []
    assert doc["tracked"]["accounts_long"] == 0 and doc["liquidation_clusters"] == []
    screen = await market(empty, venue.url, "ETH")
    assert screen.code == 0 and "no tracked positions" in screen.stdout
