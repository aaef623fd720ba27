"""The README says what the code does: tables and columns, named queries, environment variables,
`tracker status` in polling mode, and the precision of our liquidation prices."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_cli, start_cli, tracker_env
from tests.fakes import seed
from tests.test_daemon import read_passes, stop
from tests.test_snapshot import write_watchlist
from tracker.store import open_store

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
ENV_EXAMPLE = (REPO / ".env.example").read_text()


def section(title: str) -> str:
    """The README's `## title` section, up to the next `## ` heading."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


# --- tables ------------------------------------------------------------------------------------

ENTRY = re.compile(r"^\*\*`(\w+)`\*\* \((table|view)\b[^)]*\)", re.M)
IDENTIFIER = re.compile(r"`([a-z_][a-z0-9_]*)`")


def documented_tables() -> dict[str, tuple[str, list[str]]]:
    """name -> (kind, columns) from the Tables section: one paragraph per table or view."""
    entries: dict[str, tuple[str, str]] = {}
    for paragraph in section("Tables").split("\n\n"):
        if match := ENTRY.match(paragraph.strip()):
            assert match[1] not in entries, f"{match[1]} is documented twice"
            assert "Columns:" in paragraph, f"{match[1]}: no 'Columns:' list"
            entries[match[1]] = (match[2], paragraph.split("Columns:", 1)[1])
    tables: dict[str, tuple[str, list[str]]] = {}
    for name, (kind, text) in entries.items():
        if alias := re.match(r"\s*those of `(\w+)`", text):
            text = entries[alias[1]][1]
        tables[name] = (kind, IDENTIFIER.findall(text))
    return tables


def test_tables_section_lists_every_table_view_and_column(tmp_path):
    with open_store(tmp_path / "fresh.duckdb") as store:  # every migration applied
        found = store.con.execute(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_schema = 'main' ORDER BY table_name"
        ).fetchall()
        real = {
            name: (
                "view" if kind == "VIEW" else "table",
                [
                    c
                    for (c,) in store.con.execute(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = 'main' AND table_name = $t",
                        {"t": name},
                    ).fetchall()
                ],
            )
            for name, kind in found
        }
    documented = documented_tables()
    assert len(real) >= 20
    assert sorted(set(real) - set(documented)) == [], "tables or views the README lacks"
    assert sorted(set(documented) - set(real)) == [], "the README documents what does not exist"
    for name, (kind, columns) in real.items():
        doc_kind, doc_columns = documented[name]
        assert doc_kind == kind, f"{name} is a {kind}, the README says {doc_kind}"
        assert len(doc_columns) == len(set(doc_columns)), f"{name}: a column listed twice"
        missing = sorted(set(columns) - set(doc_columns))
        extra = sorted(set(doc_columns) - set(columns))
        assert (missing, extra) == ([], []), f"{name}: undocumented {missing}, not real {extra}"


# --- named queries -----------------------------------------------------------------------------

QUERY_ITEM = re.compile(r"^- `(\w+)` \(([^)]*)\):", re.M)


def test_named_query_list_is_every_query_with_its_parameters():
    use = section("Use")
    listed = {name: IDENTIFIER.findall(params) for name, params in QUERY_ITEM.findall(use)}
    files = sorted((REPO / "sql" / "queries").glob("*.sql"))
    assert files
    declared = {  # what each query binds: $name outside comments
        f.stem: set(re.findall(r"\$([a-z_]\w*)", re.sub(r"--[^\n]*", "", f.read_text())))
        for f in files
    }
    assert sorted(listed) == sorted(declared)
    for name, params in declared.items():
        assert sorted(listed[name]) == sorted(params), name


# --- environment variables ---------------------------------------------------------------------


