"""Whale-move alerts: the pure burst rule, the tape callback against a real DuckDB and a real
local webhook, and refresh-derived moves through `tracker snapshot` with a hostile label."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest_asyncio

from tests.alert_receiver import AlertReceiver, alert_receiver  # noqa: F401  (fixture)
from tracker.alerts.move_engine import MoveAlerter, MoveSettings, evaluate_moves, read_bursts
from tracker.alerts.moves import MoveRules, key_of, move_alerts, refresh_changes
from tracker.alerts.sinks import WebhookSink
from tracker.net.http import RetryPolicy
from tracker.records import AccountReport, AccountSnapshot
from tracker.records.events import PositionChange
from tracker.store import open_store

WHALE = "0x00000000000000000000000000000000000e7e7e"
T0 = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
RULES = MoveRules(threshold_usd=Decimal(1_000_000), cooldown_s=60.0, labels={WHALE: "w"})
FAST = RetryPolicy(retries=1, base_delay_s=0.01, timeout_s=5.0)


def change(
    before: str,
    after: str,
    *,
    s: float = 0,
    px: str = "2000",
    source: str = "tape",
    coin: str = "ETH",
    address: str = WHALE,
) -> PositionChange:
    return PositionChange(
        venue="hyperliquid",
        address=address,
        dex="",
        coin=coin,
        ts=T0 + timedelta(seconds=s),
        size_before=Decimal(before),
        size_after=Decimal(after),
        price=Decimal(px),
        source=source,  # type: ignore[arg-type]
        ref=f"0x{int(s * 1000):064x}",
    )


# --- the pure rule ------------------------------------------------------------------------------


def test_a_burst_of_fills_is_one_alert_raised_when_it_crosses_the_threshold():
    fills = [change("0", "200", s=0), change("200", "400", s=1), change("400", "600", s=2)]
    moves = move_alerts(fills, {}, RULES)  # $400k, $800k, $1.2M: the third crosses

    [alert] = moves.alerts
    assert alert.kind == "position_open" and alert.notional_usd == Decimal(1_200_000)
    assert alert.id == f"position_move:hyperliquid:{WHALE}::ETH:{int(T0.timestamp() * 1000)}"
    assert alert.ts == T0 and alert.label == "w"
    details = json.loads(alert.details)
    assert details["source"] == "tape" and details["changes"] == 3
    assert (details["side"], details["size_change"], details["price"]) == ("long", "600", "2000")

    later = move_alerts([change("600", "1200", s=30)], moves.bursts, RULES)
    assert later.alerts == []  # the same burst: told once
    assert later.bursts[key_of(fills[0])].size_after == Decimal(1200)


def test_kind_runs_from_before_the_burst_to_after_it_and_a_new_burst_after_the_cooldown():
    # $800k closing the long, $600k opening a short, within a minute: one flip of $1.4M.
    moves = move_alerts([change("400", "0", s=0), change("0", "-300", s=5)], {}, RULES)
    assert [(a.kind, a.notional_usd) for a in moves.alerts] == [
        ("position_flip", Decimal(1_400_000))
    ]
    assert json.loads(moves.alerts[0].details)["side"] == "short"
    again = move_alerts([change("-300", "-1000", s=61)], moves.bursts, RULES)
    assert [a.kind for a in again.alerts] == ["position_increase"]
    assert again.alerts[0].id != moves.alerts[0].id
    small = move_alerts([change("-1000", "-900", s=200)], again.bursts, RULES)
    assert small.alerts == []  # $200k: under the threshold
    back = move_alerts([change("-900", "-200", s=201)], small.bursts, RULES)
    assert [a.kind for a in back.alerts] == ["position_reduce"]  # $1.4M more of the same way


def test_a_change_the_other_way_within_the_cooldown_is_a_move_of_its_own():
    opened = move_alerts([change("0", "1000", s=0)], {}, RULES)
    closed = move_alerts([change("1000", "0", s=20)], opened.bursts, RULES)
    assert [a.kind for a in opened.alerts + closed.alerts] == ["position_open", "position_close"]
    assert closed.alerts[0].id.endswith(f":{int(T0.timestamp() * 1000) + 20_000}")


def test_a_refresh_that_agrees_confirms_silently_one_that_disagrees_corrects():
    told = move_alerts([change("0", "600", s=0)], {}, RULES)
    agree = move_alerts([change("0", "600", s=3, source="refresh")], told.bursts, RULES)
    assert agree.alerts == [] and next(iter(agree.bursts.values())).confirmed

    stale = move_alerts([change("0", "100", s=-5, source="refresh")], told.bursts, RULES)
    assert stale.alerts == [] and stale.bursts == {}  # older than the tape: cannot judge

    wrong = move_alerts([change("0", "1500", s=3, source="refresh")], told.bursts, RULES)
    [fix] = wrong.alerts
    assert fix.kind == "position_increase" and fix.notional_usd == Decimal(1_800_000)
    details = json.loads(fix.details)
    assert details["corrects"] == told.alerts[0].id and details["source"] == "refresh"
    assert fix.id.startswith(told.alerts[0].id + ":correction:")


def test_a_refresh_raises_the_move_the_tape_saw_too_little_of():
    quiet = move_alerts([change("0", "100", s=0)], {}, RULES)  # $200k on the tape: nothing
    assert quiet.alerts == []
    missed = move_alerts([change("0", "900", s=4, source="refresh")], quiet.bursts, RULES)
    [alert] = missed.alerts
    assert alert.kind == "position_open" and alert.notional_usd == Decimal(1_800_000)
    assert alert.id.endswith(f"::ETH:{int(T0.timestamp() * 1000)}")  # the burst's own id
    assert json.loads(alert.details)["source"] == "refresh"


def test_refresh_changes_skip_first_reads_and_price_closes_at_the_mark():
    ts = T0

    def account(dex: str) -> AccountSnapshot:
        return AccountSnapshot(
            ts=ts,
            venue="hyperliquid",
            address=WHALE,
            dex=dex,
            venue_time=None,
            account_value_usd=Decimal(1),
            cross_account_value_usd=Decimal(1),
            notional_usd=Decimal(0),
            margin_used_usd=Decimal(0),
            maintenance_margin_usd=Decimal(0),
            withdrawable_usd=Decimal(0),
            shock_to_liq_pct=None,
            positions=(),
        )

    report = AccountReport(address=WHALE, ts=ts, accounts=(account(""), account("flx")), spot=())
    previous = {WHALE: {("", "ETH"): Decimal(-500), ("flx", "BTC"): Decimal(3)}}
    found = refresh_changes([report], previous, {(WHALE, "")}, {("", "ETH"): Decimal(1)})
    assert [(c.dex, c.coin, c.kind, c.price, c.source) for c in found] == [
        ("", "ETH", "close", Decimal(1), "refresh")
    ]  # flx was never stored: its first read is not a move


# --- the tape callback: real DuckDB, real local webhook -----------------------------------------

HOSTILE = (
    '=HYPERLINK("http://evil","x") @everyone <@&123> <img src=x onerror=alert(1)> '
    "*bold* _x_ ~y~ `code` [link](http://evil) =cmd|' /C calc'!A0 [red]x[/red] $\\frac{1 y$ "
    "\x1b[31mred\nline"
)


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def name_on_leaderboard(db: Path, address: str, name: str) -> None:
    with open_store(db) as store:
        for ts, shown in ((T0 - timedelta(days=1), "old name"), (T0, name)):
            store.con.execute(
                "INSERT INTO leaderboard (ts, address, account_value_usd, display_name) "
                "VALUES (?, ?, 5000000, ?)",
                [ts, address, shown],
            )


async def test_tape_changes_alert_once_through_a_restart_with_the_leaderboard_name(
    tmp_path: Path, alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    db = tmp_path / "t.duckdb"
    name_on_leaderboard(db, WHALE, HOSTILE)
    sink = WebhookSink(f"{alert_receiver.url}/hook", session, policy=FAST)
    settings = MoveSettings(threshold_usd=Decimal(1_000_000), cooldown_s=60.0)

    first = MoveAlerter(db, settings, [sink], timeout_s=5.0)
    await first.on_position_changes([change("0", "300", s=0)])  # $600k: nothing yet
    assert alert_receiver.received("/hook") == []
    await first.on_position_changes([change("300", "700", s=1)])  # $1.4M: told
    assert len(alert_receiver.received("/hook")) == 1
    # A restart: a new alerter over the same file; the burst goes on, nothing is told twice.
    second = MoveAlerter(db, settings, [sink], timeout_s=5.0)
    await second.on_position_changes([change("700", "1000", s=2)])
    await second.on_position_changes([change("300", "700", s=1)])  # a replayed trade

    [got] = alert_receiver.received("/hook")
    body = got.body
    new_id = f"position_move:hyperliquid:{WHALE}::ETH:{int(T0.timestamp() * 1000)}"
    assert body["id"] == new_id and got.headers["Idempotency-Key"] == new_id
    assert (body["kind"], body["side"], body["size_change"], body["price"]) == (
        "position_open",
        "long",
        "700",
        "2000",
    )
    assert Decimal(body["notional_usd"]) == Decimal(1_400_000)
    assert body["label"] == HOSTILE  # data for programs, exactly as the stranger wrote it
    assert "\x1b" not in body["message"] and "\n" not in body["message"]
    assert body["details"]["source"] == "tape"
    with open_store(db) as store:
        [burst] = read_bursts(store, [WHALE]).values()
        rows = store.con.execute("SELECT count(*) FROM alerts").fetchone()
    assert burst.size_after == Decimal(1000) and burst.changes == 3 and burst.alert_id == new_id
    assert rows == (1,)


def test_watchlist_labels_win_over_leaderboard_names(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    other = "0x00000000000000000000000000000000000f0f0f"
    name_on_leaderboard(db, WHALE, "board name")
    name_on_leaderboard(db, other, "other board name")
    settings = MoveSettings(
        threshold_usd=Decimal(1), cooldown_s=60.0, labels={WHALE: "watchlist label"}
    )
    with open_store(db) as store:
        alerts = evaluate_moves(
            store, settings, [change("0", "5", s=0), change("0", "5", s=0, address=other)]
        )
    assert {a.address: a.label for a in alerts} == {
        WHALE: "watchlist label",
        other: "other board name",
    }


# --- refresh-derived moves through the CLI, a hostile label through every sink and export -------


def hostile_watchlist(path: Path) -> Path:
    # json.dumps writes a valid TOML basic string: the escapes become the real characters.
    path.write_text(f'[[address]]\naddress = "{WHALE}"\nlabel = {json.dumps(HOSTILE)}\n')
    return path


def eth_long(size: str) -> list[dict[str, object]]:
    return [{"coin": "ETH", "size": size, "entry_px": "2000", "leverage": 5}] if size else []


async def test_refreshes_raise_moves_and_strangers_text_stays_plain_everywhere(
    hl_fake, alert_receiver: AlertReceiver, tmp_path: Path
) -> None:
    from tests.conftest import run_cli, tracker_env

    db = tmp_path / "t.duckdb"
    env = tracker_env(
        hl_fake.url,
        db,
        TRACKER_WEBHOOK_URL=f"{alert_receiver.url}/hook",
        TRACKER_DISCORD_WEBHOOK_URL=f"{alert_receiver.url}/discord",
        TRACKER_SLACK_WEBHOOK_URL=f"{alert_receiver.url}/slack",
        TRACKER_TELEGRAM_BOT_TOKEN="123456:test-token",
        TRACKER_TELEGRAM_CHAT_ID="-1001",
        TRACKER_TELEGRAM_API_URL=alert_receiver.url,
        TRACKER_ALERTS_JSONL=str(tmp_path / "alerts.jsonl"),
    )
    watchlist = hostile_watchlist(tmp_path / "w.toml")
    hl_fake.set_mark("ETH", "2000")
    consoles = []

    async def snapshot(size: str) -> None:
        hl_fake.put_model_account(WHALE, "5000000", positions=eth_long(size))
        result = await run_cli("snapshot", "-w", str(watchlist), env=env)
        assert result.code == 0, result.stderr
        consoles.append(result.stdout + result.stderr)

    await snapshot("")  # first sight: flat
    await snapshot("1000")  # $2M long: open
    await snapshot("1000")  # nothing moved
    await snapshot("1100")  # $200k more: under the threshold
    await snapshot("")  # closed: $2.2M

    hook = [r.body for r in alert_receiver.received("/hook")]
    assert [(b["kind"], b["side"], b["size_change"], b["price"]) for b in hook] == [
        ("position_open", "long", "1000", "2000"),
        ("position_close", "long", "-1100", "2000"),
    ]
    assert [Decimal(b["notional_usd"]) for b in hook] == [Decimal(2_000_000), Decimal(2_200_000)]
    assert all(b["label"] == HOSTILE and b["details"]["source"] == "refresh" for b in hook)

    # Chat sinks: one plain line each, no live markup, no mention, no terminal escape.
    discord = [r.body for r in alert_receiver.received("/discord")]
    slack = [r.body for r in alert_receiver.received("/slack")]
    telegram = [r.body for r in alert_receiver.requests if r.path.endswith("/sendMessage")]
    assert len(discord) == len(slack) == len(telegram) == 2
    for body in discord:
        text = body["content"]
        assert body["allowed_mentions"] == {"parse": []}
        assert "@everyone" not in text and "@\u200beveryone" in text
        for mark in ("*", "_", "~", "`", "[", "]", "(", ")", "<", ">", "|"):
            assert text.count(mark) == text.count("\\" + mark), mark  # every one escaped
    for body in slack:
        assert body["mrkdwn"] is False and "<" not in body["text"] and ">" not in body["text"]
    for body in telegram:
        assert "parse_mode" not in body and body["disable_web_page_preview"] is True
        assert "@everyone" not in body["text"] and "@\u200beveryone" in body["text"]
    for text in [b["content"] for b in discord] + [b["text"] for b in slack + telegram]:
        assert "\x1b" not in text and "\n" not in text
    assert all("\\x1b[31mred\\nline" in b["text"] for b in slack + telegram)

    lines = (tmp_path / "alerts.jsonl").read_bytes().splitlines()
    assert len(lines) == 2 and all(json.loads(x)["label"] == HOSTILE for x in lines)
    assert all(b"\x1b" not in x for x in lines)
    assert "WHALE OPEN" in consoles[1] and "\x1b" not in "".join(consoles)

    # Terminal tables and exports.
    table = await run_cli("alerts", env=env)
    query = await run_cli("query", "SELECT label, message FROM alerts ORDER BY ts", env=env)
    for shown in (table, query):
        assert shown.code == 0 and "\x1b" not in shown.stdout
    assert "[red]x[/red]" in query.stdout  # shown as written, not as red
    listed = await run_cli("watchlist", "show", str(watchlist), env=env)
    assert listed.code == 0, listed.stderr
    assert "\x1b" not in listed.stdout and "[red]x[/red]" in listed.stdout
    as_csv = await run_cli("query", "SELECT label FROM alerts", "--format", "csv", env=env)
    assert as_csv.stdout.splitlines()[1].startswith("\"'=HYPERLINK(")
    out = tmp_path / "alerts.csv"
    exported = await run_cli("export", "alerts", "--out", str(out), env=env)
    assert exported.code == 0, exported.stderr
    text = out.read_text()
    assert "\"'=HYPERLINK(" in text and ",=HYPERLINK" not in text and ',"=HYPERLINK' not in text
    report = await run_cli("report", "-w", str(watchlist), "--out", str(tmp_path / "r"), env=env)
    assert report.code == 0, report.stderr
    page = (tmp_path / "r" / "index.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
    assert 'alt="chart of =HYPERLINK' in page  # drawn, "$\frac{1 y$" in its title and all


async def test_the_polling_daemon_alerts_a_whale_move(
    hl_fake, alert_receiver: AlertReceiver, tmp_path: Path
) -> None:
    from tests.conftest import tracker_env
    from tests.test_daemon import read_passes, start_daemon, stop, until

    env = tracker_env(
        hl_fake.url, tmp_path / "t.duckdb", TRACKER_WEBHOOK_URL=f"{alert_receiver.url}/hook"
    )
    watchlist = hostile_watchlist(tmp_path / "w.toml")
    hl_fake.set_mark("ETH", "2000")
    hl_fake.put_model_account(WHALE, "5000000", positions=[])
    proc = await start_daemon(env, watchlist)
    try:
        await read_passes(proc, 1)  # first sight: flat
        hl_fake.put_model_account(WHALE, "5000000", positions=eth_long("-800"))
        await until(lambda: bool(alert_receiver.received("/hook")))
    finally:
        code, _, err = await stop(proc)
    assert code == 0, err
    [got] = alert_receiver.received("/hook")
    assert (got.body["kind"], got.body["side"], got.body["size_change"]) == (
        "position_open",
        "short",
        "-800",
    )
