"""The database opens in the DuckDB clients people use: the pinned 1.x CLI reads what we write.

The tracker writes a database (snapshots against the fake venue, Ethereum rows through the
store's write path: see tests/test_query_params.py); then the DuckDB CLI from `duckdb-cli` (in the
dev lock) opens it with -readonly and runs every SQL example of the README and every named query
with its default parameters. Its answers must equal those of the Python DuckDB the tracker runs
on, and hold rows wherever the data has them. A file in DuckDB 2.0's own format (what earlier
trackers wrote) is reported once, left alone, and rewritten only by `tracker db compat`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import REPO, run_cli, tracker_env
from tests.test_query_params import WHALE, Database, populated_database
from tracker import resources
from tracker.store import open_store
from tracker.store.db import STORAGE_VERSION, readable_by_1x, storage_version
from tracker.store.named_queries import named_query

# `duckdb-cli` installs its binary beside the interpreter (.venv/bin/duckdb).
CLI = Path(sys.executable).parent / "duckdb"
README = (REPO / "README.md").read_text()


def duckdb_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the pinned DuckDB CLI; a missing CLI fails the test (it is in the dev lock)."""
    assert CLI.is_file(), f"{CLI} is missing: install requirements-dev.lock (duckdb-cli)"
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=60)


def cli_rows(db: Path, sql: str) -> list[dict[str, Any]]:
    """The rows of the last statement of sql, as the CLI answers with -readonly -json."""
    result = duckdb_cli("-readonly", "-json", str(db), "-c", sql)
    assert result.returncode == 0 and not result.stderr, result.stderr
    decoder, text, answers = json.JSONDecoder(), result.stdout.strip(), []
    while text:  # one JSON array per statement that returns rows
        answer, end = decoder.raw_decode(text)
        answers.append(answer)
        text = text[end:].strip()
    assert answers, result.stdout
    rows: list[dict[str, Any]] = answers[-1]
    return rows


