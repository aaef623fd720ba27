"""Typed named-query parameters: every shipped header, every type, through the real CLI.

The database is built by the real pipeline (two `tracker snapshot` passes against the fake venue,
with fills and liquidations arriving in between) plus Ethereum rows through the store's own write
path (holdings, Aave liquidation calls, a log-scanner cursor). Bad values are checked on that
database and on an empty one: the answer must be the same one line, because values are checked
before any database is opened.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import run_cli, tracker_env
from tests.fakes import seed
from tests.fakes.hyperliquid import FakeHyperliquid
from tests.fakes.venue import now_ms
from tests.test_liquidations import liq_fill, wire_fill
from tests.test_snapshot import write_watchlist
from tracker import resources
from tracker.app.chain_cursors import advance
from tracker.app.ethereum_poll import HOLDING_COLUMNS, LIQUIDATION_COLUMNS
from tracker.errors import QueryError
from tracker.records import AaveLiquidationCall, Holding
from tracker.store import open_store
from tracker.store.named_queries import PARAM_REFERENCE, TYPES, NamedQuery, named_query, parse
from tracker.store.writes import insert_batch

WHALE = "0xb317d2bc2d3d2df5fa441b5bae0ab9d8b07283ae"  # the address of the README's examples
POOL = "0x87870bca3f3fd6335c3f4ce8392d69350b4fa4e2"
WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
STREAM = f"aave-v3:{POOL}:liquidations"
COLLATERAL_USD = Decimal("2500000.5")
NAMES = resources.query_names()


# --- the databases ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Database:
    """A DuckDB file and the environment that points the tracker at it."""

    db: Path
    env: dict[str, str]


def whale_fills(t: int) -> list[dict]:
    """An ETH long opened then increased, and a BTC long liquidated (market, then backstop)."""
    liquidation = {"user": WHALE, "owner_side": "A", "coin": "BTC", "sz": "2"}
    return [
        wire_fill("ETH", "2950.0", "600", t, 81, "0.0", "Open Long"),
        wire_fill("ETH", "2940.0", "300", t + 1_000, 82, "600.0", "Open Long"),
        liq_fill(
            **liquidation,
            px="84000",
            time=t + 2_000,
            tid=83,
            method="market",
            start="4.0",
            mark="84010",
        ),
        liq_fill(
            **liquidation,
            px="83900",
            time=t + 3_000,
            tid=84,
            method="backstop",
            start="2.0",
            mark="83950",
        ),
    ]


def ethereum_rows(now: datetime) -> tuple[list[Holding], list[AaveLiquidationCall]]:
    """Holdings of the whale at two blocks, and two Aave liquidations (one over $1M)."""
    holdings = [
        Holding(
            ts=now - timedelta(hours=hours),
            venue="ethereum",
            address=WHALE,
            asset=asset,
            token_address=token,
            amount=Decimal(amount),
            usd_value=Decimal(amount) * Decimal("2900"),
            price_usd=Decimal("2900"),
            chain_id=1,
            block_number=block,
        )
        for hours, block in ((2, 21_000_000), (1, 21_000_300))
        for asset, token, amount in (("ETH", None, "198000.5"), ("WETH", WETH, "1200"))
    ]
    calls = [
        AaveLiquidationCall(
            chain_id=1,
            pool=POOL,
            block_number=21_000_100 + i,
            block_ts=now - timedelta(minutes=30 - i),
            tx_hash=f"0x{0xAB00 + i:064x}",
            log_index=7,
            user=WHALE,
            collateral_asset=WETH,
            collateral_symbol="WETH",
            debt_asset=USDC,
            debt_symbol="USDC",
            debt_to_cover=collateral / 2,
            liquidated_collateral=collateral / Decimal("2900"),
            collateral_price_usd=Decimal("2900"),
            debt_price_usd=Decimal("1"),
            collateral_usd=collateral,
            debt_usd=collateral / 2,
            liquidator="0x00000000000000000000000000000000000d1ced",
            receive_a_token=False,
        )
        for i, collateral in enumerate((COLLATERAL_USD, Decimal("50000")))
    ]
    return holdings, calls


async def populated_database(folder: Path) -> Database:
    """Two snapshot passes of three accounts, fills in between, then Ethereum rows."""
    db = folder / "tracker.duckdb"
    env = tracker_env("http://127.0.0.1:9", db, TRACKER_HISTORY_MAX_AGE="0.001")
    watchlist = write_watchlist(
        folder / "w.toml", WHALE, seed.CROSS_SHORT_SOL, seed.ISOLATED_SHORT_HYPE
    )
    async with FakeHyperliquid.seeded() as fake:
        env["TRACKER_HL_API_URL"] = fake.url
        fake.put_model_account(
            WHALE,
            "-210000",
            positions=[
                {"coin": "ETH", "size": "900", "entry_px": "2946.67", "leverage": 10},
                {"coin": "SOL", "size": "-10000", "entry_px": "175", "leverage": 5},
            ],
        )
        for i, (eth, sol) in enumerate((("2900", "180"), ("2800", "185"))):
            fake.set_mark("ETH", eth)
            fake.set_mark("SOL", sol)
            result = await run_cli("snapshot", "-w", str(watchlist), "--json", env=env)
            assert result.code == 0, result.stderr
            if i == 0:
                fake.put_fills(WHALE, list(reversed(whale_fills(now_ms()))))
    holdings, calls = ethereum_rows(datetime.now(UTC))
    with open_store(db) as store, store.transaction():
        insert_batch(store, "holdings", HOLDING_COLUMNS, holdings)
        insert_batch(store, "aave_liquidation_calls", LIQUIDATION_COLUMNS, calls)
        advance(store, 1, STREAM, 21_000_500, f"0x{0xB10C:064x}")
    return Database(db, env)


def empty_database(folder: Path) -> Database:
    """A migrated store with no rows (what the first `tracker snapshot` starts from)."""
    db = folder / "tracker.duckdb"
    with open_store(db):
        pass
    return Database(db, tracker_env("http://127.0.0.1:9", db))


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Database:
    return asyncio.run(populated_database(tmp_path_factory.mktemp("full")))


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Database:
    return empty_database(tmp_path_factory.mktemp("empty"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def invoke(database: Database, *args: str) -> Any:
    """`tracker ARGS` in this process through typer's runner (errors stay exceptions)."""
    from tracker.cli.commands import app

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return CliRunner().invoke(app, list(args), env=database.env)
    finally:  # the command points logging at the runner's stderr, gone after the call
        root.handlers[:], root.level = handlers, level


def named_json(database: Database, name: str, *params: str) -> list[dict[str, Any]]:
    args = ["query", "--name", name, "--format", "json"]
    for param in params:
        args += ["--param", param]
    result = invoke(database, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


# --- the header ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_shipped_header_parses_and_declares_exactly_what_the_sql_uses(name: str) -> None:
    text = resources.sql("queries", name)
    query = named_query(name)
    assert query.description and not query.description.startswith("param")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    assert {p.name for p in query.params} == set(PARAM_REFERENCE.findall(body))
    for param in query.params:
        assert param.type in TYPES
        if param.default_text is not None:  # the default is a value of the declared type
            assert param.convert(param.default_text) == param.default
    # Defaults come from the header, never from SQL that leans on DuckDB's casting of text.
    assert not re.search(r"coalesce\s*\(\s*(cast\s*\(\s*)?\$", body, re.IGNORECASE)
    assert not re.search(r"cast\s*\(\s*\$", body, re.IGNORECASE)


def test_the_shipped_queries_are_the_ones_listed_with_their_parameters() -> None:
    assert len(NAMES) >= 9 and "largest_positions" in NAMES
    largest = named_query("largest_positions")
    assert [p.usage() for p in largest.params] == ["limit INTEGER 1..10000 = 20"]
    assert named_query("pnl_over_time").params[0].usage() == "address ADDRESS required"
    assert named_query("latest_holdings").params[2].usage() == "before TIMESTAMP optional"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("SELECT 1", "first line"),
        ("-- d\n-- param: limit NUMBER = 1\nSELECT $limit", "unknown type 'NUMBER'"),
        ("-- d\n-- param: limit INTEGER = abc\nSELECT $limit", "default 'abc'"),
        ("-- d\n-- param: limit INTEGER 1..10 = 20\nSELECT $limit", "default '20' is above 10"),
        ("-- d\n-- param: limit INTEGER\nSELECT $limit", "line 2: cannot read"),
        ("-- d\n-- param: 1x INTEGER = 1\nSELECT 1", "not a parameter name"),
        ("-- d\nSELECT $x", "$x is not declared"),
        ("-- d\n-- param: x TEXT optional\nSELECT 1", "x is never used"),
        ("-- d\n-- param: x TEXT optional\n-- param: x TEXT optional\nSELECT $x", "twice"),
        ("-- d\n-- param: x TEXT 1..3 optional\nSELECT $x", "TEXT takes no MIN..MAX"),
        ("-- d\n-- param: x INTEGER a..3 optional\nSELECT $x", "bound 'a'"),
    ],
)
def test_a_broken_header_names_the_file_and_the_defect(text: str, says: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse("broken", text)
    assert "sql/queries/broken.sql" in str(caught.value) and says in str(caught.value)


def test_help_text_and_open_bounds_are_read() -> None:
    query = parse(
        "q",
        "-- What it answers.\n"
        "-- A second line of description.\n"
        "-- param: n INTEGER 1.. = 5  how many (at least one)\n"
        "-- param: x DECIMAL ..-0.5 optional\n"
        "-- param: flag BOOLEAN = no\n"
        "SELECT $n, $x, $flag",
    )
    n, x, flag = query.params
    assert (n.low, n.high, n.default, n.help) == (1, None, 5, "how many (at least one)")
    assert (x.low, x.high, x.default, x.required) == (None, Decimal("-0.5"), None, False)
    assert (flag.default, flag.usage()) == (False, "flag BOOLEAN = no")
    assert query.bind([]) == {"n": 5, "x": None, "flag": False}


# --- values, per type ---------------------------------------------------------------------------

GOOD: list[tuple[str, str, Any]] = [
    ("INTEGER", "20", 20),
    ("INTEGER", "-3", -3),
    ("INTEGER", "+7", 7),
    ("DECIMAL", "1e6", Decimal("1000000")),
    ("DECIMAL", "2500000.5", Decimal("2500000.5")),
    ("DECIMAL", "0.000000000000000001", Decimal("1e-18")),
    ("DECIMAL", ".5", Decimal("0.5")),
    ("TEXT", "erc20-transfers:0xabc", "erc20-transfers:0xabc"),
    ("TEXT", "it's; DROP TABLE positions; --", "it's; DROP TABLE positions; --"),
    ("ADDRESS", WHALE.upper().replace("0X", "0x"), WHALE),
    ("COIN", "flx:CRCL", "flx:CRCL"),
    ("COIN", "kPEPE", "kPEPE"),
    ("COIN", "@107", "@107"),
    ("TIMESTAMP", "2026-01-31", datetime(2026, 1, 31, tzinfo=UTC)),
    ("TIMESTAMP", "2026-01-31T12:00:00Z", datetime(2026, 1, 31, 12, tzinfo=UTC)),
    ("TIMESTAMP", "2026-01-31T12:00:00+02:00", datetime(2026, 1, 31, 10, tzinfo=UTC)),
    ("BOOLEAN", "true", True),
    ("BOOLEAN", "NO", False),
    ("BOOLEAN", "1", True),
]
BAD: list[tuple[str, str, str]] = [
    ("INTEGER", "abc", "not a whole number"),
    ("INTEGER", "1.5", "not a whole number"),
    ("INTEGER", "1e3", "not a whole number"),
    ("INTEGER", "", "not a whole number"),
    ("INTEGER", "9" * 19, "too large"),
    ("DECIMAL", "abc", "not a decimal"),
    ("DECIMAL", "nan", "not a decimal"),
    ("DECIMAL", "Infinity", "not a decimal"),
    ("DECIMAL", "1,000", "not a decimal"),
    ("DECIMAL", "1e20", "too large"),
    ("DECIMAL", "0.0000000000000000001", "18 decimal places"),
    ("TEXT", "", "empty"),
    ("TEXT", "a\x01b", "control characters"),
    ("TEXT", "x" * 201, "longer than 200"),
    ("ADDRESS", "0x123", "not an address"),
    ("ADDRESS", WHALE[2:], "not an address"),
    ("COIN", "ETH'; DROP TABLE positions; --", "not a coin"),
    ("COIN", "", "not a coin"),
    ("TIMESTAMP", "yesterday", "ISO 8601"),
    ("BOOLEAN", "maybe", "not true or false"),
]


@pytest.mark.parametrize(("type_name", "text", "value"), GOOD)
def test_good_values_become_typed_values(type_name: str, text: str, value: Any) -> None:
    converted = TYPES[type_name][0](text)
    assert converted == value and type(converted) is type(value)


@pytest.mark.parametrize(("type_name", "text", "says"), BAD)
def test_bad_values_are_refused_with_the_reason(type_name: str, text: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        TYPES[type_name][0](text)


def test_every_type_has_good_and_bad_cases() -> None:
    assert {t for t, _, _ in GOOD} == {t for t, _, _ in BAD} == set(TYPES)


def test_binding_checks_names_repeats_requirements_and_bounds() -> None:
    largest, pnl = named_query("largest_positions"), named_query("pnl_over_time")
    assert largest.bind([]) == {"limit": 20}
    assert largest.bind([("limit", "10000")]) == {"limit": 10000}
    refusals: list[tuple[NamedQuery, list[tuple[str, str]], str]] = [
        (largest, [("lmit", "3")], "takes no parameter 'lmit'; it takes: limit"),
        (largest, [("limit", "3"), ("limit", "4")], "--param limit is given twice"),
        (largest, [("limit", "0")], "'0' is below 1"),
        (largest, [("limit", "10001")], "'10001' is above 10000"),
        (largest, [("limit", "abc")], "(largest_positions takes limit INTEGER 1..10000 = 20)"),
        (pnl, [], "needs --param address=… (address ADDRESS required)"),
    ]
    for query, given, says in refusals:
        with pytest.raises(QueryError) as caught:
            query.bind(given)
        assert says in str(caught.value) and "\n" not in str(caught.value)


def test_a_value_that_may_be_a_private_key_is_never_echoed() -> None:
    key = "0x" + hashlib.sha256(b"not a key").hexdigest()
    for query, param in (("pnl_over_time", "address"), ("chain_cursors", "stream")):
        with pytest.raises(QueryError) as caught:
            named_query(query).bind([(param, key)] if param == "address" else [(param, key * 4)])
        assert key[10:30] not in str(caught.value)


# --- through the CLI, on an empty and on a full database ----------------------------------------

# One value per type that the type refuses (TEXT is refused here by its length).
REFUSED = {
    "INTEGER": "abc",
    "DECIMAL": "1,5",
    "TEXT": "x" * 201,
    "ADDRESS": "0x123",
    "COIN": "ETH'; DROP TABLE positions; --",
    "TIMESTAMP": "yesterday",
    "BOOLEAN": "maybe",
}


def bad_values() -> list[tuple[str, str, str, str]]:
    """(query, param, value, what the error line says) for every declared parameter."""
    cases = []
    for name in NAMES:
        for param in named_query(name).params:
            cases.append((name, param.name, REFUSED[param.type], f"--param {param.name}:"))
            if param.low is not None:
                below = param.low - (1 if param.type == "INTEGER" else Decimal("0.01"))
                cases.append((name, param.name, str(below), f"is below {param.low}"))
            if param.high is not None:
                above = param.high + (1 if param.type == "INTEGER" else Decimal("0.01"))
                cases.append((name, param.name, str(above), f"is above {param.high}"))
    return cases


def test_every_declared_parameter_is_checked_before_the_database_is_opened(
    empty: Database, full: Database
) -> None:
    cases = bad_values()
    types = {p.type for name in NAMES for p in named_query(name).params}
    assert types == set(TYPES) - {"BOOLEAN"}  # no shipped query takes a BOOLEAN (yet)
    for database in (empty, full):
        before = digest(database.db)
        for name, param, value, says in cases:
            result = invoke(database, "query", "--name", name, "--param", f"{param}={value}")
            error = result.exception
            assert isinstance(error, QueryError), (name, param, value, result.output)
            assert says in str(error) and "\n" not in str(error), str(error)
            assert result.stdout == ""
        for name in NAMES:
            unknown = invoke(database, "query", "--name", name, "--param", "nope=1")
            assert isinstance(unknown.exception, QueryError)
            assert f"query {name!r} takes no parameter 'nope'" in str(unknown.exception)
            for param in named_query(name).params:
                good = "1" if param.type in ("INTEGER", "DECIMAL") else None
                value = good or {"ADDRESS": WHALE, "TIMESTAMP": "2026-01-31"}.get(param.type, "ETH")
                twice = invoke(
                    database,
                    *("query", "--name", name),
                    *("--param", f"{param.name}={value}", "--param", f"{param.name}={value}"),
                )
                assert isinstance(twice.exception, QueryError)
                assert str(twice.exception) == f"--param {param.name} is given twice"
        assert digest(database.db) == before


# Through the process itself: exit 2 and one line, per type, on both databases.
PROCESS_CASES = [
    (("largest_positions", "limit=abc"), "--param limit: 'abc' is not a whole number"),
    (("biggest_changes_24h", "hours=0"), "--param hours: '0' is below 1"),
    (("liquidation_fills", "min_usd=-1"), "--param min_usd: '-1' is below 0"),
    (("pnl_over_time", "address=0x123"), "--param address: '0x123' is not an address"),
    (("added_to_longs", "coin=ETH;"), "--param coin: 'ETH;' is not a coin name"),
    (("latest_holdings", "before=soon"), "--param before: 'soon' is not an ISO 8601 time"),
    (("chain_cursors", "stream="), "--param stream: '' is empty"),
    (("largest_positions", "lmit=3"), "query 'largest_positions' takes no parameter 'lmit'"),
    (("pnl_over_time",), "query 'pnl_over_time' needs --param address="),
]


async def test_bad_values_are_one_line_and_exit_2_in_the_real_process(
    empty: Database, full: Database
) -> None:
    async def one(database: Database, args: tuple[str, ...]) -> Any:
        argv = ["query", "--name", args[0], *(a for p in args[1:] for a in ("--param", p))]
        return await run_cli(*argv, env=database.env)

    for database in (empty, full):
        before = digest(database.db)
        results = [await one(database, args) for args, _ in PROCESS_CASES]
        for (args, says), result in zip(PROCESS_CASES, results, strict=True):
            assert result.code == 2, (args, result.stderr)
            assert result.stderr.startswith(f"error: {says}"), result.stderr
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
            assert result.stdout == "" and "Traceback" not in result.stderr
        assert digest(database.db) == before


async def test_query_list_shows_every_query_with_its_parameters(empty: Database) -> None:
    result = await run_cli("query", "--list", env=empty.env)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in NAMES:
        query = named_query(name)
        assert f"{name}  {query.description}" in lines
        start = lines.index(f"{name}  {query.description}")
        shown = [line.strip() for line in lines[start + 1 : start + 1 + len(query.params)]]
        assert [s.split("  ")[0] for s in shown] == [f"--param {p.usage()}" for p in query.params]


# --- the answers --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_defaults_on_an_empty_database_answer_nothing(empty: Database, name: str) -> None:
    params = [f"address={WHALE}"] if name == "pnl_over_time" else []
    assert named_json(empty, name, *params) == []


def test_defaults_and_typed_values_on_a_full_database(full: Database) -> None:
    largest = named_json(full, "largest_positions")
    assert len(largest) == 5 and len(named_json(full, "largest_positions", "limit=2")) == 2
    notionals = [Decimal(r["notional_usd"]) for r in largest]
    assert notionals == sorted(notionals, reverse=True)
    closest = named_json(full, "closest_to_liquidation", "limit=1")
    assert len(closest) == 1 and closest[0]["distance_to_liq_pct"] is not None

    pnl = named_json(full, "pnl_over_time", f"address={WHALE}")
    assert len(pnl) == 2  # two passes
    shouted = named_json(full, "pnl_over_time", f"address={WHALE.upper().replace('0X', '0x')}")
    assert shouted == pnl  # an address is normalised before it is bound

    assert [r["coin"] for r in named_json(full, "added_to_longs")] == ["ETH"]
    assert named_json(full, "added_to_longs", "coin=BTC") == []  # the BTC fills are not adds
    changes = named_json(full, "biggest_changes_24h", "hours=1", "limit=1")
    assert len(changes) == 1 and changes[0]["address"] == WHALE

    liquidations = named_json(full, "liquidation_fills")
    assert [r["liquidation_method"] for r in liquidations] == ["market", "backstop"]
    assert len(named_json(full, "liquidation_fills", "min_usd=168000")) == 1  # 2 x 84000
    assert named_json(full, "liquidation_fills", "min_usd=168000.000000000000000001") == []

    # DECIMAL is exact to the 18th place: the threshold equal to the value keeps the row.
    aave = named_json(full, "large_aave_liquidations")
    assert [Decimal(r["collateral_usd"]) for r in aave] == [COLLATERAL_USD]
    assert len(named_json(full, "large_aave_liquidations", f"min_usd={COLLATERAL_USD}")) == 1
    over = f"min_usd={COLLATERAL_USD + Decimal('1e-18')}"  # 2500000.500000000000000001
    assert named_json(full, "large_aave_liquidations", over) == []
    assert len(named_json(full, "large_aave_liquidations", "min_usd=0")) == 2

    latest = named_json(full, "latest_holdings")
    assert sorted((r["asset"], r["block_number"]) for r in latest) == [
        ("ETH", 21_000_300),
        ("WETH", 21_000_300),
    ]
    earlier = (datetime.now(UTC) - timedelta(minutes=90)).isoformat()
    before = named_json(full, "latest_holdings", f"before={earlier}", "asset=ETH")
    assert [(r["asset"], r["block_number"]) for r in before] == [("ETH", 21_000_000)]
    other = "0x" + "1" * 40
    assert named_json(full, "latest_holdings", f"address={other}") == []

    cursors = named_json(full, "chain_cursors")
    assert [(r["chain_id"], r["stream"], r["last_block"]) for r in cursors] == [
        (1, STREAM, 21_000_500)
    ]
    assert named_json(full, "chain_cursors", "chain_id=2") == []
    assert named_json(full, "chain_cursors", f"stream={STREAM}", "chain_id=1") == cursors
    # TEXT is data, never SQL: this matches no stream and changes nothing.
    injected = named_json(full, "chain_cursors", "stream=x'; DROP TABLE chain_cursors; --")
    assert injected == [] and named_json(full, "chain_cursors") == cursors
