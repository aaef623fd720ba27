"""Security: read-only by design, secrets never shown or stored, `tracker query` contained.

- A configured value that looks like a private key or seed phrase is refused with an explanation
  and without echoing it; the user's own shell variables outside TRACKER_* are left alone.
- Secrets (a key in the RPC URL, tokens in webhook URLs, the Telegram bot token) never appear in
  stdout, stderr (DEBUG logs included), files the tracker writes, or any text column of the
  DuckDB file, even when the failing endpoint echoes the token back in its error body.
- `tracker query` without --write is read-only for the database and has DuckDB's external access
  off: no COPY TO, EXPORT, ATTACH, INSTALL/LOAD, and no reading of local files or URLs. What
  still runs read-only changes nothing on disk (the file stays byte-identical).
- Named-query parameters are bound: an injection string is data.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from tests.alert_receiver import Reply
from tests.conftest import run_cli, tracker_env
from tests.fakes import seed
from tests.test_bad_input import disk, run_tracker
from tests.test_liquidations import ETH_SIZE, WHALE, crash_fills, model_whale
from tracker.store import open_store

KEY = "0x" + hashlib.sha256(b"tracker security tests: not a real key").hexdigest()
SEED_PHRASE = (
    "legal winner thank year wave sausage worth useful legal winner thank yellow"  # BIP-39 vector
)
RPC_KEY = "9f3c1e7a5b2d4f6081a3c5e7b9d1f3a5"  # Infura-like: 32 hex digits
HOOK_TOKEN = "whk_Tok3n-5ecret-0123456789abcdef"
DISCORD_TOKEN = "Dsc0rdT0ken_abcdefghijklmnopqrstuvwxyz-0123456789"
SLACK_TOKEN = "xoxbSlackT0kenAbCdEfGhIjKlMn"
TG_TOKEN = "7312345678:AAF-TelegramBotT0ken_0123456789abcd"
SECRETS = [RPC_KEY, HOOK_TOKEN, DISCORD_TOKEN, SLACK_TOKEN, TG_TOKEN, TG_TOKEN.split(":")[1]]


def leaks(text: str) -> list[str]:
    """Secrets (or a 12-character piece of one) found in text."""
    found = []
    for secret in SECRETS:
        pieces = {secret[i : i + 12] for i in range(0, len(secret) - 11, 6)}
        if secret in text or any(p in text for p in pieces):
            found.append(secret[:6] + "…")
    return found


def db_text_leaks(db: Path) -> dict[str, list[str]]:
    """Every text column of every table and view of the DuckDB file, scanned for the secrets."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'main' and data_type in ('VARCHAR', 'JSON')"
        ).fetchall()
        found: dict[str, list[str]] = {}
        for table, column in columns:
            rows = con.execute(f'select distinct "{column}"::varchar from "{table}"').fetchall()
            text = "\n".join(str(r[0]) for r in rows if r[0] is not None)
            if hit := leaks(text):
                found[f"{table}.{column}"] = hit
        return found
    finally:
        con.close()


# --- private keys -----------------------------------------------------------------------------

KEY_FORMS = {
    "hex-0x-in-url-variable": ({"TRACKER_ETH_RPC_URL": KEY}, None),
    "hex-bare-in-token-variable": ({"TRACKER_TELEGRAM_BOT_TOKEN": KEY[2:]}, None),
    "named-private-key": ({"TRACKER_PRIVATE_KEY": "anything at all"}, None),
    "seed-phrase": ({"TRACKER_WEBHOOK_URL": SEED_PHRASE}, None),
    "dotenv-tracker-name": ({}, f"TRACKER_SIGNER={KEY}\n"),
    "dotenv-any-name": ({}, f"PRIVATE_KEY={KEY}\n"),
}


