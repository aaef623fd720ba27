"""`tracker export`: tables, views and named queries to Parquet, CSV and JSON via DuckDB's COPY."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from tests.conftest import run_cli
from tests.test_charts import WHALE, Replay, replay_database, sql
from tracker.cli.charts import register
from tracker.errors import BadInput, QueryError


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Replay:
    """Three snapshot passes of the replayed accounts (see tests/test_charts.py)."""
    return asyncio.run(replay_database(tmp_path_factory.mktemp("replay")))


def invoke(replay: Replay, *args: str):
    app = typer.Typer()
    register(app)
    return CliRunner().invoke(app, list(args), env=replay.env)


def read(path: Path, reader: str) -> list[tuple]:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(f"SELECT * FROM {reader}(?)", [str(path)]).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize(
    ("suffix", "fmt", "reader"),
    [
        (".parquet", "parquet", "read_parquet"),
        (".csv", "csv", "read_csv"),
        (".json", "json", "read_json"),
        (".jsonl", "json", "read_json"),
    ],
)
def test_every_format_holds_every_row(replay, tmp_path, suffix, fmt, reader):
    out = tmp_path / f"positions{suffix}"
    result = invoke(replay, "export", "positions", "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    stored = sql(replay.db, "select * from positions order by address, coin, ts")
    assert len(stored) == 3 * 5  # three passes of five positions
    assert result.output.strip() == f"wrote {len(stored)} rows of positions to {out} ({fmt})"
    assert len(read(out, reader)) == len(stored)
    if fmt == "json":
        text = out.read_text()
        documents = (
            json.loads(text)
            if suffix == ".json"
            else [json.loads(x) for x in text.split("\n") if x]
        )
        assert len(documents) == len(stored) and documents[0].keys() >= {"ts", "liquidation_px"}


def test_parquet_keeps_types_and_values_exactly(replay, tmp_path):
    out = tmp_path / "p.parquet"
    assert invoke(replay, "export", "positions", "--out", str(out)).exit_code == 0  # from suffix
    con = duckdb.connect(str(replay.db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        path = str(out)
        for a, b in (
            ("positions", f"read_parquet('{path}')"),
            (f"read_parquet('{path}')", "positions"),
        ):
            assert con.execute(f"select * from {a} except all select * from {b}").fetchall() == []
        described = con.execute(f"describe select * from read_parquet('{path}')").fetchall()
        types = {r[0]: r[1] for r in described}
        assert (
            types["liquidation_px"] == "DECIMAL(38,18)"
            and types["ts"] == "TIMESTAMP WITH TIME ZONE"
        )
    finally:
        con.close()


def test_views_and_named_queries(replay, tmp_path):
    view = invoke(replay, "export", "LATEST_POSITIONS", "--out", str(tmp_path / "l.csv"))
    assert view.exit_code == 0, view.output
    latest = sql(replay.db, "select count(*) from latest_positions")[0][0]
    assert len(read(tmp_path / "l.csv", "read_csv")) == latest == 5
    events = invoke(replay, "export", "position_events", "--out", str(tmp_path / "e.parquet"))
    assert events.exit_code == 0 and "wrote 4 rows of position_events" in events.output

    named = invoke(
        replay,
        "export",
        "--name",
        "pnl_over_time",
        "--param",
        f"address={WHALE}",
        "--out",
        str(tmp_path / "pnl.json"),
    )
    assert named.exit_code == 0, named.output
    rows = json.loads((tmp_path / "pnl.json").read_text(), parse_float=Decimal)
    stored = sql(
        replay.db,
        "select sum(account_value_usd) from account_snapshots where address = $a "
        "group by ts order by ts",
        {"a": WHALE},
    )
    assert [r["account_value_usd"] for r in rows] == [r[0] for r in stored]  # exact decimals
    top = invoke(
        replay,
        "export",
        "--name",
        "largest_positions",
        "--param",
        "limit=2",
        "--out",
        str(tmp_path / "top.parquet"),
    )
    assert top.exit_code == 0 and "wrote 2 rows of largest_positions" in top.output


def test_awkward_paths_are_written_where_asked(replay, tmp_path):
    folder = tmp_path / "it's here; DROP TABLE positions; --"
    folder.mkdir()
    out = folder / "o'clock positions.parquet"
    result = invoke(replay, "export", "positions", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert len(read(out, "read_parquet")) == 15
    assert sql(replay.db, "select count(*) from positions")[0][0] == 15
    assert sorted(p.name for p in folder.iterdir()) == [out.name]  # no temporary file left


def test_refuses_to_overwrite_unless_forced(replay, tmp_path):
    out = tmp_path / "p.csv"
    out.write_text("keep me\n")
    refused = invoke(replay, "export", "positions", "--out", str(out))
    assert isinstance(refused.exception, BadInput) and "--force" in str(refused.exception)
    assert out.read_text() == "keep me\n"
    forced = invoke(replay, "export", "positions", "--out", str(out), "--force")
    assert forced.exit_code == 0 and len(read(out, "read_csv")) == 15


@pytest.mark.parametrize(
    ("args", "error", "words"),
    [
        (("nope", "--out", "x.csv"), BadInput, "no table or view 'nope'; there are: "),
        (('positions"; DROP TABLE fills; --', "--out", "x.csv"), BadInput, "no table or view"),
        (("positions", "--out", "x"), BadInput, "--out must end in .parquet, .csv or .json"),
        (("positions", "--format", "csv", "--out", "x.parquet"), BadInput, "must end in .csv"),
        (("--out", "x.csv"), BadInput, "give either a TABLE or --name"),
        (("positions", "--name", "largest_positions", "--out", "x.csv"), BadInput, "either"),
        (("positions", "--param", "a=1", "--out", "x.csv"), BadInput, "--param goes with"),
        (("--name", "nope", "--out", "x.csv"), QueryError, "no named query 'nope'"),
        (("--name", "largest_positions", "--param", "x=1", "--out", "x.csv"), QueryError, "x"),
        (("positions", "--out", "missing/x.csv"), BadInput, "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(replay, tmp_path, args, error, words):
    args = tuple(str(tmp_path / a) if a.startswith(("x", "missing/")) else a for a in args)
    result = invoke(replay, "export", *args)
    assert isinstance(result.exception, error), result.output
    assert words in str(result.exception) and "\n" not in str(result.exception)
    assert list(tmp_path.iterdir()) == []
    assert sql(replay.db, "select count(*) from fills")[0][0] > 0


def test_unknown_format_is_a_usage_error(replay, tmp_path):
    result = invoke(replay, "export", "positions", "--format", "xlsx", "--out", str(tmp_path / "x"))
    assert result.exit_code == 2 and not list(tmp_path.iterdir())


# --- end to end through `python -m tracker` (needs register(app) in tracker/cli.py) -------------


async def test_acceptance_export_positions_to_parquet(replay, tmp_path):
    out = tmp_path / "p.parquet"
    result = await run_cli(
        "export", "positions", "--format", "parquet", "--out", str(out), env=replay.env
    )
    assert result.code == 0, result.stderr
    assert len(read(out, "read_parquet")) == sql(replay.db, "select count(*) from positions")[0][0]
    again = await run_cli("export", "positions", "--out", str(out), env=replay.env)
    assert again.code == 2 and again.stderr.count("\n") == 1 and "--force" in again.stderr
    unknown = await run_cli("export", "nope", "--out", str(tmp_path / "n.csv"), env=replay.env)
    assert unknown.code == 2 and "no table or view 'nope'" in unknown.stderr
