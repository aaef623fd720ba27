"""Watchlists: the shipped file, validation, comment-keeping atomic edits, merge, and the CLI."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO, run_cli
from tracker import watchlists
from tracker.cli import charts as cli_charts
from tracker.cli import commands as cli
from tracker.cli import entity as cli_entity
from tracker.cli.watchlist import app
from tracker.errors import BadInput
from tracker.output import entity
from tracker.resources import data_dir
from tracker.watchlists import Watchlist, WatchlistError

WHALES = REPO / "watchlists" / "whales.toml"
REFERENCE = REPO.parent / "shared" / "reference"
ONE = "0x1111111111111111111111111111111111111111"
TWO = "0x2222222222222222222222222222222222222222"
HEX = "0xabcdef0123456789abcdef0123456789abcdef01"
NEW = "0xb317d2bc2d3d2df5fa441b5bae0ab9d8b07283ae"

COMMENTED = f"""# A watchlist written by hand, with comments everywhere.
description = "hand-written"  # why we watch these
interval = 30

# first: a whale
[[address]]
address = "{ONE}"  # copied from a block explorer
label = "one"
tags = ["whale"]

# second: unconfirmed
[[address]]
address = "{TWO}"
label = "two"
venues = ["ethereum"]
confidence = "C"

# end of file
"""


def entry(address: str = ONE, label: str = "one", **extra: str) -> str:
    """One [[address]] table; extra values are TOML literals."""
    lines = ["[[address]]"]
    if address:
        lines.append(f'address = "{address}"')
    if label:
        lines.append(f'label = "{label}"')
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def write(folder: Path, text: str, name: str = "test.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped whales.toml ------------------------------------------------------------------


def test_shipped_whales_is_valid_and_seeded():
    whales = watchlists.load(WHALES)
    assert whales.name == "whales" and whales.description
    entries = {e.address: e for e in whales.entries}
    assert len(entries) == len(whales.entries) >= 20  # no duplicates
    whale = entries[NEW]
    assert (whale.confidence, whale.entity) == ("B", "1011 whale")
    assert set(whale.venues) == {"hyperliquid", "ethereum"}
    assert entries["0xdfc24b077bc1425ad1dea75bcb6f8158e10df303"].confidence == "A"  # HLP
    assert entries["0x63c621a33714ec48660e32f2374895c8026a3a00"].label.startswith("Liquidator")
    trend = [e for e in whales.entries if e.entity == "Trend Research"]
    assert len(trend) == 4 and all(e.venues == ("ethereum",) for e in trend)
    for e in whales.entries:
        assert e.confidence in watchlists.CONFIDENCE_TIERS and e.sources and e.label, e


def test_shipped_c_tier_entries_are_marked_unconfirmed_twice():
    lines = WHALES.read_text(encoding="utf-8").splitlines()
    headers = [i for i, line in enumerate(lines) if line == "[[address]]"]
    entries = watchlists.load(WHALES).entries
    assert len(headers) == len(entries)
    c_tier = [(i, e) for i, e in zip(headers, entries, strict=True) if e.confidence == "C"]
    assert c_tier
    for header, e in c_tier:
        assert "unconfirmed" in e.tags, e.address
        start = header
        while lines[start - 1].startswith("#"):  # the comment block directly above the entry
            start -= 1
        block = lines[start:header]
        assert block and "UNCONFIRMED" in block[0], (e.address, block)
    confirmed = [e for e in entries if e.confidence != "C"]
    assert all("unconfirmed" not in e.tags for e in confirmed)


def test_shipped_addresses_are_copied_from_the_reference():
    reference = "".join(p.read_text(encoding="utf-8") for p in sorted(REFERENCE.glob("*.md")))
    assert reference, f"reference notes expected in {REFERENCE}"
    for e in watchlists.load(WHALES).entries:
        assert e.address in reference.lower(), f"{e.address} is not in the reference"


def test_shipped_folder_is_the_fallback_folder():
    assert (data_dir("watchlists") / "whales.toml").is_file()


# --- finding files ----------------------------------------------------------------------------


def test_watchlists_dir_prefers_env_then_local_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"TRACKER_WATCHLISTS_DIR": str(tmp_path / "mine")}
    assert watchlists.watchlists_dir(env) == tmp_path / "mine"
    assert watchlists.watchlists_dir({}) == data_dir("watchlists")
    (tmp_path / "watchlists").mkdir()
    assert watchlists.watchlists_dir({}).resolve() == tmp_path / "watchlists"
    assert watchlists.watchlists_dir({"TRACKER_WATCHLISTS_DIR": ""}) == Path("watchlists")


def test_resolve_names_and_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "lists"
    assert watchlists.resolve("whales", folder) == folder / "whales.toml"
    assert watchlists.resolve("other/whales", folder) == Path("other/whales")
    assert watchlists.resolve("x.toml", folder) == Path("x.toml")
    (tmp_path / "plain").write_text("")
    assert watchlists.resolve("plain", folder) == Path("plain")
    with pytest.raises(WatchlistError, match="not a watchlist name"):
        watchlists.resolve("", folder)


def test_load_all_reads_every_toml_sorted(tmp_path):
    write(tmp_path, entry(TWO, "two"), "b.toml")
    write(tmp_path, entry(ONE, "one"), "a.toml")
    write(tmp_path, "not a watchlist", "notes.txt")
    assert [w.name for w in watchlists.load_all(tmp_path)] == ["a", "b"]
    given = [tmp_path / "b.toml", tmp_path / "a.toml"]
    assert [w.name for w in watchlists.load_all(given)] == ["b", "a"]
    with pytest.raises(WatchlistError, match="no such watchlists folder"):
        watchlists.load_all(tmp_path / "missing")


def test_load_reads_every_field(tmp_path):
    text = 'description = "d"\ninterval = 60\n\n' + entry(
        ONE.upper().replace("0X", "0x"),
        venues='["hyperliquid", "ethereum", "hyperliquid"]',
        tags='["whale"]',
        entity='"E"',
        confidence='"B\u2212"',
        sources='["https://example.org/a"]',
    )
    got = watchlists.load(write(tmp_path, text))
    assert (got.name, got.description, got.interval_s) == ("test", "d", 60.0)
    (e,) = got.entries
    assert e.address == ONE and e.venues == ("hyperliquid", "ethereum")
    assert (e.tags, e.entity, e.confidence) == (("whale",), "E", "B-")
    assert (e.sources, e.watchlist) == (("https://example.org/a",), "test")
    defaults = watchlists.load(write(tmp_path, entry(), "d.toml")).entries[0]
    assert defaults.venues == ("hyperliquid",) and defaults.confidence is None


# --- validation -------------------------------------------------------------------------------

GOOD = entry(ONE, "one")
E2 = f"entry 2 ({TWO[:6]}…{TWO[-4:]})"
INVALID = {
    "malformed": ("[[address]\nlabel = 1\n", "invalid TOML at line 1, column"),
    "key twice": (entry(label="a") + 'label = "b"\n', "invalid TOML"),
    "missing address": (GOOD + entry("", "x"), "entry 2: missing required key 'address'"),
    "blank address": (GOOD + entry("  ", "x"), "entry 2: 'address' is blank"),
    "bad address": (GOOD + entry("0xnothex", "x"), "entry 2: not an address: '0xnothex'"),
    "missing label": (GOOD + entry(TWO, ""), f"{E2}: missing required key 'label'"),
    "blank label": (GOOD + entry(TWO, " "), f"{E2}: 'label' is blank"),
    "duplicate": (
        GOOD + entry(TWO, "two") + entry(ONE, "again"),
        "entry 3 (0x1111…1111): duplicate address, already in entry 1",
    ),
    "duplicate other case": (
        entry(HEX, "lower") + entry("0x" + HEX[2:].upper(), "upper"),
        "entry 2 (0xabcd…ef01): duplicate address, already in entry 1",
    ),
    "unknown venue": (
        GOOD + entry(TWO, venues='["solana"]'),
        f"{E2}: unknown venue 'solana' (known: ethereum, hyperliquid)",
    ),
    "no venue": (GOOD + entry(TWO, venues="[]"), f"{E2}: 'venues' is empty"),
    "venues string": (
        GOOD + entry(TWO, venues='"hyperliquid"'),
        f"{E2}: 'venues' must be a list of strings, got a string",
    ),
    "venues of numbers": (
        GOOD + entry(TWO, venues="[1]"),
        f"{E2}: 'venues' must be a list of strings, item 1 is an integer",
    ),
    "tags table": (GOOD + entry(TWO, tags="{a = 1}"), f"{E2}: 'tags' must be a list of strings"),
    "blank source": (GOOD + entry(TWO, sources='["x", ""]'), f"{E2}: 'sources' item 2 is blank"),
    "label number": (GOOD + entry(TWO, "") + "label = 5\n", f"{E2}: 'label' must be a string"),
    "entity bool": (GOOD + entry(TWO, entity="true"), f"{E2}: 'entity' must be a string"),
    "bad confidence": (
        GOOD + entry(TWO, confidence='"D"'),
        f"{E2}: unknown confidence 'D' (known: A, B, B-, C)",
    ),
    "confidence number": (
        GOOD + entry(TWO, confidence="1"),
        f"{E2}: 'confidence' must be a string",
    ),
    "interval zero": ("interval = 0\n" + GOOD, "'interval' must be a positive number"),
    "interval text": ('interval = "60"\n' + GOOD, "'interval' must be a positive number"),
    "interval bool": ("interval = true\n" + GOOD, "'interval' must be a positive number"),
    "interval inf": ("interval = inf\n" + GOOD, "'interval' must be a positive number"),
    "description number": ("description = 5\n" + GOOD, "'description' must be a string"),
    "address string": (f'address = "{ONE}"\n', "'address' must be an array of tables"),
    "address table": (f'[address]\naddress = "{ONE}"\n', "'address' must be an array of tables"),
}


@pytest.mark.parametrize("case", INVALID)
def test_invalid_watchlists_name_file_and_entry(tmp_path, case):
    text, expected = INVALID[case]
    path = write(tmp_path, text)
    with pytest.raises(WatchlistError) as caught:
        watchlists.load(path)
    message = str(caught.value)
    assert isinstance(caught.value, BadInput)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert expected in message


def test_unknown_keys_only_warn(tmp_path, caplog):
    text = 'owner = "me"\n\n' + entry(colour='"red"')
    with caplog.at_level(logging.WARNING, logger="tracker.watchlists"):
        got = watchlists.load(write(tmp_path, text))
    assert got.entries[0].label == "one"
    warnings = [r.getMessage() for r in caplog.records]
    assert any("unknown key 'owner'" in w for w in warnings)
    assert any("entry 1 (0x1111…1111): unknown key 'colour'" in w for w in warnings)


def test_missing_file_is_bad_input(tmp_path):
    with pytest.raises(WatchlistError, match="no such watchlist file"):
        watchlists.load(tmp_path / "nope.toml")


# --- editing ----------------------------------------------------------------------------------


def test_add_then_remove_keeps_every_comment_and_byte(tmp_path):
    path = write(tmp_path, COMMENTED)
    added = watchlists.add(
        path,
        address=NEW.upper().replace("0X", "0x"),
        label="1011 whale",
        venues=["hyperliquid", "ethereum"],
        tags=["whale"],
        entity="1011 whale",
        confidence="B\u2212",
        sources=["https://coinpulsehq.com/hyperliquid-whale-50m-loss"],
    )
    assert [e.address for e in added.entries] == [ONE, TWO, NEW]
    assert added.entries[-1].confidence == "B-" and added.interval_s == 30
    text = path.read_text(encoding="utf-8")
    for comment in re.findall(r"#.*", COMMENTED):
        assert comment in text
    assert text.startswith(COMMENTED) and f'address = "{NEW}"' in text
    assert watchlists.load(path) == added
    removed = watchlists.remove(path, NEW)
    assert [e.address for e in removed.entries] == [ONE, TWO]
    assert path.read_bytes() == COMMENTED.encode()


def test_remove_takes_the_entrys_own_comment_and_keeps_the_others(tmp_path):
    path = write(tmp_path, COMMENTED)
    watchlists.remove(path, ONE)
    text = path.read_text(encoding="utf-8")
    assert "# first: a whale" not in text and "copied from a block explorer" not in text
    assert "# second: unconfirmed\n[[address]]" in text
    assert text.startswith("# A watchlist written by hand, with comments everywhere.\ndescription")
    assert text.endswith("\n# end of file\n")
    watchlists.remove(path, TWO)
    assert watchlists.load(path).entries == ()
    assert "# second: unconfirmed" not in path.read_text() and "# end of file" in path.read_text()


def test_add_creates_a_missing_file(tmp_path):
    path = tmp_path / "new.toml"
    got = watchlists.add(path, address=ONE, label="one")
    assert got == Watchlist(name="new", path=path, entries=got.entries)
    assert got.entries[0].venues == ("hyperliquid",)
    assert watchlists.load(path) == got
    assert [p.name for p in tmp_path.iterdir()] == ["new.toml"]


FAILING_ADDS = {
    "duplicate": ({"address": ONE.upper().replace("0X", "0x")}, "entry 1 (0x1111…1111): already"),
    "bad address": ({"address": "0x12"}, "entry 3: not an address"),
    "unknown venue": ({"venues": ["solana"]}, "entry 3 (0xb317…83ae): unknown venue 'solana'"),
    "bad confidence": ({"confidence": "Z"}, "entry 3 (0xb317…83ae): unknown confidence 'Z'"),
    "blank label": ({"label": "  "}, "entry 3 (0xb317…83ae): 'label' is blank"),
    "blank tag": ({"tags": ["ok", " "]}, "entry 3 (0xb317…83ae): 'tags' item 2 is blank"),
}


@pytest.mark.parametrize("case", FAILING_ADDS)
def test_failing_add_leaves_the_file_byte_identical(tmp_path, case):
    changes, expected = FAILING_ADDS[case]
    path = write(tmp_path, COMMENTED)
    before = path.read_bytes()
    fields: dict = {"address": NEW, "label": "new"} | changes
    with pytest.raises(WatchlistError) as caught:
        watchlists.add(path, **fields)
    assert str(caught.value).startswith(f"{path}: ") and expected in str(caught.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["test.toml"]  # no temporary file left


def test_edits_refuse_an_invalid_file_and_leave_it_alone(tmp_path):
    text = COMMENTED.replace('venues = ["ethereum"]', 'venues = ["solana"]')
    path = write(tmp_path, text)
    with pytest.raises(WatchlistError, match=r"entry 2 \(0x2222…2222\): unknown venue"):
        watchlists.add(path, address=NEW, label="new")
    with pytest.raises(WatchlistError, match="unknown venue"):
        watchlists.remove(path, ONE)
    assert path.read_text(encoding="utf-8") == text


def test_remove_errors(tmp_path):
    path = write(tmp_path, COMMENTED)
    with pytest.raises(WatchlistError, match=f"{NEW} is not in this watchlist"):
        watchlists.remove(path, NEW)
    with pytest.raises(WatchlistError, match="not an address"):
        watchlists.remove(path, "whale")
    with pytest.raises(WatchlistError, match="no such watchlist file"):
        watchlists.remove(tmp_path / "nope.toml", ONE)
    assert path.read_bytes() == COMMENTED.encode()


def test_remove_from_an_inline_array_still_works(tmp_path):
    path = write(tmp_path, f'address = [{{address = "{ONE}", label = "one"}}]\n')
    assert watchlists.remove(path, ONE).entries == ()


def test_write_failure_is_bad_input_and_changes_nothing(tmp_path):
    if os.geteuid() == 0:
        # root ignores directory permissions; a missing folder fails the same write path.
        path = tmp_path / "missing" / "new.toml"
    else:
        tmp_path.chmod(0o500)
        path = tmp_path / "new.toml"
    try:
        with pytest.raises(WatchlistError, match="cannot write"):
            watchlists.add(path, address=ONE, label="one")
    finally:
        tmp_path.chmod(0o700)
    assert not path.exists()


# --- merge ------------------------------------------------------------------------------------


def test_merge_dedupes_across_files_first_wins(tmp_path):
    first = write(
        tmp_path,
        entry(ONE, "first", tags='["a"]', sources='["s1"]', confidence='"A"') + entry(TWO, "two"),
        "a.toml",
    )
    second = write(
        tmp_path,
        entry(NEW, "new")
        + entry(ONE.upper().replace("0X", "0x"), "second", venues='["ethereum"]', tags='["b", "a"]')
        + entry(ONE.replace("1", "3"), "three"),
        "b.toml",
    )
    merged = watchlists.merge(watchlists.load_all([first, second]))
    assert [e.address for e in merged] == [ONE, TWO, NEW, ONE.replace("1", "3")]
    one = merged[0]
    assert (one.label, one.confidence, one.watchlist) == ("first", "A", "a")
    assert one.venues == ("hyperliquid", "ethereum") and one.tags == ("a", "b")
    assert one.sources == ("s1",)


def test_every_command_merges_the_same_files_the_same_way(tmp_path, monkeypatch):
    # ONE: Hyperliquid in a.toml (interval 60, no entity), Ethereum in b.toml (interval 30) under
    # another label, with an entity and a tier; NEW: Ethereum only, in a.toml; TWO: only in b.toml.
    a = entry(ONE, "one in a") + entry(NEW, "eth only", venues='["ethereum"]', entity='"actor"')
    b = entry(ONE, "one in b", venues='["ethereum"]', entity='"actor"', confidence='"B"')
    write(tmp_path, "interval = 60\n" + a, "a.toml")
    write(tmp_path, "interval = 30\n" + b + entry(TWO, "two", entity='"actor"'), "b.toml")
    monkeypatch.setenv("TRACKER_WATCHLISTS_DIR", str(tmp_path))
    monkeypatch.setenv("TRACKER_ENV_FILE", str(tmp_path / "no.env"))
    labels = {ONE: "one in a", NEW: "eth only", TWO: "two"}

    for names in (None, ["a", "b"], [str(tmp_path / "a.toml"), "b"]):
        run = cli._watched(names)  # tracker run and tracker snapshot
        report = cli_charts._watched(names)  # tracker report
        assert run.addresses == [e.address for e in report] == [ONE, TWO]
        assert run.eth_addresses == [ONE, NEW]
        assert run.labels == labels and {e.address: e.label for e in report} == {
            ONE: labels[ONE],
            TWO: labels[TWO],
        }
        assert run.intervals == {ONE: 30.0, NEW: 60.0, TWO: 30.0}
        assert [(e.entity, e.confidence, e.interval_s) for e in report] == [
            ("actor", "B", 30.0),
            ("actor", None, 30.0),
        ]
    # tracker entity and the labels of chart and liquidations: the same entries, same labels.
    merged = cli_entity._entries()
    assert entity.entity_addresses(merged, "ACTOR") == list(labels.items())
    assert entity.entities(merged) == {"actor": 3}
    assert cli_charts.watchlist_labels() == labels


# --- CLI through typer's runner (the sub-app itself) -----------------------------------------


def invoke(*args: str, folder: Path):
    env = {"TRACKER_WATCHLISTS_DIR": str(folder), "COLUMNS": "250", "NO_COLOR": "1"}
    return CliRunner().invoke(app, list(args), env=env)


def test_runner_list_show_add_remove(tmp_path):
    write(tmp_path, COMMENTED, "mine.toml")
    listed = invoke("list", folder=tmp_path)
    assert listed.exit_code == 0, listed.output
    assert re.search(r"mine\s+│\s+2\s+│\s+hand-written", listed.output)
    options = ["--label", "1011 whale", "--venue", "ethereum", "--tag", "whale", "--tag", "insider"]
    options += ["--confidence", "B", "--entity", "1011", "--source", "https://a"]
    added = invoke("add", "mine", NEW, *options, "--source", "https://b", folder=tmp_path)
    assert added.exit_code == 0, added.output
    assert NEW in added.output and "3 entries" in added.output
    shown = invoke("show", "mine", folder=tmp_path)
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.output.splitlines() if NEW in line)
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells == [NEW, "1011 whale", "ethereum", "whale, insider", "1011", "B", "2"]
    doc = json.loads(invoke("show", "mine", "--json", folder=tmp_path).output)
    assert doc["interval_s"] == 30 and doc["description"] == "hand-written"
    assert doc["entries"][2] == {
        "address": NEW,
        "label": "1011 whale",
        "venues": ["ethereum"],
        "tags": ["whale", "insider"],
        "entity": "1011",
        "confidence": "B",
        "sources": ["https://a", "https://b"],
    }
    removed = invoke("remove", "mine", NEW, folder=tmp_path)
    assert removed.exit_code == 0, removed.output
    assert (tmp_path / "mine.toml").read_bytes() == COMMENTED.encode()


def test_runner_dir_option_beats_the_environment(tmp_path):
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    write(chosen, GOOD, "picked.toml")
    result = invoke("list", "--dir", str(chosen), folder=tmp_path / "elsewhere")
    assert result.exit_code == 0 and "picked" in result.output
    shown = invoke("show", str(chosen / "picked.toml"), "--json", folder=tmp_path)
    assert json.loads(shown.output)["entries"][0]["address"] == ONE


def test_runner_bad_input_raises_watchlist_error_and_changes_nothing(tmp_path):
    path = write(tmp_path, COMMENTED, "mine.toml")
    result = invoke("add", "mine", NEW, "--label", "x", "--venue", "solana", folder=tmp_path)
    assert isinstance(result.exception, WatchlistError)
    assert "unknown venue 'solana'" in str(result.exception)
    result = invoke("remove", "mine", NEW, folder=tmp_path)
    assert isinstance(result.exception, WatchlistError)
    assert path.read_bytes() == COMMENTED.encode()


# --- CLI end to end: `python -m tracker watchlist ...` in a real process ---------------------


def cli_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env |= {
        "TRACKER_WATCHLISTS_DIR": str(folder),
        "TRACKER_ENV_FILE": str(folder / "no.env"),
        "NO_COLOR": "1",
        "COLUMNS": "250",
    }
    return env


async def test_cli_process_show_add_remove(tmp_path):
    (tmp_path / "whales.toml").write_bytes(WHALES.read_bytes())
    env = cli_env(tmp_path)
    shown = await run_cli("watchlist", "show", "whales", "--json", env=env)
    assert shown.code == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["name"] == "whales" and NEW in [e["address"] for e in doc["entries"]]
    listed = await run_cli("watchlist", "list", env=env)
    assert listed.code == 0 and "whales" in listed.stdout, listed.stderr
    added = await run_cli("watchlist", "add", "mine", ONE, "--label", "one", env=env)
    assert added.code == 0, added.stderr
    assert watchlists.load(tmp_path / "mine.toml").entries[0].label == "one"
    removed = await run_cli("watchlist", "remove", "mine", ONE, env=env)
    assert removed.code == 0, removed.stderr
    assert watchlists.load(tmp_path / "mine.toml").entries == ()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["add", "mine", TWO, "--label", "dup"], "already in this watchlist"),
        (["add", "mine", NEW, "--label", "x", "--venue", "solana"], "unknown venue 'solana'"),
        (["add", "mine", "0xnothex", "--label", "x"], "not an address"),
        (["add", "mine", NEW, "--label", "x", "--confidence", "D"], "unknown confidence 'D'"),
        (["remove", "mine", NEW], "is not in this watchlist"),
        (["show", "nope"], "no such watchlist file"),
        (["add", "mine", NEW], "--label"),
    ],
)
async def test_cli_process_bad_input_exits_2_with_one_line(tmp_path, args, expected):
    path = write(tmp_path, COMMENTED, "mine.toml")
    result = await run_cli("watchlist", *args, env=cli_env(tmp_path))
    assert result.code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error:") and expected in result.stderr
    assert path.read_bytes() == COMMENTED.encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.toml"]


def test_add_all_appends_in_one_write_and_refuses_a_duplicate_of_the_batch(tmp_path):
    path = tmp_path / "many.toml"
    a, b = "0x" + "a" * 40, "0x" + "b" * 40
    added = watchlists.add_all(
        path,
        [
            watchlists.NewEntry(address=a, label="first", tags=("leaderboard",)),
            watchlists.NewEntry(address=b.upper().replace("0X", "0x"), label="second"),
        ],
    )
    assert [(e.address, e.label, e.tags) for e in added.entries] == [
        (a, "first", ("leaderboard",)),
        (b, "second", ()),
    ]
    before = path.read_text()
    with pytest.raises(watchlists.WatchlistError, match="already in this watchlist as 'new c'"):
        watchlists.add_all(
            path,
            [
                watchlists.NewEntry(address="0x" + "c" * 40, label="new c"),
                watchlists.NewEntry(address="0x" + "C" * 40, label="again"),
            ],
        )
    assert path.read_text() == before  # nothing written