def read_by_code() -> set[str]:
    """Every TRACKER_* name in tracker/, and any other variable the code looks up by name."""
    source = "\n".join(p.read_text() for p in (REPO / "tracker").rglob("*.py"))
    names = set(re.findall(r"\bTRACKER_[A-Z0-9_]+\b", source))
    names |= set(
        re.findall(r"""(?:environ|env|merged)\.get\(\s*["']([A-Z][A-Z0-9_]*)["']""", source)
    )
    names |= set(re.findall(r"""["']([A-Z][A-Z0-9_]*)["']\s+(?:not\s+)?in\s+os\.environ""", source))
    return names


def test_every_environment_variable_is_in_the_readme_table_and_env_example():
    code = read_by_code()
    assert {"TRACKER_DB", "TRACKER_ENV_FILE", "XDG_DATA_HOME", "MALLOC_ARENA_MAX"} <= code
    config = section("Configuration")
    rows = [line for line in config.splitlines() if line.startswith("| `")]
    table = {n for row in rows for n in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}
    example = set(re.findall(r"^#? ?(TRACKER_[A-Z0-9_]+)=", ENV_EXAMPLE, re.M))
    ours = {n for n in code if n.startswith("TRACKER_")}
    assert sorted(ours - table) == [], "variables the README's table lacks"
    assert sorted(table - code) == [], "the README's table lists variables nothing reads"
    assert sorted(ours - example) == [], "variables .env.example lacks"
    assert sorted(example - code) == [], ".env.example sets variables nothing reads"
    for name in sorted(code - ours):  # XDG_DATA_HOME: part of TRACKER_DB's default
        assert name in config and name in ENV_EXAMPLE, name


# --- tracker status in polling mode ------------------------------------------------------------


async def test_status_says_what_it_shows_for_a_polling_daemon(hl_fake, tmp_path):
    db = tmp_path / "t.duckdb"
    env = tracker_env(hl_fake.url, db)
    watchlist = write_watchlist(tmp_path / "w.toml", seed.CROSS_SHORT_SOL, seed.CROSS_LONG_2024)
    daemon = await start_cli(
        "run", "--watchlist", str(watchlist), "--interval", "30", "--no-live", env=env
    )
    try:
        (first,) = await read_passes(daemon, 1)
        text = await run_cli("status", env=env)
        doc = await run_cli("status", "--json", env=env)
    finally:
        code, _, err = await stop(daemon)
    assert code == 0, err
    assert text.code == 0 and doc.code == 0, text.stderr + doc.stderr
    screen = " ".join(text.stdout.split())  # compare across the terminal's line breaks
    assert "no live status file" in screen and "polling mode (`tracker run --no-live`)" in screen
    assert f"{first['addresses_ok']}/2 addresses" in screen and "(run)" in screen
    assert "Stalest stored accounts" in screen
    assert seed.CROSS_SHORT_SOL in screen and seed.CROSS_LONG_2024 in screen
    status = json.loads(doc.stdout)
    assert status["daemon"] is None
    assert status["status_file"] == str(db) + ".status.json"
    assert status["last_pass"]["command"] == "run" and status["last_pass"]["addresses"] == 2
    assert {row["address"] for row in status["stalest_stored"]} == {
        seed.CROSS_SHORT_SOL,
        seed.CROSS_LONG_2024,
    }
    # and the README says the same
    readme = " ".join(README.split())
    assert "In polling mode (`tracker run --no-live`) no status file is written" in readme


# --- precision -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("test_file", "assertion"),
    [
        ("test_risk.py", 'abs(position.liquidation_px / venue - 1) < Decimal("1e-9")'),
        ("test_cli_watch.py", 'abs(Decimal(ours) / Decimal(venue) - 1) < Decimal("1e-9")'),
    ],
)
def test_readme_precision_claim_is_what_the_tests_assert(test_file, assertion):
    readme = " ".join(README.split())
    assert "agrees with the venue's `liquidationPx` to within 1e-9 relative" in readme
    assert f"`tests/{test_file}`" in readme
    assert assertion in (REPO / "tests" / test_file).read_text()
