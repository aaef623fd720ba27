"""`tracker query`: formats, read-only by default, named queries, errors as one line, exit 2."""

from __future__ import annotations

import json

import duckdb
import pytest

from tests.conftest import run_cli, tracker_env
from tests.fakes import seed


@pytest.fixture
async def filled_db(hl_fake, db_path):
    env = tracker_env(hl_fake.url, db_path)
    for address in (seed.CROSS_SHORT_SOL, seed.ISOLATED_SHORT_HYPE):
        assert (await run_cli("watch", address, "--once", env=env)).code == 0
    return env


async def test_formats(filled_db):
    sql = "select coin, side from positions order by coin"
    csv_out = await run_cli("query", sql, "--format", "csv", env=filled_db)
    assert csv_out.stdout.splitlines() == ["coin,side", "ETH,long", "HYPE,short", "SOL,short"]
    js = json.loads((await run_cli("query", sql, "--format", "json", env=filled_db)).stdout)
    assert js[1] == {"coin": "HYPE", "side": "short"}
    table = await run_cli("query", sql, env=filled_db)
    assert "HYPE" in table.stdout and "3 rows" in table.stdout


@pytest.mark.parametrize("sql", ["select nope from positions", "selec 1", "select * from nowhere"])
async def test_bad_sql_is_one_line_exit_2(filled_db, sql):
    result = await run_cli("query", sql, env=filled_db)
    assert result.code == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


async def test_read_only_unless_write(filled_db, db_path):
    refused = await run_cli("query", "delete from positions", env=filled_db)
    assert refused.code == 2
    assert "--write" in refused.stderr
    assert duckdb.connect(str(db_path), read_only=True).execute(
        "select count(*) from positions"
    ).fetchone() == (3,)
    allowed = await run_cli(
        "query", "delete from positions where coin = 'ETH'", "--write", env=filled_db
    )
    assert allowed.code == 0, allowed.stderr
    assert duckdb.connect(str(db_path), read_only=True).execute(
        "select count(*) from positions"
    ).fetchone() == (2,)


async def test_named_queries(filled_db):
    listed = await run_cli("query", "--list", env=filled_db)
    assert "closest_to_liquidation" in listed.stdout and "largest_positions" in listed.stdout
    closest = json.loads(
        (
            await run_cli(
                "query", "--name", "closest_to_liquidation", "--format", "json", env=filled_db
            )
        ).stdout
    )
    assert [r["coin"] for r in closest][0] == "HYPE"  # 4.4 % away; SOL short is far
    limited = json.loads(
        (
            await run_cli(
                "query",
                "--name",
                "largest_positions",
                "--param",
                "limit=1",
                "--format",
                "json",
                env=filled_db,
            )
        ).stdout
    )
    assert len(limited) == 1
    shouted = seed.CROSS_SHORT_SOL.upper().replace("0X", "0x")
    pnl = await run_cli(
        "query",
        "--name",
        "pnl_over_time",
        "--param",
        f"address={shouted}",
        "--format",
        "json",
        env=filled_db,
    )
    assert pnl.code == 0, pnl.stderr
    assert len(json.loads(pnl.stdout)) == 1  # an ADDRESS is normalised before it is bound
    bare = await run_cli(
        "query", "--name", "pnl_over_time", "--param", f"address={shouted[2:]}", env=filled_db
    )
    assert bare.code == 2 and "is not an address" in bare.stderr  # no 0x: refused, not guessed


async def test_named_query_errors(filled_db):
    unknown = await run_cli("query", "--name", "nope", env=filled_db)
    assert unknown.code == 2 and "no named query" in unknown.stderr
    bad_param = await run_cli("query", "--name", "largest_positions", "--param", "x", env=filled_db)
    assert bad_param.code == 2 and "key=value" in bad_param.stderr
    wrong = await run_cli(
        "query", "--name", "largest_positions", "--param", "lmit=3", env=filled_db
    )
    assert wrong.code == 2 and "takes no parameter 'lmit'" in wrong.stderr
    refused = await run_cli(
        "query",
        "--name",
        "pnl_over_time",
        "--param",
        "address=x'; drop table positions; --",
        env=filled_db,
    )
    assert refused.code == 2 and "is not an address" in refused.stderr
    injection = await run_cli(  # TEXT takes anything printable, and binds it as data
        "query",
        "--name",
        "chain_cursors",
        "--param",
        "stream=x'; drop table positions; --",
        "--format",
        "csv",
        env=filled_db,
    )
    assert injection.code == 0 and injection.stdout.startswith("chain_id,stream,")
    count = await run_cli(
        "query", "select count(*) from positions", "--format", "csv", env=filled_db
    )
    assert count.stdout.splitlines()[1] == "3"


async def test_missing_database_is_bad_input(tmp_path):
    env = tracker_env("http://127.0.0.1:9", tmp_path / "absent.duckdb")
    result = await run_cli("query", "select 1", env=env)
    assert result.code == 2 and "no database" in result.stderr
    assert not (tmp_path / "absent.duckdb").exists()