@pytest.mark.parametrize("form", list(KEY_FORMS))
async def test_a_private_key_is_refused_with_an_explanation_and_not_echoed(form, tmp_path):
    extra, dotenv = KEY_FORMS[form]
    env = tracker_env("http://127.0.0.1:9", tmp_path / "t.duckdb", **extra)
    if dotenv is not None:
        (tmp_path / "k.env").write_text(dotenv)
        env["TRACKER_ENV_FILE"] = str(tmp_path / "k.env")
    before = disk(tmp_path)
    result = await run_cli("watch", seed.CROSS_SHORT_SOL, "--once", env=env)
    assert result.code == 2, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith("error: "), line
    assert "read-only" in line and "never needs" in line, line
    assert "not shown" in line
    for secret in (KEY[2:], SEED_PHRASE):
        assert not any(secret[i : i + 10] in result.stdout + line for i in range(len(secret) - 9))
    assert disk(tmp_path) == before  # no database was created


async def test_keys_in_the_users_own_shell_variables_are_not_our_business(tmp_path):
    env = tracker_env("http://127.0.0.1:9", tmp_path / "t.duckdb", ETH_PRIVATE_KEY=KEY)
    env["MNEMONIC"] = SEED_PHRASE
    result = await run_cli("status", "--json", env=env)
    assert result.code == 0, result.stderr


# --- secrets in logs, errors, files and the database ------------------------------------------


@pytest.fixture
def secret_env(hl_fake, alert_receiver, tmp_path):
    """Every sink and the RPC configured with secrets, every one of them failing, DEBUG logs."""
    receiver = alert_receiver
    down = Reply(status=500, text="upstream error")

    def echo(token: str) -> Reply:  # a server that repeats the secret in its refusal
        return Reply(status=401, text=f"invalid token {token} for /hook/{token}")

    receiver.script(f"/hook/{HOOK_TOKEN}", then=echo(HOOK_TOKEN))
    receiver.script(f"/api/webhooks/123/{DISCORD_TOKEN}", then=down)
    receiver.script(f"/services/T0/B0/{SLACK_TOKEN}", then=echo(SLACK_TOKEN))
    receiver.script(f"/bot{TG_TOKEN}/sendMessage", then=echo(TG_TOKEN))
    receiver.script(f"/v3/{RPC_KEY}", then=Reply(status=500, text=f"no such project {RPC_KEY}"))
    watchlist = tmp_path / "w.toml"
    watchlist.write_text(
        f'[[address]]\naddress = "{WHALE}"\nlabel = "whale"\n'
        'venues = ["hyperliquid", "ethereum"]\n\n'
        f'[[address]]\naddress = "{seed.CROSS_SHORT_SOL}"\nlabel = "sol"\n'
    )
    env = tracker_env(
        hl_fake.url,
        tmp_path / "t.duckdb",
        TRACKER_LOG_LEVEL="DEBUG",
        TRACKER_HTTP_RETRIES="1",
        TRACKER_ETH_RPC_URL=f"{receiver.url}/v3/{RPC_KEY}",
        TRACKER_WEBHOOK_URL=f"{receiver.url}/hook/{HOOK_TOKEN}",
        TRACKER_DISCORD_WEBHOOK_URL=f"{receiver.url}/api/webhooks/123/{DISCORD_TOKEN}",
        TRACKER_SLACK_WEBHOOK_URL=f"{receiver.url}/services/T0/B0/{SLACK_TOKEN}",
        TRACKER_TELEGRAM_BOT_TOKEN=TG_TOKEN,
        TRACKER_TELEGRAM_CHAT_ID="42",
        TRACKER_TELEGRAM_API_URL=receiver.url,
        TRACKER_ALERTS_JSONL=str(tmp_path / "alerts.jsonl"),
    )
    fills, _, _, _ = crash_fills()
    model_whale(hl_fake, ETH_SIZE)
    hl_fake.put_fills(WHALE, list(reversed(fills)))
    hl_fake.put_model_account(WHALE, "1000", positions=[])  # liquidated: a large alert
    return env, watchlist