def python_rows(db: Path, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cursor = con.execute(sql, params)
        columns = [d[0] for d in cursor.description or []]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def same(cli: Any, exact: Any) -> bool:
    """A value of the CLI's JSON equals the Python client's value (decimals exactly)."""
    if exact is None or cli is None:
        return cli is exact
    if isinstance(exact, Decimal):
        return Decimal(str(cli)) == exact
    if isinstance(exact, datetime):  # the CLI shows its own time zone: compare instants
        return datetime.fromisoformat(str(cli)) == exact
    return bool(cli == exact)


def assert_same_answers(cli: list[dict[str, Any]], exact: list[dict[str, Any]]) -> None:
    assert [list(r) for r in cli] == [list(r) for r in exact]  # columns, in order
    for got, want in zip(cli, exact, strict=True):
        different = [k for k in want if not same(got[k], want[k])]
        assert not different, (different, got, want)


def readme_examples() -> list[tuple[str, str]]:
    """(comment, statement) of every statement in the README's ```sql blocks."""
    examples = []
    for block in re.findall(r"```sql\n(.*?)```", README, re.DOTALL):
        for statement in re.split(r";\s*(?:\n|$)", block):
            lines = [line for line in statement.strip().splitlines() if line.strip()]
            if not lines:
                continue
            comment = " ".join(line for line in lines if line.startswith("--"))
            sql = "\n".join(line for line in lines if not line.startswith("--"))
            examples.append((comment, sql + ";"))
    return examples


def literal(value: Any) -> str:
    """A bound value written as SQL, for the CLI's EXECUTE."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return f"TIMESTAMPTZ '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Database:
    return asyncio.run(populated_database(tmp_path_factory.mktemp("compat")))


def test_the_pinned_cli_is_a_1x_client() -> None:
    version = duckdb_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("v1."), version.stdout


def test_the_tracker_writes_the_format_1x_clients_read(full: Database) -> None:
    with open_store(full.db, read_only=True) as store:
        version = storage_version(store)
    assert version == f"{STORAGE_VERSION}+" and readable_by_1x(version)
    tables = cli_rows(full.db, "select count(*) as n from duckdb_tables()")
    assert tables[0]["n"] >= 15


def test_every_readme_example_answers_the_same_in_the_cli(full: Database) -> None:
    examples = readme_examples()
    assert len(examples) >= 4, examples  # the README's SQL, found
    for comment, sql in examples:
        exact = python_rows(full.db, sql)
        cli = cli_rows(full.db, sql)
        assert_same_answers(cli, exact)
        if "should be nowhere" in comment:  # ours and the venue's liquidation price agree
            assert cli == [], sql
        else:
            assert cli, f"no rows for the README example: {sql}"


@pytest.mark.parametrize("name", resources.query_names())
def test_every_named_query_with_its_defaults_answers_the_same_in_the_cli(
    full: Database, name: str
) -> None:
    query = named_query(name)
    given = [("address", WHALE)] if name == "pnl_over_time" else []  # its one required parameter
    bound = query.bind(given)
    body = "\n".join(line for line in query.sql.splitlines() if not line.startswith("--"))
    arguments = ", ".join(f'"{key}" := {literal(value)}' for key, value in bound.items())
    execute = f"EXECUTE q({arguments})" if arguments else "EXECUTE q"
    cli = cli_rows(full.db, f"PREPARE q AS {body};\n{execute};")
    exact = python_rows(full.db, query.sql, bound)
    assert_same_answers(cli, exact)
    assert cli, f"{name} answered no rows in the CLI"


async def test_a_2_0_file_is_reported_once_and_rewritten_only_on_request(
    full: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))  # Python DuckDB 2.0's own format, as earlier trackers wrote
    con.execute(f"ATTACH '{full.db}' AS source (READ_ONLY)")
    con.execute("COPY FROM DATABASE source TO old")
    con.close()
    counts = "select (select count(*) from positions), (select count(*) from fills)"
    expected = python_rows(full.db, counts)
    refused = duckdb_cli("-readonly", str(old), "-c", "select 1")
    assert refused.returncode != 0 and "version number" in refused.stderr  # the reported fault

    env = tracker_env("http://127.0.0.1:9", old)
    written = await run_cli("query", "select count(*) as n from positions", "--write", env=env)
    assert written.code == 0, written.stderr
    warning = written.stderr.strip().splitlines()
    assert len(warning) == 1 and "WARNING" in warning[0], written.stderr
    assert "v2.0.0 storage format" in warning[0] and "'tracker db compat'" in warning[0]
    read = await run_cli("query", "select 1", env=env)  # readers are not told: writers are
    assert read.code == 0 and read.stderr == ""
    with caplog.at_level(logging.WARNING, logger="tracker.store.db"):
        for _ in range(3):  # one process opening the file pass after pass says it once
            with open_store(old):
                pass
    said = [r.getMessage() for r in caplog.records if r.name == "tracker.store.db"]
    assert len(said) == 1 and "'tracker db compat'" in said[0], said
    assert python_rows(old, counts) == expected  # nothing converted behind the user's back

    rewritten = await run_cli("db", "compat", env=env)
    assert rewritten.code == 0 and rewritten.stderr == "", rewritten.stderr
    backup = old.with_name("old.duckdb.v2.0.0.bak")
    assert f"the original is kept as {backup}" in rewritten.stdout
    with open_store(backup, read_only=True) as store:
        assert storage_version(store) == "v2.0.0+"
    with open_store(old, read_only=True) as store:
        assert storage_version(store) == f"{STORAGE_VERSION}+"
    assert python_rows(old, counts) == python_rows(backup, counts) == expected
    sql = "select venue, address, coin, side, notional_usd, liquidation_px from latest_positions"
    assert_same_answers(
        cli_rows(old, sql + " order by all"), python_rows(backup, sql + " order by all")
    )

    again = await run_cli("db", "compat", "--db", str(old), env=env)
    assert again.code == 0 and "nothing to do" in again.stdout
    left = sorted(p.name for p in tmp_path.iterdir())  # noqa: ASYNC240 (a test's own folder)
    assert left == sorted([old.name, backup.name])  # no temporary file, no WAL


def test_only_the_store_creates_database_files() -> None:
    """Every DuckDB file the tracker makes comes from tracker/store (and so in STORAGE_VERSION)."""
    offenders = []
    for path in sorted((REPO / "tracker").rglob("*.py")):
        if path.parent.name == "store":
            continue
        text = path.read_text()
        if "duckdb.connect" in text or re.search(r"\bATTACH\s+['\"?{]", text):
            offenders.append(str(path.relative_to(REPO)))
    for path in sorted((REPO / "sql").rglob("*.sql")):
        if re.search(r"\bATTACH\b", path.read_text(), re.IGNORECASE):
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []
