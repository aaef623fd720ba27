"""Readable at 80 columns: compact cells in a narrow terminal, whole values when wide and in JSON.

The tracker runs as a real process with COLUMNS set (rich sizes its console from it), against
the fake venue for `watch` and a real DuckDB file written through the tracker's own store code
for `liquidations` and `alerts`. The data is the 1011 whale's: ~223k ETH long at 5x, and its
$222.65M ETH liquidation of 2026-01-31.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from tests.conftest import run_cli, tracker_env
from tracker.alerts import rules
from tracker.alerts.delivery import Delivery
from tracker.alerts.store import insert_alerts, record_deliveries, replace_episodes
from tracker.app.ethereum_poll import LIQUIDATION_COLUMNS
from tracker.output.fit import money, scaled, when
from tracker.output.terminal_events import alerts_table, liquidations_table
from tracker.records import AaveLiquidationCall, LiquidationEpisode
from tracker.store import open_store
from tracker.store.writes import insert_batch

WHALE = "0xb317d2bc2d3d2df5fa441b5bae0ab9d8b07283ae"  # the 1011 whale
MACHI = "0x020ca66c30bec2c4fe3861a94e4db4a498a35872"
RELATED = "0x4b70525ecf8819a6d1422ba878be87e602f8b42e"  # 1011 whale, related EVM wallet
LABELS = {WHALE: "1011 whale", MACHI: "Machi Big Brother", RELATED: "1011 whale related"}
CRASH = datetime(2026, 1, 31, 22, 0, tzinfo=UTC)
# A short address may carry an ellipsis; anywhere else one means rich cut a cell.
SHORT_ADDRESS = re.compile(r"0x[0-9a-f]{4}…[0-9a-f]{4}")


def assert_uncut(screen: str, width: int) -> None:
    """Nothing wider than the terminal, and no cell cut short with '…'."""
    lines = screen.splitlines()
    assert lines, "nothing printed"
    assert max(len(line) for line in lines) <= width, screen
    assert "…" not in SHORT_ADDRESS.sub("", screen), screen


def write_watchlist(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    lines = []
    for address, label in LABELS.items():
        lines += ["[[address]]", f'address = "{address}"', f'label = "{label}"', ""]
    (folder / "whales.toml").write_text("\n".join(lines))
    return folder


# --- tracker watch -----------------------------------------------------------------------------


async def test_watch_at_80_and_200_columns(hl_fake, db_path):
    hl_fake.set_mark("ETH", "2600")
    hl_fake.set_mark("BTC", "104000")
    hl_fake.put_model_account(  # about $38.7M of equity behind $684.7M of longs
        WHALE,
        "-646000000",
        positions=[
            {"coin": "ETH", "size": "223340", "entry_px": "3050", "leverage": 5},
            {"coin": "BTC", "size": "1000", "entry_px": "98000", "leverage": 5},
        ],
    )
    narrow = await run_cli(
        "watch", WHALE, "--once", env=tracker_env(hl_fake.url, db_path, COLUMNS="80")
    )
    wide = await run_cli(
        "watch", WHALE, "--once", env=tracker_env(hl_fake.url, db_path, COLUMNS="200")
    )
    doc = await run_cli("watch", WHALE, "--once", "--json", env=tracker_env(hl_fake.url, db_path))
    for result in (narrow, wide, doc):
        assert result.code == 0, result.stderr
    eth = next(p for p in json.loads(doc.stdout)["positions"] if p["coin"] == "ETH")
    assert eth["notional_usd"] == "580684000.0"  # 223,340 x 2,600: JSON keeps every digit
    assert eth["venue_liquidation_px"] == "2510.32135942"

    assert_uncut(narrow.stdout, 80)
    for cell in ("ETH long 5x", "$580.7M", "-$100.5M", "2,510.32", "3.45%", "BTC long 5x"):
        assert cell in narrow.stdout, cell
    assert "$684.7M" in narrow.stdout  # the account's notional
    assert WHALE in narrow.stdout  # the title keeps the whole address

    assert_uncut(wide.stdout, 200)
    row = next(line for line in wide.stdout.splitlines() if "ETH" in line and "long" in line)
    cells = [c.strip() for c in row.strip("│").split("│")]
    assert cells == [
        "ETH",
        "long",
        "223,340.0000",
        "3,050.00",
        "2,600.00",
        "580,684,000",
        "-100,503,000",
        "-73.8",
        "5x",
        "cross",
        "2,510.32",  # ours
        "2,510.32",  # the venue's
        "3.45",
    ]


# --- tracker liquidations and tracker alerts ---------------------------------------------------


def seed_store(db: Path, now: datetime) -> None:
    """The 1011 whale's liquidation, one of Machi's this year, an Aave one; alerts and sends."""
    whale = LiquidationEpisode(
        venue="hyperliquid",
        address=WHALE,
        coin="ETH",
        side="long",
        start=CRASH,
        end=CRASH + timedelta(minutes=4),
        fills=5,
        size=Decimal("92690.5"),
        notional_usd=Decimal("222650000.00"),
        methods=("backstop", "market"),
        mark_px=Decimal("2402.1"),
        realized_loss_usd=Decimal("-48212345.5"),
        ledger_notional_usd=None,
        sources=("fills", "ledger"),
        watched=True,
    )
    machi = LiquidationEpisode(
        venue="hyperliquid",
        address=MACHI,
        coin="HYPE",
        side="long",
        start=now,
        end=now,
        fills=2,
        size=Decimal("60000"),
        notional_usd=Decimal("2676000"),
        methods=("market",),
        mark_px=Decimal("44.6"),
        realized_loss_usd=Decimal("-412000"),
        ledger_notional_usd=None,
        sources=("fills",),
        watched=True,
    )
    aave = AaveLiquidationCall(
        chain_id=1,
        pool="0x87870bca3f3fd6335c3f4ce8392d69350b4fa4e2",
        block_number=21_745_000,
        block_ts=CRASH + timedelta(minutes=9),
        tx_hash="0x" + "5a" * 32,
        log_index=211,
        user=RELATED,
        collateral_asset="0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
        collateral_symbol="WETH",
        debt_asset="0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
        debt_symbol="USDC",
        debt_to_cover=Decimal("3650000"),
        liquidated_collateral=Decimal("1590.5"),
        collateral_price_usd=Decimal("2398.75"),
        debt_price_usd=Decimal("1"),
        collateral_usd=Decimal("3815211.875"),
        debt_usd=Decimal("3650000"),
        liquidator="0x" + "1c" * 20,
        receive_a_token=False,
    )
    alerts = rules.large_liquidation_alerts([whale, machi], Decimal(1_000_000), LABELS)
    with open_store(db) as store, store.transaction():
        replace_episodes(store, [WHALE, MACHI], [whale, machi], Decimal(1_000_000), "hyperliquid")
        insert_batch(store, "aave_liquidation_calls", LIQUIDATION_COLUMNS, [aave])
        insert_alerts(store, alerts)
        record_deliveries(
            store,
            [
                Delivery(alert_id=a.id, sink=sink, ok=True, error=None, at=now)
                for a in alerts
                for sink in ("jsonl", "slack", "webhook")
            ],
        )


@pytest.fixture
def crash_db(tmp_path: Path) -> tuple[dict[str, str], datetime]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    db = tmp_path / "t.duckdb"
    seed_store(db, now)
    env = tracker_env(
        "http://127.0.0.1:9", db, TRACKER_WATCHLISTS_DIR=str(write_watchlist(tmp_path / "w"))
    )
    return env, now


async def test_liquidations_at_80_and_200_columns(crash_db):
    env, now = crash_db
    narrow = await run_cli("liquidations", env={**env, "COLUMNS": "80"})
    wide = await run_cli("liquidations", env={**env, "COLUMNS": "200"})
    doc = await run_cli("liquidations", "--json", env=env)
    for result in (narrow, wide, doc):
        assert result.code == 0, result.stderr

    assert_uncut(narrow.stdout, 80)
    screen = narrow.stdout
    for cell in ("$222.6M", "1011 whale 0xb317…83ae", "ETH long", "2,402.10", "-$48.2M"):
        assert cell in screen, cell
    for cell in ("$2.7M", "0x020c…5872", "HYPE long", "-$412.0K", "$3.8M", "WETH long"):
        assert cell in screen, cell
    assert {"Machi", "Big", "Brother", "related", "0x4b70…b42e"} <= set(screen.split())
    assert when(CRASH) in screen  # "01-31 22:00" in 2026, "2026-01-31" from 2027 on
    assert f"{now:%m-%d %H:%M}" in screen  # this year: no year
    assert f"{now:%Y-%m-%d}" not in screen

    assert_uncut(wide.stdout, 200)
    for cell in (WHALE, MACHI, RELATED, "222,650,000", "backstop+market", "2026-01-31 22:00:00"):
        assert cell in wide.stdout, cell
    assert f"{now:%Y-%m-%d %H:%M:%S}" in wide.stdout
    assert "…" not in wide.stdout  # nothing shortened, not even an address

    episodes = json.loads(doc.stdout)
    assert [e["address"] for e in episodes] == [WHALE, RELATED, MACHI]  # largest first
    assert Decimal(episodes[0]["notional_usd"]) == Decimal("222650000")  # every digit
    assert episodes[0]["label"] == "1011 whale"
    assert episodes[0]["start"] == "2026-01-31T22:00:00Z"


async def test_alerts_at_80_and_200_columns(crash_db):
    env, now = crash_db
    narrow = await run_cli("alerts", env={**env, "COLUMNS": "80"})
    wide = await run_cli("alerts", env={**env, "COLUMNS": "200"})
    for result in (narrow, wide):
        assert result.code == 0, result.stderr

    assert_uncut(narrow.stdout, 80)
    words = narrow.stdout.split()  # the message wraps at spaces: compare it word by word
    for word in ("LARGE", "LIQUIDATION", "1011", "whale", "(0xb317…83ae)", "ETH", "$222.65M"):
        assert word in words, word
    assert "critical" in words and "webhook" in " ".join(words)
    assert when(CRASH) in narrow.stdout and f"{now:%m-%d %H:%M}" in narrow.stdout

    assert_uncut(wide.stdout, 200)
    assert "LARGE LIQUIDATION 1011 whale (0xb317…83ae) ETH long $222.65M at 2,402.10" in wide.stdout
    assert "large_liquidation" in wide.stdout and "jsonl, slack, webhook" in wide.stdout
    assert "2026-01-31 22:00:00" in wide.stdout


# --- the formats themselves --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("222650000", "$222.6M"),  # half-even: the 1011 whale's liquidation
        ("-48212345.5", "-$48.2M"),
        ("999960", "$1.0M"),  # not $1,000.0K
        ("950000", "$950.0K"),
        ("1234567890123", "$1,234.6B"),
        ("950", "$950"),
        ("0.45", "$0.45"),
    ],
)
def test_money(value, shown):
    assert money(Decimal(value)) == shown


def test_compact_forms_of_amounts_and_times():
    assert money(None) == "-" and scaled(Decimal("223340")) == "223.3K"
    now = datetime(2026, 12, 4, tzinfo=UTC)
    assert when("2026-01-31T22:00:00Z", now) == "01-31 22:00"
    assert when("2025-10-10T21:17:00Z", now) == "2025-10-10"
    assert when(datetime(2026, 1, 31, 23, 30, tzinfo=UTC), now) == "01-31 23:30"


@pytest.mark.parametrize("width", [80, 200])
def test_labels_and_messages_are_text_not_markup(width):
    hostile = "[red]pwned[/red] [link=x]y[/link]"
    row = {
        "address": WHALE,
        "label": hostile,
        "coin": "[blink]ETH",
        "side": "long",
        "start": "2026-01-31T22:00:00Z",
        "fills": 1,
        "notional_usd": "222650000",
        "method": "market",
        "mark_px": "2402.1",
        "large": True,
    }
    alert = {
        "time": "2026-01-31T22:00:00Z",
        "kind": "large_liquidation",
        "severity": "critical",
        "message": f"LARGE LIQUIDATION {hostile}",
        "delivered_to": ["slack"],
    }
    console = Console(width=width, record=True, color_system=None)
    console.print(liquidations_table([row]))
    console.print(alerts_table([alert]))
    screen = console.export_text()
    words = screen.split()  # markup would have been eaten; as text, every bracket is still there
    for text in ("[red]pwned[/red]", "[link=x]y[/link]"):
        assert words.count(text) == 2, text  # in the liquidation row and in the alert
    assert words.count("[blink]ETH") == 1
