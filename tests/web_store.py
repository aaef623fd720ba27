"""A real store for the web tests: the charts' replay (three `tracker snapshot` passes against the
fake venue), then `tracker watch --once --json` of the whale (its document kept to compare with
the API), a hostile watchlist label and a hostile leaderboard display name; and the server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from tests.conftest import run_cli
from tests.fakes import seed
from tests.fakes.hyperliquid import FakeHyperliquid
from tests.test_charts import MARKS, WHALE, replay_database
from tracker.watchlists import load_all
from tracker.web.reads import Reader
from tracker.web.server import Serving, serve

HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_KIND = "<svg onload=alert(3)>"  # a ledger kind as the venue could send it: data
FUNDING_HOURS = 30  # the whale's hourly funding payments: more than one page of the table
HOSTILE_NAME = '<script>alert("name")</script><b onmouseover=alert(2)>bold</b>'
NAMED = seed.CROSS_SHORT_SOL  # the account whose leaderboard display name is hostile


@dataclass(frozen=True, slots=True)
class WebStore:
    """The DuckDB file, the environment that filled it, and what `tracker watch --json` printed."""

    db: Path
    env: dict[str, str]
    folder: Path
    watch_doc: dict[str, Any]


def whale_venue(fake: FakeHyperliquid, eth_mark: str) -> None:
    """The replay's whale on a fresh fake venue, at the replay's last marks but ETH at eth_mark."""
    fake.set_mark("ETH", eth_mark)
    fake.set_mark("SOL", MARKS[-1][1])
    fake.put_model_account(
        WHALE,
        "-210000",
        positions=[
            {"coin": "ETH", "size": "900", "entry_px": "2946.67", "leverage": 10},
            {"coin": "SOL", "size": "-10000", "entry_px": "175", "leverage": 5},
        ],
    )


async def build(folder: Path) -> WebStore:
    replay = await replay_database(folder)
    env = dict(replay.env)
    async with FakeHyperliquid.seeded() as fake:
        whale_venue(fake, MARKS[-1][0])
        env["TRACKER_HL_API_URL"] = fake.url
        watched = await run_cli("watch", WHALE, "--once", "--json", env=env)
        assert watched.code == 0, watched.stderr
    (folder / "a-hostile.toml").write_text(  # sorts first: its label wins the merge
        f"[[address]]\naddress = \"{WHALE}\"\nlabel = '{HOSTILE}'\ntags = ['desk']\n"
    )
    con = duckdb.connect(str(replay.db))
    try:
        con.execute(
            "INSERT INTO leaderboard (ts, address, account_value_usd, display_name) "
            "VALUES (now(), ?, ?, ?)",
            [NAMED, Decimal(1), HOSTILE_NAME],
        )
        con.execute(  # the named account was discovered too: the universe's one account
            "INSERT INTO universe VALUES (?, 11524, ?, 10000, now())", [NAMED, HOSTILE_NAME]
        )
        add_funding_and_ledger(con)
    finally:
        con.close()
    return WebStore(replay.db, env, folder, json.loads(watched.stdout))


def add_funding_and_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """The whale's funding (hourly, ETH then SOL alternately, newest now) and three ledger updates,
    one of a hostile kind: rows as the history writer stores them."""
    hour = 3_600_000
    now = (int(time.time() * 1000) // hour) * hour
    for i in range(FUNDING_HOURS):
        coin, size = ("ETH", "900") if i % 2 == 0 else ("SOL", "-10000")
        con.execute(
            "INSERT INTO funding (ts, time_ms, venue, address, coin, amount_usd, position_size, "
            "funding_rate, samples, hash) VALUES (make_timestamp(? * 1000), ?, 'hyperliquid', ?, "
            "?, ?, ?, 0.0000125, 1, NULL)",
            [now - i * hour, now - i * hour, WHALE, coin, Decimal(-i - 1), Decimal(size)],
        )
    for i, (kind, amount) in enumerate(
        [("deposit", "500000"), ("withdraw", "-25000"), (HOSTILE_KIND, "1")]
    ):
        con.execute(
            "INSERT INTO ledger (ts, time_ms, venue, address, kind, entry_key, amount_usd, hash, "
            "delta) VALUES (make_timestamp(? * 1000), ?, 'hyperliquid', ?, ?, ?, ?, ?, '{}')",
            [
                now - (3 - i) * hour,
                now - (3 - i) * hour,
                WHALE,
                kind,
                f"k{i}",
                Decimal(amount),
                f"0x{i:064x}",
            ],
        )


def reader(store: WebStore, db: Path | None = None, watchlists: Path | None = None) -> Reader:
    return Reader(db or store.db, load_all(watchlists or store.folder), Decimal(1_000_000))


@contextlib.asynccontextmanager
async def served(
    store: WebStore,
    *,
    db: Path | None = None,
    host: str = "127.0.0.1",
    token: str | None = None,
    query_timeout_s: float | None = None,
    query_max_rows: int | None = None,
    watchlists: Path | None = None,
) -> AsyncIterator[Serving]:
    """The real server on a free port, in this loop, until the block ends (watchlists: the
    folder of the ones it labels by, the store's own by default)."""
    ready: asyncio.Future[Serving] = asyncio.get_running_loop().create_future()
    source = reader(store, db, watchlists)
    source.query_timeout_s = query_timeout_s or source.query_timeout_s
    source.query_max_rows = query_max_rows or source.query_max_rows
    task = asyncio.create_task(
        serve(source, host, 0, token=token, started=ready.set_result, poll_s=0.2)
    )
    done, _ = await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises what stopped it
    try:
        yield ready.result()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