async def test_secrets_never_reach_output_files_or_the_database(
    secret_env, alert_receiver, tmp_path
):
    env, watchlist = secret_env
    rpc_down = {**env, "TRACKER_ETH_RPC_URL": f"http://127.0.0.1:9/v3/{RPC_KEY}"}  # refused
    results = [
        await run_cli("snapshot", "-w", str(watchlist), "--json", env=env),
        await run_cli("watch", WHALE, "--once", "--json", env=env),
        await run_cli("watch", WHALE, "--once", env=rpc_down),
        await run_cli("alerts", "--json", env=env),
        await run_cli("liquidations", "--json", env=env),
        await run_cli("status", "--json", env=env),
    ]
    for result in results:
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        assert not leaks(result.stdout), result.stdout[-3000:]
        assert not leaks(result.stderr), result.stderr[-3000:]
    # The failure paths ran: every endpoint was called and refused, DEBUG lines were written.
    paths = {r.path for r in alert_receiver.requests}
    assert {
        f"/hook/{HOOK_TOKEN}",
        f"/api/webhooks/123/{DISCORD_TOKEN}",
        f"/services/T0/B0/{SLACK_TOKEN}",
        f"/bot{TG_TOKEN}/sendMessage",
        f"/v3/{RPC_KEY}",
    } <= paths
    assert "DEBUG" in results[0].stderr
    for path in (p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".toml"):
        assert not leaks(path.read_bytes().decode("utf-8", "replace")), path
    db = tmp_path / "t.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    failed = con.execute(
        "select sink, error from alert_deliveries where not ok and error is not null"
    ).fetchall()
    con.close()
    assert {sink for sink, _ in failed} >= {"webhook", "discord", "slack", "telegram"}, failed
    assert db_text_leaks(db) == {}


async def test_status_shows_endpoints_redacted(tmp_path):
    hl_token = "hl0123456789abcdefTOKEN"
    env = tracker_env(
        f"http://127.0.0.1:9/{hl_token}",
        tmp_path / "t.duckdb",
        TRACKER_ETH_RPC_URL=f"https://user:pa55word@eth.example.com/v3/{RPC_KEY}?key={RPC_KEY}",
    )
    result = await run_cli("status", "--json", env=env)
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["endpoints"]["ethereum_rpc"].startswith("https://***@eth.example.com/v3/***")
    for secret in (RPC_KEY, hl_token, "pa55word"):
        assert secret not in result.stdout + result.stderr


# --- tracker query: read-only unless --write --------------------------------------------------

REFUSED = {
    "delete": "delete from positions",
    "drop": "drop table positions",
    "insert": "insert into schema_migrations values (99, 'x', now())",
    "update": "update snapshot_runs set command = 'x'",
    "create": "create table x (a int)",
    "alter": "alter table positions add column x int",
    "copy-to": "copy positions to '{dir}/out.csv'",
    "copy-from": "copy positions from '{dir}/in.csv'",
    "export-database": "export database '{dir}/exported'",
    "import-database": "import database '{dir}'",
    "attach": "attach '{dir}/other.duckdb' as other",
    "install": "install httpfs",
    "load": "load httpfs",
    "pragma-import": "pragma import_database('{dir}')",
    "set-external-access": "set enable_external_access = true",
    "read-text": "select content from read_text('/etc/hostname')",
    "read-csv": "select * from read_csv('/etc/passwd')",
    "glob": "select * from glob('/etc/*')",
    "url": "select * from read_csv('http://127.0.0.1:9/x.csv')",
}
ALLOWED = {  # they run read-only and change nothing on disk
    "select": "select count(*) from positions",
    "pragma": "pragma version",
    "set": "set threads = 1",
    "call": "call pragma_version()",
    "checkpoint": "checkpoint",
    "temp-table": "create temp table scratch as select 1 as a",
}


