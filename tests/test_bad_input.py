"""Bad input to every command: exit 2, one `error:` line, no traceback, nothing changed on disk.

Each case is the real CLI as a process (`python -m tracker`, as `tests.conftest.run_cli` runs it)
in a folder of its own holding a watchlists folder (`wl/good.toml`) and a migrated DuckDB file
(`db.duckdb`); the venue is a closed local port, so a case that gets past validation fails fast
(exit 1) instead of reaching anything. Every file under the folder (name, size, mtime, SHA-256)
is compared before and after. The cases run concurrently (one process per core at a time) once
per module; each is then reported as its own test. A known bug whose fix belongs to a module being
edited elsewhere is xfail(strict=True) with the reason, so the test flips once it is fixed.

Decisions the matrix encodes:
- A DuckDB path that cannot hold a database (a folder, a file that is not DuckDB, a path through
  a file) is bad input (2); a real DuckDB file that is damaged is a store failure (1).
- Settings are validated by every command that reads them; `tracker watchlist` reads only the
  watchlists folder, so a garbage TRACKER_HTTP_TIMEOUT does not stop it, but a private key does.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import REPO, CliResult, start_cli, tracker_env
from tracker.store import open_store

CLOSED = "http://127.0.0.1:9"  # nothing listens: a case that gets this far fails at once
ADDR = "0xb317d2bc2d3d2df5fa441b5bae0ab9d8b07283ae"
OTHER = "0x00000000000000000000000000000000000b0b0b"
NEW = "0x00000000000000000000000000000000000c0c0c"
# 64 hex digits, as a private key is written (a hash of a phrase: no key of anybody's).
KEY = "0x" + hashlib.sha256(b"tracker tests: not a real key").hexdigest()
KEY_PART = KEY[10:30]  # no output may hold any of it
CASE_TIMEOUT_S = 30.0

GOOD_TOML = f"""description = "good"

[[address]]
address = "{ADDR}"
label = "whale"

