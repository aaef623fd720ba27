"""`tracker discover` end to end against the fake venue's leaderboard and sub-accounts."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import tomlkit

from tests.conftest import CliResult, run_cli, tracker_env
from tests.fakes.hyperliquid import FakeHyperliquid
from tests.fakes.leaderboard import leaderboard_row, seeded_leaderboard
from tracker import watchlists
from tracker.errors import VenueResponseError
from tracker.records.leaderboard import LEADERBOARD_FIELDS
from tracker.sources.hyperliquid.leaderboard import parse_leaderboard

MILLION = Decimal(1_000_000)


@pytest.fixture
async def fake() -> Any:
    async with FakeHyperliquid() as venue:
        yield venue


async def discover(
    fake: FakeHyperliquid, tmp_path: Path, *args: str, columns: int | None = None
) -> CliResult:
    env = tracker_env(
        fake.url,
        tmp_path / "t.duckdb",
        TRACKER_HL_STATS_URL=fake.url,
        TRACKER_WATCHLISTS_DIR=str(tmp_path / "watchlists"),
        **({"COLUMNS": str(columns)} if columns else {}),
    )
    return await run_cli("discover", *args, env=env)


def value(row: dict[str, Any]) -> Decimal:
    return Decimal(row["accountValue"])


def stored(tmp_path: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(tmp_path / "t.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT ts, address, account_value_usd, pnl_all_time_usd FROM leaderboard"
        ).fetchall()


async def test_threshold_largest_first_json_keys_and_every_row_stored_per_read(fake, tmp_path):
    rows = seeded_leaderboard(80)
    fake.put_leaderboard(rows)
    result = await discover(fake, tmp_path, "--min-account-value", "1000000", "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    expected = sorted((r for r in rows if value(r) >= MILLION), key=value, reverse=True)
    assert 5 < len(expected) < 80  # the threshold really cuts
    assert [d["address"] for d in doc] == [r["ethAddress"] for r in expected]
    assert all(list(d) == list(LEADERBOARD_FIELDS) for d in doc)
    first = expected[0]
    assert doc[0]["account_value_usd"] == first["accountValue"]
    assert doc[0]["display_name"] == first["displayName"]
    assert doc[0]["pnl_all_time_usd"] == first["windowPerformances"][3][1]["pnl"]
    assert doc[0]["volume_week_usd"] == first["windowPerformances"][1][1]["vlm"]
    assert doc[0]["roi_month"] == first["windowPerformances"][2][1]["roi"]

    saved = stored(tmp_path)
    assert len(saved) == 80  # all rows of the read, not only those printed
    assert {a for _, a, _, _ in saved} == {r["ethAddress"] for r in rows}
    again = await discover(fake, tmp_path, "--min-account-value", "1000000", "--json")
    assert again.code == 0, again.stderr
    saved = stored(tmp_path)
    assert len(saved) == 160 and len({ts for ts, _, _, _ in saved}) == 2


async def test_top_and_sort_and_the_table(fake, tmp_path):
    rows = seeded_leaderboard(40)
    fake.put_leaderboard(rows)
    result = await discover(fake, tmp_path, "--top", "3", "--sort", "pnl_all_time_usd", "--json")
    assert result.code == 0, result.stderr

    def pnl(r: dict[str, Any]) -> Decimal:
        return Decimal(r["windowPerformances"][3][1]["pnl"])

    best = sorted(rows, key=pnl, reverse=True)[:3]
    assert [d["address"] for d in json.loads(result.stdout)] == [r["ethAddress"] for r in best]

    table = await discover(fake, tmp_path, "--top", "2", columns=200)
    assert table.code == 0, table.stderr
    largest = sorted(rows, key=value, reverse=True)
    assert largest[0]["ethAddress"] in table.stdout and largest[1]["ethAddress"] in table.stdout
    assert largest[2]["ethAddress"] not in table.stdout
    assert table.stdout.index(largest[0]["ethAddress"]) < table.stdout.index(
        largest[1]["ethAddress"]
    )


async def test_at_80_columns_the_table_is_compact_and_keeps_the_names(fake, tmp_path):
    from tests.test_narrow import assert_uncut

    rows = seeded_leaderboard(5)
    rows[0]["displayName"] = "[red]Big[/red] <b>Whale</b>"
    rows[0]["accountValue"] = "999000000"  # the largest: first in the table
    fake.put_leaderboard(rows)
    narrow = await discover(fake, tmp_path, "--top", "3", columns=80)
    assert narrow.code == 0, narrow.stderr
    assert_uncut(narrow.stdout, 80)
    # the owner's name as text (markup not applied), then the short address, and the value
    short = rows[0]["ethAddress"][:6] + "…" + rows[0]["ethAddress"][-4:]
    first = narrow.stdout.split(" 1  ", 1)[1]  # the account cell may wrap onto the next line
    assert first.startswith("[red]Big[/red]") and f"<b>Whale</b> {short}" in first, narrow.stdout
    assert "$999.0M" in narrow.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--min-account-value", "-5"), "--min-account-value"),
        (("--min-account-value", "lots"), "--min-account-value"),
        (("--sort", "prize"), "--sort must be one of"),
        (("--watchlist", "no good!"), "not a watchlist name"),
        (("--watchlist", "nowhere/list.toml"), "does not exist"),
        (("--top", "0"), "--top"),
    ],
)
async def test_bad_input_is_one_line_and_exit_2(fake, tmp_path, args, says):
    fake.put_leaderboard(seeded_leaderboard(5))
    result = await discover(fake, tmp_path, *args)
    assert result.code == 2, result.stderr
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "body", [b'{"rows": []}', b"<html>busy</html>", b'{"leaderboardRows": {"a": 1}}', b"[]"]
)
async def test_a_body_that_is_not_a_leaderboard_is_one_error_line_exit_1(fake, tmp_path, body):
    fake.leaderboard_body = body
    result = await discover(fake, tmp_path, "--json")
    assert result.code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: not a leaderboard"), result.stderr
    assert result.stdout == ""


async def test_bad_rows_are_counted_skipped_with_one_warning(fake, tmp_path):
    good = seeded_leaderboard(6)
    bad = [
        leaderboard_row("0x" + "1" * 40, "not a number", "x"),
        {"accountValue": "5", "displayName": None, "windowPerformances": []},
        leaderboard_row("0xnot-an-address", "5"),
        "a string",
        {**leaderboard_row("0x" + "2" * 40, "7"), "windowPerformances": [["day"]]},
    ]
    fake.put_leaderboard([*good[:3], *bad, *good[3:]])
    result = await discover(fake, tmp_path, "--json")
    assert result.code == 0, result.stderr
    assert [d["address"] for d in json.loads(result.stdout)] == [
        r["ethAddress"] for r in sorted(good, key=value, reverse=True)
    ]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: 5 bad leaderboard rows"), lines
    assert len(stored(tmp_path)) == 6


async def test_watchlist_adds_labels_tags_source_keeps_existing_and_expands_sub_accounts(
    fake, tmp_path
):
    a, b, c, sub = ("0x" + d * 40 for d in "abcd")
    fake.put_leaderboard(
        [
            leaderboard_row(a, "5000000", "Alpha"),
            leaderboard_row(b, "3000000", None),
            leaderboard_row(c, "2000000", "Gamma"),
            leaderboard_row("0x" + "e" * 40, "10", "Small"),
        ]
    )
    fake.put_sub_accounts(a, [("hedge", sub)])
    folder = tmp_path / "watchlists"
    folder.mkdir()
    watchlists.add(folder / "whales.toml", address=c, label="my own name for c")
    result = await discover(
        fake,
        tmp_path,
        "--min-account-value",
        "1000000",
        "--watchlist",
        "whales",
        "--sub-accounts",
        "--json",
    )
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [d["sub_accounts"] for d in doc] == [[{"address": sub, "name": "hedge"}], [], []]
    assert "3 added, 1 already there" in result.stderr

    entries = {e.address: e for e in watchlists.load(folder / "whales.toml").entries}
    assert set(entries) == {a, b, c, sub}
    assert entries[a].label == "Alpha"
    assert entries[b].label == "leaderboard #2"
    assert entries[sub].label == "Alpha sub hedge"
    assert entries[c].label == "my own name for c" and entries[c].tags == ()
    for address in (a, b, sub):
        assert entries[address].tags == ("leaderboard",)
        assert entries[address].sources == (f"{fake.url}/Mainnet/leaderboard",)


HOSTILE = [
    "[red]x[/red]",
    "@everyone",
    "<img src=x>",
    "two\nlines",
    "bell\x07 esc\x1b[31mred\u202e",
]


async def test_hostile_names_stay_plain_text(fake, tmp_path):
    rows = [
        leaderboard_row(f"0x{i + 1:040x}", str(1_000_000 * (10 - i)), name)
        for i, name in enumerate(HOSTILE)
    ]
    fake.put_leaderboard(rows)
    table = await discover(fake, tmp_path)
    assert table.code == 0, table.stderr
    assert "[red]x[/red]" in table.stdout  # not read as markup
    assert "@everyone" in table.stdout and "<img src=x>" in table.stdout
    assert "two\\nlines" in table.stdout  # the newline shown, not obeyed
    assert "\x1b" not in table.stdout and "\x07" not in table.stdout
    assert "\u202e" not in table.stdout

    (tmp_path / "watchlists").mkdir()
    as_json = await discover(fake, tmp_path, "--json", "--watchlist", "hostile")
    assert as_json.code == 0, as_json.stderr
    assert [d["display_name"] for d in json.loads(as_json.stdout)] == HOSTILE
    path = tmp_path / "watchlists" / "hostile.toml"
    text = path.read_text()
    assert "\x1b" not in text and "\x07" not in text  # escaped by tomlkit
    labels = [e.label for e in watchlists.load(path).entries]
    assert labels == [name.strip() for name in HOSTILE]
    assert tomlkit.parse(text)["address"][0]["label"] == HOSTILE[0]


def test_parse_rejects_what_is_not_a_leaderboard_and_skips_duplicates():
    from datetime import UTC, datetime

    ts = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(VenueResponseError, match="not a leaderboard"):
        parse_leaderboard(b'{"leaderboardRows": null}', ts)
    row = leaderboard_row("0x" + "A" * 40, "12.5", None)
    board = parse_leaderboard(json.dumps({"leaderboardRows": [row, row]}).encode(), ts)
    assert [r.address for r in board.rows] == ["0x" + "a" * 40]
    assert board.rows[0].account_value_usd == Decimal("12.5")
    assert board.skipped == 1 and "twice" in (board.first_problem or "")
