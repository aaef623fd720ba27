"""`tracker run --serve`: the dashboard served by the daemon itself, as real processes against the
fake venue: the API answers while passes keep being stored, the stream announces each pass, SIGTERM
stops both, and --serve is checked as `tracker serve` checks --host/--port."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sys
from decimal import Decimal

import aiohttp
import pytest

from tests.conftest import run_cli, start_cli, tracker_env
from tests.fakes import seed
from tests.test_daemon import read_passes, read_stderr_until, stop, until
from tests.test_snapshot import write_watchlist
from tracker.store import open_store
from tracker.store.db import _file_lock
from tracker.web.reads import Reader
from tracker.web.server import listening

WATCHED = seed.CROSS_SHORT_SOL


async def start_serving(env, watchlist, *mode: str):
    """The daemon with --serve on a port of its choosing, and the base URL it printed."""
    args = ("run", "-w", str(watchlist), "--interval", "1", *mode, "--serve", "127.0.0.1:0")
    proc = await start_cli(*args, env=env)
    said = await read_stderr_until(proc, "serving at ", timeout=60)
    found = re.search(r"serving at (http://127\.0\.0\.1:\d+/)", said)
    assert found, said
    return proc, found[1]


async def accounts(session: aiohttp.ClientSession, base: str) -> list[dict]:
    async with session.get(f"{base}api/accounts") as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def next_event(response: aiohttp.ClientResponse, name: str) -> dict:
    """The data of the next SSE event called name (others skipped)."""
    event = None
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == name:
            return json.loads(line.removeprefix("data: "))
    raise AssertionError(f"the stream ended before a {name!r} event")


async def next_any(response: aiohttp.ClientResponse) -> tuple[str, dict]:
    """The name and data of the next SSE event."""
    event = ""
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            return event, json.loads(line.removeprefix("data: "))
    raise AssertionError("the stream ended")


@pytest.mark.parametrize("mode", [("--no-live",), ("--live",)], ids=["polling", "live"])
async def test_run_serves_the_api_and_the_stream_while_passes_are_stored(hl_fake, tmp_path, mode):
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb")
    watchlist = write_watchlist(tmp_path / "w.toml", WATCHED)
    proc, base = await start_serving(env, watchlist, *mode)
    port = int(base.rsplit(":", 1)[1].rstrip("/"))
    try:
        await read_passes(proc, 1, timeout=60)
        async with aiohttp.ClientSession() as session:
            first = await accounts(session, base)
            async with session.get(f"{base}api/stream") as stream, asyncio.timeout(120):
                assert stream.status == 200  # the timeout bounds a hang, asserts no time
                seen = await next_event(stream, "change")
                await read_passes(proc, 1, timeout=60)  # a new pass, stored meanwhile
                after = await next_event(stream, "change")
            again = await accounts(session, base)  # reads keep working while passes write
    finally:
        code, _, err = await stop(proc)
    assert code == 0, err
    assert [row["address"] for row in first] == [WATCHED]
    assert [row["address"] for row in again] == [WATCHED]
    assert after["version"] > seen["version"]
    with socket.socket() as free:  # nothing is left listening on the daemon's port
        free.bind(("127.0.0.1", port))


async def test_run_serve_off_loopback_needs_the_token(hl_fake, tmp_path):
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb")
    watchlist = write_watchlist(tmp_path / "w.toml", WATCHED)
    result = await run_cli("run", "-w", str(watchlist), "--serve", "0.0.0.0:0", env=env)
    assert result.code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "TRACKER_SERVE_TOKEN" in result.stderr and result.stdout == ""


@pytest.mark.parametrize("value", ["", "abc", "70000", ":8765", "example.com:8765", "1.2.3:80"])
async def test_run_refuses_a_bad_serve_value_in_one_line(hl_fake, tmp_path, value):
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb")
    watchlist = write_watchlist(tmp_path / "w.toml", WATCHED)
    result = await run_cli("run", "-w", str(watchlist), "--serve", value, env=env)
    assert result.code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "--serve" in result.stderr and result.stdout == ""


async def test_run_serve_with_a_token_prints_the_one_time_link_not_the_token(hl_fake, tmp_path):
    token = "correct-horse-battery-staple-42"
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb", TRACKER_SERVE_TOKEN=token)
    watchlist = write_watchlist(tmp_path / "w.toml", WATCHED)
    args = ("run", "-w", str(watchlist), "--no-live", "--serve", "0.0.0.0:0")
    proc = await start_cli(*args, env=env)
    try:
        said = await read_stderr_until(proc, "login?once=", timeout=60)
    finally:
        code, _, err = await stop(proc)
    assert code == 0, err
    assert "serving at http://0.0.0.0:" in said and token not in said + err


def waiting_in_open_store() -> bool:
    """True while some thread is inside open_store (here: waiting for the file's lock)."""
    for frame in sys._current_frames().values():
        while frame is not None:
            if frame.f_code is open_store.__wrapped__.__code__:
                return True
            frame = frame.f_back
    return False


async def test_a_read_waiting_for_the_store_lock_does_not_block_the_loop(tmp_path):
    """In the daemon's process a read and a write take turns on the file's lock: a read waiting
    for it waits in a worker thread, and the server answers others meanwhile."""
    db = tmp_path / "t.duckdb"
    with open_store(db):  # created and migrated
        pass
    reader = Reader(db, [], Decimal(1_000_000))
    lock = _file_lock(db)
    served = listening(reader, "127.0.0.1", 0, token=None)
    async with served as (where, _), aiohttp.ClientSession() as session:
        assert lock.acquire(timeout=5)  # a pass writing, as far as the reads can tell
        try:
            waiting = asyncio.create_task(session.get(f"{where.url}api/accounts"))
            await until(waiting_in_open_store)
            async with session.get(f"{where.url}api/openapi.json") as other:
                answered = other.status
            still_waiting = not waiting.done()
        finally:
            lock.release()
        async with await waiting as response:
            status = response.status
    assert (answered, still_waiting, status) == (200, True, 200)


async def test_each_stored_pass_is_announced_on_the_stream_at_once(tmp_path):
    """The daemon's on_pass bumps the stream itself: a `change` naming the pass's addresses
    follows a pass with the file untouched (the file watcher would see nothing; without the bump
    only pings would come)."""
    from datetime import UTC, datetime

    from tracker.app.serving import Listen, serving
    from tracker.app.snapshot_pass import PassReport
    from tracker.config import Settings

    db = tmp_path / "t.duckdb"
    with open_store(db):
        pass
    settings = Settings.from_env({"TRACKER_DB": str(db)}, dotenv_path=tmp_path / "no.env")
    urls: list[str] = []
    passes: list[PassReport] = []
    listen = Listen("127.0.0.1", 0, lambda url, _login: urls.append(url))
    report = PassReport(
        ts=datetime.now(UTC), command="run", addresses=0, ok=0, failed={}, positions=0,
        new_fills=0, new_funding=0, new_ledger=0, history_read=0, history_postponed=0,
        gaps=(), weight=0, duration_s=0.0,
    )  # fmt: skip
    async with (
        serving(settings, listen, passes.append) as dashboard,
        aiohttp.ClientSession() as session,
        session.get(f"{urls[0]}api/stream") as stream,
    ):
        seen = await next_event(stream, "change")
        await next_event(stream, "ping")  # the stream is quiet: the file is not changing
        dashboard.on_pass(report)
        async with asyncio.timeout(30):  # a bound, not a timed assertion: fail, don't hang
            name, after = await next_any(stream)
    assert name == "change"  # at once, not at the next ping 5 s later
    assert passes == [report] and after["version"] == seen["version"] + 1
    assert after["addresses"] == []  # the pass's own (none here): pages of others need not re-read


async def test_run_serve_labels_accounts_from_its_own_watchlist_outside_any_folder(
    hl_fake, tmp_path
):
    # -w names a file outside the watchlists folder, which does not exist: the pages still know
    # the daemon's labels (and the server starts at all)
    env = tracker_env(
        hl_fake.url, tmp_path / "t.duckdb", TRACKER_WATCHLISTS_DIR=str(tmp_path / "no-folder")
    )
    watchlist = write_watchlist(tmp_path / "elsewhere.toml", WATCHED)
    proc, base = await start_serving(env, watchlist, "--no-live")
    try:
        await read_passes(proc, 1, timeout=60)
        async with aiohttp.ClientSession() as session:
            rows = await accounts(session, base)
    finally:
        code, _, err = await stop(proc)
    assert code == 0, err
    assert [(r["address"], r["label"]) for r in rows] == [(WATCHED, "watched 0")]