async def test_query_is_read_only_and_contained_without_write(tmp_path):
    db = tmp_path / "data" / "t.duckdb"
    db.parent.mkdir()
    con = duckdb.connect(str(db))
    con.execute("create table positions (coin varchar)")
    con.execute("insert into positions values ('ETH')")
    con.close()
    (tmp_path / "data" / "in.csv").write_text("coin\nBTC\n")
    env = tracker_env("http://127.0.0.1:9", db)
    before = disk(tmp_path)
    work = str(tmp_path / "data")

    async def run(sql: str):
        return await run_tracker("query", sql.replace("{dir}", work), env=env, timeout=60)

    refused = dict(zip(REFUSED, await asyncio.gather(*map(run, REFUSED.values())), strict=True))
    allowed = dict(zip(ALLOWED, await asyncio.gather(*map(run, ALLOWED.values())), strict=True))
    problems = [
        f"{name}: exit {r.code}: {r.stdout[:200]}{r.stderr[:300]}"
        for name, r in refused.items()
        if r.code != 2 or len(r.stderr.strip().splitlines()) != 1 or "Traceback" in r.stderr
    ]
    problems += [
        f"{name}: exit {r.code}: {r.stderr[:300]}" for name, r in allowed.items() if r.code
    ]
    assert not problems, "\n".join(problems)
    assert "/etc" not in refused["read-text"].stdout and "root:" not in refused["read-csv"].stdout
    assert "--write" in refused["delete"].stderr and "--write" in refused["copy-to"].stderr
    assert disk(tmp_path) == before  # the DB byte-identical, no file created


async def test_write_gives_full_access_on_purpose(tmp_path):
    db = tmp_path / "t.duckdb"
    with open_store(db):
        pass
    env = tracker_env("http://127.0.0.1:9", db)
    out = tmp_path / "out.csv"
    sql = f"copy (select 'ETH' as coin) to '{out}'"
    assert (await run_cli("query", sql, env=env)).code == 2
    copied = await run_cli("query", sql, "--write", env=env)
    assert copied.code == 0, copied.stderr
    assert out.read_text().splitlines() == ["coin", "ETH"]


# --- named-query parameters are bound ---------------------------------------------------------


@pytest.fixture
async def stored(hl_fake, tmp_path):
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb")
    for address in (seed.CROSS_SHORT_SOL, seed.ISOLATED_SHORT_HYPE):
        result = await run_cli("watch", address, "--once", env=env)
        assert result.code == 0, result.stderr
    return env


INJECTIONS = [
    f"{seed.CROSS_SHORT_SOL}' OR '1'='1",
    f"{seed.CROSS_SHORT_SOL}'; DROP TABLE positions; --",
    "' UNION SELECT * FROM account_snapshots --",
]


async def test_named_query_parameters_are_data_never_sql(stored, tmp_path):
    def named(name: str, *params: str):
        args = ["query", "--name", name, "--format", "json"]
        for p in params:
            args += ["--param", p]
        return run_tracker(*args, env=stored, timeout=60)

    control = await named("pnl_over_time", f"address={seed.CROSS_SHORT_SOL}")
    assert control.code == 0 and json.loads(control.stdout), control.stderr
    for injection in INJECTIONS:
        # An ADDRESS is checked before DuckDB sees it; TEXT is bound as data and matches nothing.
        refused = await named("pnl_over_time", f"address={injection}")
        assert refused.code == 2 and "is not an address" in refused.stderr, refused.stderr
        result = await named("chain_cursors", f"stream={injection}")
        assert result.code == 0, result.stderr
        assert json.loads(result.stdout) == [], injection
    limit = await run_tracker(
        "query",
        "--name",
        "largest_positions",
        "--param",
        "limit=1); DROP TABLE positions; --",
        env=stored,
        timeout=60,
    )
    assert limit.code == 2 and "is not a whole number" in limit.stderr, limit.stderr
    exported = await run_tracker(
        "export",
        "--name",
        "chain_cursors",
        "--param",
        f"stream={INJECTIONS[1]}",
        "--out",
        str(tmp_path / "x.csv"),
        env=stored,
        timeout=60,
    )
    assert exported.code == 0 and "wrote 0 rows" in exported.stdout, exported.stderr
    count = await run_cli("query", "select count(*) from positions", "--format", "csv", env=stored)
    assert count.stdout.splitlines()[1] == "3"  # nothing dropped