[[address]]
address = "{OTHER}"
label = "other"
venues = ["hyperliquid", "ethereum"]
"""


# --- running a case -----------------------------------------------------------------------------


async def run_tracker(*args: str, env: Mapping[str, str], timeout: float) -> CliResult:
    """`python -m tracker ARGS` like conftest.run_cli, but the process is killed on timeout
    (run_cli leaves it running, and a `tracker run` that missed its bad input never stops)."""
    proc = await start_cli(*args, env=env)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        return CliResult(-9, out.decode(), err.decode() + f"\n(killed after {timeout:g} s)")
    assert proc.returncode is not None
    return CliResult(proc.returncode, out.decode(), err.decode())


def disk(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every file and folder under root: kind, size, mtime and SHA-256 of files."""
    state: dict[str, tuple[Any, ...]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_dir():
            state[rel] = ("dir",)
            continue
        stat = path.stat()
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:  # unreadable on purpose (a permissions case)
            digest = None
        state[rel] = ("file", stat.st_size, stat.st_mtime_ns, digest)
    return state


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Paths created, removed or changed, for a readable failure."""
    return [
        f"{'+' if p not in before else '-' if p not in after else '~'} {p}"
        for p in sorted(before.keys() | after.keys())
        if before.get(p) != after.get(p)
    ]


Setup = Callable[[Path], None]


@dataclass(frozen=True, slots=True)
class Case:
    """One bad input. `{dir}` in args and env stands for the case's folder."""

    id: str
    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    setup: Setup | None = None
    says: str | None = None  # the error line holds this
    hides: str | None = None  # stdout and stderr never hold this
    code: int = 2
    xfail: str | None = None
    needs_non_root: bool = False  # a permissions case: root reads everything


@dataclass(frozen=True, slots=True)
class Outcome:
    result: CliResult
    before: dict[str, Any]
    after: dict[str, Any]
    seconds: float


def base_env(folder: Path) -> dict[str, str]:
    env = tracker_env(
        CLOSED,
        folder / "db.duckdb",
        TRACKER_WATCHLISTS_DIR=str(folder / "wl"),
        TRACKER_HTTP_RETRIES="0",
        TRACKER_HTTP_TIMEOUT="2",
    )
    env["XDG_DATA_HOME"] = str(folder / "xdg")  # where the default DB would go
    return env


def prepare(folder: Path, template: Path) -> None:
    (folder / "wl").mkdir(parents=True)
    (folder / "xdg").mkdir()
    (folder / "wl" / "good.toml").write_text(GOOD_TOML)
    shutil.copyfile(template, folder / "db.duckdb")


def expand(text: str, folder: Path) -> str:
    return text.replace("{dir}", str(folder))


async def run_case(case: Case, root: Path, template: Path, slots: asyncio.Semaphore) -> Outcome:
    folder = root / case.id
    prepare(folder, template)
    if case.setup is not None:
        case.setup(folder)
    before = disk(folder)
    env = base_env(folder) | {k: expand(v, folder) for k, v in case.env.items()}
    args = [expand(a, folder) for a in case.args]
    async with slots:
        started = time.monotonic()
        result = await run_tracker(*args, env=env, timeout=CASE_TIMEOUT_S)
        seconds = time.monotonic() - started
    return Outcome(result, before, disk(folder), seconds)


async def run_all(cases: Sequence[Case], root: Path, template: Path) -> dict[str, Outcome]:
    slots = asyncio.Semaphore(os.cpu_count() or 2)
    done = await asyncio.gather(*(run_case(c, root, template, slots) for c in cases))
    return {case.id: outcome for case, outcome in zip(cases, done, strict=True)}


def make_template(path: Path) -> Path:
    """A migrated, empty store (what a first `tracker snapshot` leaves before any account)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_store(path):
        pass
    return path


# --- setups -------------------------------------------------------------------------------------


def write(rel: str, content: str | bytes) -> Setup:
    def setup(folder: Path) -> None:
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)

    return setup


def mkdir(rel: str) -> Setup:
    return lambda folder: (folder / rel).mkdir(parents=True)


def remove_db(folder: Path) -> None:
    (folder / "db.duckdb").unlink()


def truncate_db(folder: Path) -> None:
    db = folder / "db.duckdb"
    db.write_bytes(db.read_bytes()[:4096])


def chmod(rel: str, mode: int) -> Setup:
    return lambda folder: (folder / rel).chmod(mode)


def entry(address: str, label: str | None = "x", **extra: str) -> str:
    lines = ["[[address]]", f'address = "{address}"']
    if label is not None:
        lines.append(f'label = "{label}"')
    lines += [f"{k} = {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n\n"


# --- the matrix ---------------------------------------------------------------------------------

# Every command with arguments that would be accepted; a case adds or changes one thing.
COMMANDS: dict[str, tuple[str, ...]] = {
    "watch": ("watch", ADDR, "--once"),
    "snapshot": ("snapshot",),
    "run": ("run", "--interval", "60"),
    "run-no-live": ("run", "--no-live", "--interval", "60"),
    "status": ("status",),
    "entity-list": ("entity", "list"),
    "entity-show": ("entity", "show", "1011 whale"),
    "query": ("query", "select 1"),
    "watchlist-list": ("watchlist", "list"),
    "watchlist-show": ("watchlist", "show", "good"),
    "watchlist-add": ("watchlist", "add", "good", NEW, "--label", "new"),
    "watchlist-remove": ("watchlist", "remove", "good", OTHER),
    "liquidations": ("liquidations",),
    "alerts": ("alerts",),
    "chart": ("chart", ADDR, "--out", "{dir}/c.png"),
    "liqmap": ("liqmap", "ETH"),
    "export": ("export", "positions", "--out", "{dir}/p.csv"),
    "report": ("report", "--out", "{dir}/report"),
    "db-compat": ("db", "compat"),
    "discover": ("discover", "--min-account-value", "1000000"),
    "market": ("market", "ETH"),
    "serve": ("serve", "--port", "0"),
}
# The commands that read Settings (every TRACKER_* variable is validated by these).
SETTINGS_COMMANDS = [
    "watch",
    "snapshot",
    "run",
    "query",
    "status",
    "liquidations",
    "alerts",
    "chart",
    "liqmap",
    "export",
    "report",
    "discover",
]


def unknown_flags() -> list[Case]:
    # click parses every command's options alike: a command, a sub-command and the root.
    shapes = {"run": COMMANDS["run"], "watchlist-add": COMMANDS["watchlist-add"], "root": ()}
    return [Case(f"flag-{n}", (*args, "--bogus"), says="--bogus") for n, args in shapes.items()]


def private_keys() -> list[Case]:
    names = [
        "TRACKER_ETH_RPC_URL",
        "TRACKER_WEBHOOK_URL",
        "TRACKER_TELEGRAM_BOT_TOKEN",
        "TRACKER_X",
    ]
    cases = [
        Case(
            f"key-{n}",
            args,
            env={names[i % len(names)]: KEY},
            says="read-only",
            hides=KEY_PART,
        )
        for i, (n, args) in enumerate(COMMANDS.items())
    ]
    cases.append(
        Case(
            "key-query-list",
            ("query", "--list"),
            env={"TRACKER_X": KEY},
            says="read-only",
            hides=KEY_PART,
        )
    )
    return cases


ENV_GARBAGE = [
    ("TRACKER_HL_API_URL", "not a url"),
    ("TRACKER_HL_WS_URL", "ftp://example.com/ws"),
    ("TRACKER_HL_STATS_URL", "stats-data"),
    ("TRACKER_HL_WEIGHT_PER_MIN", "lots"),
    ("TRACKER_HL_DEXES", "main,FLX!"),
    ("TRACKER_HL_CONCURRENCY", "0"),
    ("TRACKER_HTTP_TIMEOUT", "-5"),
    ("TRACKER_HTTP_RETRIES", "2.5"),
    ("TRACKER_MARKETS_TTL", "soon"),
    ("TRACKER_HISTORY_MAX_AGE", "nan"),
    ("TRACKER_FUNDING_MAX_AGE", "0"),
    ("TRACKER_ETH_RPC_URL", "localhost:8545"),
    ("TRACKER_ETH_CHAIN_ID", "mainnet"),
    ("TRACKER_ETH_TOKENS", "WETH:0x123"),
    ("TRACKER_ETH_CONFIRMATIONS", "-1"),
    ("TRACKER_ETH_LOOKBACK_BLOCKS", "1e3"),
    ("TRACKER_ETH_LOG_CHUNK_BLOCKS", "0"),
    ("TRACKER_AAVE_POOL_ADDRESSES_PROVIDER", "0x2f39"),
    ("TRACKER_TRANSFER_MIN_USD", "-1"),
    ("TRACKER_LARGE_LIQUIDATION_USD", "a million"),
    ("TRACKER_NEAR_LIQ_PCT", "5,150"),
    ("TRACKER_FOLLOW_LIQUIDATORS", "maybe"),
    ("TRACKER_LIQUIDATION_GAP", "15m"),
    ("TRACKER_WEBHOOK_URL", "hooks.example.com/x"),
    ("TRACKER_DISCORD_WEBHOOK_URL", "discord"),
    ("TRACKER_SLACK_WEBHOOK_URL", "https://"),
    ("TRACKER_TELEGRAM_API_URL", "api.telegram.org"),
    ("TRACKER_LOG_LEVEL", "LOUD"),
    ("TRACKER_POSITION_ALERT_USD", "1M"),
    ("TRACKER_POSITION_ALERT_COOLDOWN", "a minute"),
]


def environment_values() -> list[Case]:
    # Each variable against one command, the commands taken in turn: every command and every
    # variable is covered without running the whole product.
    cases = [
        Case(
            f"env-{name.removeprefix('TRACKER_').lower()}",
            COMMANDS[SETTINGS_COMMANDS[i % len(SETTINGS_COMMANDS)]],
            env={name: value},
            says=name,
        )
        for i, (name, value) in enumerate(ENV_GARBAGE)
    ]
    dotenv = {"TRACKER_ENV_FILE": "{dir}/bad.env"}
    token = "T0KEN-abcdefghijklmnop1234"
    return [
        *cases,
        Case(
            "dotenv-garbage-line",
            COMMANDS["query"],
            env=dotenv,
            setup=write("bad.env", "TRACKER_HTTP_TIMEOUT=3\nthis is not a setting\n"),
            says="line 2",
        ),
        Case(
            "dotenv-no-equals",
            COMMANDS["snapshot"],
            env=dotenv,
            setup=write("bad.env", "TRACKER_LOG_LEVEL\n"),
            says="line 1",
        ),
        Case(
            "dotenv-pasted-url",
            COMMANDS["alerts"],
            env=dotenv,
            setup=write("bad.env", f"https://hooks.example.com/{token}\n"),
            says="bad.env",
            hides=token,
        ),
        Case(
            "dotenv-not-utf8",
            COMMANDS["watchlist-show"],
            env=dotenv,
            setup=write("bad.env", b"TRACKER_LOG_LEVEL=\xff\xfe\n"),
            says="cannot read",
        ),
        Case(
            "dotenv-bad-value",
            COMMANDS["liqmap"],
            env=dotenv,
            setup=write("bad.env", "TRACKER_MARKETS_TTL=many\n"),
            says="TRACKER_MARKETS_TTL",
        ),
        Case(
            "dotenv-key-any-name",
            COMMANDS["watchlist-list"],
            env=dotenv,
            setup=write("bad.env", f"PRIVATE_KEY={KEY}\n"),
            says="read-only",
            hides=KEY_PART,
        ),
    ]


def addresses() -> list[Case]:
    bad = {
        "long": "0x" + "a" * 41,
        "nonhex": "0x" + "g" * 40,
        "noprefix": ADDR[2:],
        "empty": "",
    }
    cases = [Case(f"address-watch-{k}", ("watch", v, "--once")) for k, v in bad.items()]
    return [
        *cases,
        Case("address-watch-key", ("watch", KEY, "--once"), says="not shown", hides=KEY_PART),
        Case("address-chart", ("chart", "0x123", "--out", "{dir}/c.png"), says="not an address"),
        Case("address-liquidations", ("liquidations", "--address", "0xzz"), says="not an address"),
        Case(
            "address-watchlist-add",
            ("watchlist", "add", "good", "0x123", "--label", "x"),
            says="not an address",
        ),
        Case(
            "address-watchlist-add-key",
            ("watchlist", "add", "good", KEY, "--label", "x"),
            says="not shown",
            hides=KEY_PART,
        ),
        Case("address-watchlist-remove", ("watchlist", "remove", "good", "0x123")),
    ]


def usage() -> list[Case]:
    missing = [
        ("watch", ("watch",)),
        ("chart-out", ("chart", ADDR)),
        ("watchlist-add-label", ("watchlist", "add", "good", NEW)),
        ("query", ("query",)),  # neither SQL nor --name: ours, not click's
    ]
    numbers = [
        ("watch-interval-0", ("watch", ADDR, "--interval", "0"), "--interval"),
        ("run-interval-0", ("run", "--interval", "0"), "--interval"),
        ("liquidations-min-usd-negative", ("liquidations", "--min-usd", "-1"), "--min-usd"),
        ("liqmap-buckets-0", ("liqmap", "ETH", "--buckets", "0"), "--buckets"),
        ("alerts-limit-0", ("alerts", "--limit", "0"), "--limit"),
        ("liquidations-since", ("liquidations", "--since", "yesterday"), "--since"),
        ("chart-since", ("chart", ADDR, "--out", "{dir}/c.png", "--since", "nope"), "--since"),
        ("query-format", ("query", "select 1", "--format", "xml"), "--format"),
    ]
    return [
        *(Case(f"missing-{n}", args) for n, args in missing),
        *(Case(f"number-{n}", args, says=says) for n, args, says in numbers),
        Case("command-unknown", ("nosuch",), says="nosuch"),
        Case("command-unknown-watchlist", ("watchlist", "nosuch"), says="nosuch"),
        Case("command-bare", ()),
        Case("command-bare-watchlist", ("watchlist",)),
    ]


def queries() -> list[Case]:
    return [
        Case("query-unknown-name", ("query", "--name", "nope"), says="no named query"),
        Case(
            "query-param-no-equals",
            ("query", "--name", "largest_positions", "--param", "limit"),
            says="key=value",
        ),
        Case(
            "query-param-unknown",
            ("query", "--name", "largest_positions", "--param", "lmit=3"),
            says="lmit",
        ),
        Case(
            "query-param-not-a-number",
            ("query", "--name", "largest_positions", "--param", "limit=abc"),
            says="--param limit: 'abc' is not a whole number",
        ),
        Case(
            "query-param-out-of-bounds",
            ("query", "--name", "largest_positions", "--param", "limit=0"),
            says="--param limit: '0' is below 1",
        ),
        Case(
            "query-param-twice",
            ("query", "--name", "largest_positions", "--param", "limit=1", "--param", "limit=2"),
            says="--param limit is given twice",
        ),
        Case(
            "query-param-missing",
            ("query", "--name", "pnl_over_time"),
            says="needs --param address=",
        ),
        Case(
            "query-param-not-an-address",
            ("query", "--name", "pnl_over_time", "--param", f"address={ADDR[2:]}"),
            says="is not an address",
        ),
        Case(
            "query-param-key-as-address",
            ("query", "--name", "pnl_over_time", "--param", f"address={KEY}"),
            says="not shown",
            hides=KEY_PART,
        ),
        Case(
            "export-param-not-a-number",
            (
                "export",
                "--name",
                "largest_positions",
                "--param",
                "limit=abc",
                "--out",
                "{dir}/x.csv",
            ),
            says="--param limit: 'abc' is not a whole number",
        ),
        Case("query-syntax", ("query", "selec 1")),
        Case("query-unknown-table", ("query", "select * from nowhere"), says="nowhere"),
        Case("query-delete", ("query", "delete from positions"), says="--write"),
        Case("query-copy-to", ("query", "copy positions to '{dir}/out.csv'"), says="--write"),
        Case("query-read-file", ("query", "select * from read_text('/etc/hostname')")),
    ]


def databases() -> list[Case]:
    readers = ["query", "liqmap", "report"]  # views, charts, reports: one path each
    not_duckdb = write("db.duckdb", "this is not a database\n")
    return [
        *(
            Case(f"db-missing-{n}", COMMANDS[n], setup=remove_db, says="no database")
            for n in readers
        ),
        *(
            Case(f"db-not-duckdb-{n}", COMMANDS[n], setup=not_duckdb, says="not a DuckDB")
            for n in ["watch", "run-no-live", "query", "alerts", "status"]
        ),
        Case(
            "db-not-duckdb-run-live",
            COMMANDS["run"],
            setup=not_duckdb,
            says="not a DuckDB",
        ),
        Case(
            "db-empty-file",
            COMMANDS["export"],
            setup=write("db.duckdb", b""),
            says="not a DuckDB",
        ),
        Case(
            "db-folder-query",
            (*COMMANDS["query"], "--db", "{dir}/folder"),
            setup=mkdir("folder"),
            says="folder",
        ),
        Case(
            "db-folder-run-env",
            COMMANDS["run-no-live"],
            env={"TRACKER_DB": "{dir}/folder"},
            setup=mkdir("folder"),
            says="folder",
        ),
        Case(
            "db-through-a-file-watch",
            (*COMMANDS["watch"], "--db", "{dir}/wl/good.toml/t.duckdb"),
            says="is a file",
        ),
        Case(
            "db-through-a-file-query",
            (*COMMANDS["query"], "--db", "{dir}/wl/good.toml/t.duckdb"),
            says="no database",
        ),
        Case(
            "db-unreadable",
            COMMANDS["query"],
            setup=chmod("db.duckdb", 0),
            needs_non_root=True,
        ),
        # Damaged, not bad input: the right file, broken (a store failure, exit 1).
        Case("db-truncated", COMMANDS["alerts"], setup=truncate_db, says="cannot open", code=1),
    ]


BAD_WATCHLISTS = {
    "malformed": f'[[address]\naddress = "{ADDR}"\n',
    "duplicate": entry(ADDR) + entry(ADDR.upper().replace("0X", "0x")),
    "unknown-venue": entry(ADDR, venues='["solana"]'),
    "bad-confidence": entry(ADDR, confidence='"Z"'),
    "missing-label": entry(ADDR, label=None),
    "bad-address": entry("0x123"),
    "key-as-address": entry(KEY),
    "negative-interval": "interval = -5\n\n" + entry(ADDR),
    "address-not-tables": 'address = "x"\n',
    "key-twice": 'description = "a"\ndescription = "b"\n',
}
WATCHLIST_READERS = [
    ("watchlist", "show", "bad"),
    ("watchlist", "list"),
    ("snapshot",),
    ("snapshot", "-w", "bad"),
    ("run", "-w", "bad"),
    ("report", "--out", "{dir}/report", "-w", "bad"),
    ("watchlist", "add", "bad", NEW, "--label", "x"),
    ("watchlist", "remove", "bad", ADDR),
]


def watchlist_cases() -> list[Case]:
    files = [
        Case(
            f"watchlist-{kind}",
            WATCHLIST_READERS[i % len(WATCHLIST_READERS)],
            setup=write("wl/bad.toml", text),
            says="bad.toml",
            hides=KEY_PART,
        )
        for i, (kind, text) in enumerate(BAD_WATCHLISTS.items())
    ]
    return [
        *files,
        Case(
            "watchlist-not-utf8",
            ("watchlist", "show", "bad"),
            setup=write("wl/bad.toml", b'description = "\xff"\n'),
            says="UTF-8",
        ),
        Case(
            "watchlist-add-unknown-venue",
            (*COMMANDS["watchlist-add"], "--venue", "solana"),
            says="solana",
        ),
        Case(
            "watchlist-add-bad-confidence",
            (*COMMANDS["watchlist-add"], "--confidence", "Z"),
            says="confidence",
        ),
        Case(
            "watchlist-add-duplicate",
            ("watchlist", "add", "good", ADDR.upper().replace("0X", "0x"), "--label", "again"),
            says="already",
        ),
        Case(
            "watchlist-add-no-folder",
            ("watchlist", "add", "new", NEW, "--label", "x", "--dir", "{dir}/nope"),
            says="cannot write",
        ),
        Case("watchlist-remove-absent", ("watchlist", "remove", "good", NEW), says="not in"),
        Case("watchlist-show-absent", ("watchlist", "show", "nope"), says="no such watchlist"),
        Case(
            "watchlist-show-folder",
            ("watchlist", "show", "dir"),
            setup=mkdir("wl/dir.toml"),
            says="cannot read",
        ),
        Case(
            "watchlist-snapshot-empty-folder",
            ("snapshot",),
            env={"TRACKER_WATCHLISTS_DIR": "{dir}/empty"},
            setup=mkdir("empty"),
            says="no watchlists",
        ),
        Case(
            "watchlist-snapshot-no-entries",
            ("snapshot", "-w", "empty"),
            setup=write("wl/empty.toml", 'description = "nobody yet"\n'),
            says="hold no",
        ),
        Case(
            "watchlist-list-missing-folder",
            ("watchlist", "list"),
            env={"TRACKER_WATCHLISTS_DIR": "{dir}/missing"},
            says="no such watchlists folder",
        ),
        Case(
            "watchlist-unreadable",
            ("watchlist", "show", "good"),
            setup=chmod("wl/good.toml", 0),
            says="cannot read",
            needs_non_root=True,
        ),
    ]


def serving() -> list[Case]:
    return [
        Case("serve-public-no-token", ("serve", "--host", "0.0.0.0"), says="TRACKER_SERVE_TOKEN"),
        Case("serve-host-name", ("serve", "--host", "example.com"), says="--host"),
        Case("serve-port-high", ("serve", "--port", "70000"), says="--port"),
        Case(
            "serve-token-short",
            ("serve", "--host", "0.0.0.0"),
            env={"TRACKER_SERVE_TOKEN": "short"},
            says="TRACKER_SERVE_TOKEN",
            hides="short",
        ),
    ]


# Commands whose only bad inputs are their own options: `tracker demo` reads no setting, no
# watchlist and no database (it makes its own), so the generic cases above do not apply to it.
OWN_CASES_ONLY = {("demo",)}


def demo_cases() -> list[Case]:
    return [
        Case("demo-port-high", ("demo", "--port", "70000"), says="--port"),
        Case("demo-speed-zero", ("demo", "--speed", "0"), says="--speed"),
        Case("demo-speed-word", ("demo", "--speed", "fast"), says="--speed"),
    ]


def outputs() -> list[Case]:
    return [
        Case("out-chart-suffix", ("chart", ADDR, "--out", "{dir}/c.txt"), says="--out"),
        Case("out-chart-no-data", COMMANDS["chart"], says="no snapshots"),
        Case("out-liqmap-suffix", ("liqmap", "ETH", "--out", "{dir}/m.gif"), says="--out"),
        Case("out-liqmap-no-positions", COMMANDS["liqmap"], says="no watched positions"),
        Case("market-unknown-coin", COMMANDS["market"], says="unknown coin 'ETH'"),
        Case("market-dex", ("market", "--dex", "no good"), says="--dex must be"),
        Case("market-coin-dex", ("market", "xyz:A", "--dex", "abc"), says="is on dex 'xyz'"),
        Case("market-db-missing", COMMANDS["market"], setup=remove_db, says="no database"),
        Case("out-export-suffix", ("export", "positions", "--out", "{dir}/p.txt"), says="--out"),
        Case(
            "out-export-exists",
            COMMANDS["export"],
            setup=write("p.csv", "keep me\n"),
            says="--force",
        ),
        Case(
            "out-export-format-mismatch",
            ("export", "positions", "--format", "csv", "--out", "{dir}/p.json"),
            says="--format csv",
        ),
        Case(
            "out-export-table-and-name",
            (*COMMANDS["export"], "--name", "largest_positions"),
            says="either",
        ),
        Case(
            "out-export-no-folder",
            ("export", "positions", "--out", "{dir}/nodir/p.csv"),
            says="does not exist",
        ),
        Case(
            "out-report-a-file",
            ("report", "--out", "{dir}/afile"),
            setup=write("afile", "keep me\n"),
            says="afile",
        ),
    ]


CASES = [
    *unknown_flags(),
    *private_keys(),
    *environment_values(),
    *addresses(),
    *usage(),
    *queries(),
    *databases(),
    *watchlist_cases(),
    *outputs(),
    *serving(),
    *demo_cases(),
]
# Good input through the same harness: proves a bad case fails for its own reason.
CONTROLS = [
    Case("control-query", ("query", "select 42 as n", "--format", "csv"), code=0),
    Case("control-watchlist-show", ("watchlist", "show", "good", "--json"), code=0),
    Case("control-watchlist-list", ("watchlist", "list"), code=0),
    Case("control-liquidations", ("liquidations", "--json"), code=0),
    Case("control-alerts", ("alerts", "--json"), code=0),
]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("bad-input")
    template = make_template(root / "_template" / "db.duckdb")
    shipped = disk(REPO / "watchlists")
    results = asyncio.run(run_all([*CASES, *CONTROLS], root, template))
    assert disk(REPO / "watchlists") == shipped, "a case wrote to the shipped watchlists"
    return results


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in [*CASES, *CONTROLS]]
    assert len(ids) == len(set(ids))


def test_every_command_is_in_the_matrix() -> None:
    """A new command gets bad-input cases too: add it to COMMANDS."""
    import typer.main

    from tracker.cli.commands import app

    def leaves(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        subs = getattr(command, "commands", None)
        if not subs:
            return [path]
        return [leaf for name, sub in subs.items() for leaf in leaves(sub, (*path, name))]

    listed = set(leaves(typer.main.get_command(app)))
    covered = [*COMMANDS.values(), *OWN_CASES_ONLY]
    missing = {p for p in listed if not any(a[: len(p)] == p for a in covered)}
    assert not missing, f"commands without bad-input cases: {sorted(missing)}"


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c,
            id=c.id,
            marks=[pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else [],
        )
        for c in CASES
    ],
)
def test_bad_input(case: Case, outcomes: dict[str, Outcome]) -> None:
    if case.needs_non_root and os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    outcome = outcomes[case.id]
    result = outcome.result
    shown = f"exit {result.code}\nstderr: {result.stderr[-1500:]}\nstdout: {result.stdout[-300:]}"
    assert result.code == case.code, shown
    assert "Traceback" not in result.stderr + result.stdout, shown
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, shown
    message = lines[0].removeprefix("error:").strip()
    assert lines[0].startswith("error: ") and message and not message.startswith("("), shown
    if case.says is not None:
        assert case.says in lines[0], shown
    if case.hides is not None:
        assert case.hides not in result.stdout + result.stderr, shown
    if case.args:  # a bare command group prints its help on stdout, on purpose
        assert result.stdout == "", shown
    assert outcome.after == outcome.before, changes(outcome.before, outcome.after)


async def test_a_foreign_duckdb_file_is_one_line_and_no_traceback(tmp_path: Path) -> None:
    """A DuckDB file of another tool whose tables are in the way: a store failure (1), one line."""
    db = tmp_path / "other.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create table positions (coin varchar)")
    con.close()
    env = base_env(tmp_path)
    result = await run_tracker("query", "select 1", "--write", "--db", str(db), env=env, timeout=60)
    assert result.code == 1, result.stderr
    assert result.stderr.startswith("error: cannot migrate") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("case", CONTROLS, ids=[c.id for c in CONTROLS])
def test_good_input_through_the_same_harness(case: Case, outcomes: dict[str, Outcome]) -> None:
    result = outcomes[case.id].result
    assert result.code == 0, result.stderr
    assert result.stderr == "" and result.stdout


def test_demo_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "tracker", "demo", "--port", str(port)],
            env=base_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in done.stderr
