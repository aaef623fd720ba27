"""`tracker run --live --serve` in a real headless Chromium: the open pages follow the daemon's
live book. A mark moved on the fake venue's WebSocket changes the account page's distance (and the
overview's) within 2 s without a reload while nothing new is stored (the store is asked before and
after: same rows, same newest time); a trade of the account on the tape shows as a position move
within 2 s; a hostile label shows as text; when the daemon stops, the page says the stream is
down. And the feed and the stream alone: each moved account serialized once, the same bytes to
every stream, at most once a second; a change names the passes' accounts.
"""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal as D

import aiohttp
import orjson
from playwright.async_api import expect

from tests.conftest import start_cli, tracker_env
from tests.test_charts import WHALE
from tests.test_daemon import read_passes, read_stderr_until
from tests.test_live_book import _account, _book_of, _leg
from tests.test_web_browser import WAIT_MS, browser, rows
from tests.web_store import HOSTILE, whale_venue
from tracker.output.terminal import watch_json
from tracker.records import AccountReport
from tracker.risk.live.book import BookView
from tracker.web.live import LiveFeed
from tracker.web.stream import MAX_QUEUED, OVERVIEW, Changes, account_topic

ONE = "0x" + "2a" * 20
TWO = "0x" + "2b" * 20
LIVE_MS = 2_000  # the bound for a mark move to reach the open page
STORED = "select count(*) as n, max(ts) as newest from positions"


async def stored(session: aiohttp.ClientSession, base: str) -> list[dict]:
    """What the store holds, through the daemon's own read-only /api/query."""
    async with session.get(f"{base}api/query", params={"sql": STORED}) as response:
        assert response.status == 200, await response.text()
        doc = await response.json()
    return doc["rows"] if isinstance(doc, dict) else doc


async def test_a_mark_move_reaches_the_open_pages_from_the_live_book(hl_fake, tmp_path):
    whale_venue(hl_fake, "2700")
    watchlist = tmp_path / "w.toml"
    watchlist.write_text(f"[[address]]\naddress = \"{WHALE}\"\nlabel = '{HOSTILE}'\n")
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb")
    # one refresh at start, then none for an hour: whatever moves on the page is the book's
    args = ("run", "-w", str(watchlist), "--live", "--interval", "3600")
    proc = await start_cli(*args, "--serve", "127.0.0.1:0", env=env)
    said = await read_stderr_until(proc, "serving at ", timeout=60)
    found = re.search(r"serving at (http://127\.0\.0\.1:\d+/)", said)
    assert found, said
    base = found[1]
    try:
        await read_passes(proc, 1, timeout=60)
        async with browser(tmp_path) as (page, seen), aiohttp.ClientSession() as session:
            overview = await page.context.new_page()
            await overview.goto(base)
            await rows(overview, "#accounts", 1)
            await page.goto(f"{base}accounts/{WHALE}")
            await rows(page, "#positions", 2)
            assert await page.locator("#title").text_content() == HOSTILE  # text, not markup
            await page.evaluate("window.sameDocument = 42")
            eth = page.locator('#positions tr[data-coin="ETH"]')
            await expect(eth.locator("td.mark")).to_have_text("2,700.00", timeout=WAIT_MS)
            await expect(page.locator("#live.ok")).to_have_count(1, timeout=WAIT_MS)
            distance = await eth.locator("td.distance").text_content()
            shown = overview.locator(f'#accounts tr[data-address="{WHALE}"] td.distance')
            overview_distance = await shown.text_content()
            before = await stored(session, base)

            hl_fake.set_mark("ETH", "2500")  # pushed on the venue's WebSocket at once

            await expect(eth.locator("td.mark")).to_have_text("2,500.00", timeout=LIVE_MS)
            await expect(eth.locator("td.distance")).not_to_have_text(distance, timeout=LIVE_MS)
            await expect(shown).not_to_have_text(overview_distance or "", timeout=LIVE_MS)
            assert await page.evaluate("window.sameDocument") == 42  # no reload
            assert await stored(session, base) == before  # not from a new snapshot
            assert seen.errors == [] and seen.dialogs == []

            # the whale buys on the public tape: the move shows on its page as it happens
            hl_fake.ws.trade("ETH", "2500", "100", buyer=WHALE, seller="0x" + "55" * 20)
            move = page.locator("#moves li")
            await expect(move).to_have_count(1, timeout=LIVE_MS)
            assert "ETH increase: 900 → 1000" in (await move.text_content() or "")

            code = await stop_daemon(proc)
            assert code == 0
            # the daemon is gone: the page says so instead of showing old numbers as live
            await page.wait_for_selector("#live.down, #live.stale", timeout=WAIT_MS)
    finally:
        if proc.returncode is None:
            await stop_daemon(proc)


async def stop_daemon(proc: asyncio.subprocess.Process) -> int:
    """SIGTERM, then its exit code (bounded)."""
    proc.terminate()
    async with asyncio.timeout(30):
        await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode


def frames(changes: Changes, *topics: str) -> list[list[bytes]]:
    """Two streams following topics, and what waits for each after a push."""
    subs = [changes.subscribe(frozenset(topics)) for _ in range(2)]
    return [sub.frames for sub in subs]


def data(frame: bytes) -> dict:
    return orjson.loads(frame.split(b"\ndata: ", 1)[1])


async def test_the_feed_pushes_each_moved_account_once_as_the_same_bytes_to_every_stream(tmp_path):
    book = _book_of(
        _account(ONE, [_leg("BTC", "2", "100000")], D(20_000)),
        _account(TWO, [_leg("ETH", "-10", "3000"), _leg("SOL", "5", "150")], D(9_000)),
    )
    changes = Changes(tmp_path / "none.duckdb", poll_s=1.0)
    feed = LiveFeed(changes, BookView(book))
    changes.latest = feed.latest
    feed.push(0.0)  # the first look: every account, before any stream
    one, one_again = frames(changes, account_topic(TWO))
    overview, _ = frames(changes, OVERVIEW)
    assert one[0] is one_again[0]  # a newcomer gets the latest bytes as they are
    assert data(one[0]) == watch_json(  # the keys and figures of `tracker watch --once --json`
        AccountReport(
            address=TWO, ts=book.snapshots(TWO)[0].ts, accounts=tuple(book.snapshots(TWO)), spot=()
        )
    )
    assert {r["address"] for r in data(overview[0])["rows"]} == {ONE, TWO}
    subs = [changes.subscribe(frozenset({account_topic(TWO), OVERVIEW})) for _ in range(50)]
    book.apply_marks({"BTC": D(100_000), "ETH": D(3000), "SOL": D(150)})
    feed.push(10.0)  # the same figures: nothing
    assert all(len(s.frames) == 2 for s in subs)  # the two latest frames given at subscribing
    book.apply_marks({"ETH": D(2900)})
    feed.push(20.0)
    book.apply_marks({"ETH": D(2890)})
    feed.push(20.5)  # pushed half a second ago: waits for its second
    assert all(len(s.frames) == 4 for s in subs)
    account, rows = subs[0].frames[2:]
    assert all(s.frames[2] is account and s.frames[3] is rows for s in subs)  # serialized once
    (eth,) = [p for p in data(account)["positions"] if p["coin"] == "ETH"]
    assert D(eth["mark_px"]) == D(2900)
    assert [r["address"] for r in data(rows)["rows"]] == [TWO]  # only the account that moved
    slow = subs[1]
    for mark in range(MAX_QUEUED):  # a stream that reads nothing is given the latest state
        book.apply_marks({"ETH": D(2800 - mark)})
        feed.push(21.0 + mark)
    assert len(slow.frames) <= MAX_QUEUED
    newest = [data(f) for f in slow.frames if f.startswith(b"event: account")][-1]
    (eth,) = [p for p in newest["positions"] if p["coin"] == "ETH"]
    assert D(eth["mark_px"]) == D(2800 - MAX_QUEUED + 1)  # nothing lost but the backlog
    assert feed.pushes == 2 + 1 + MAX_QUEUED


def test_a_change_names_the_addresses_of_the_passes_since_the_last_one(tmp_path):
    changes = Changes(tmp_path / "none.duckdb", poll_s=1.0)
    changes.bump([ONE])
    changes.bump([TWO])
    assert changes.stored_since(0) == [ONE, TWO]
    assert changes.stored_since(1) == [TWO]
    changes.bump(frozenset())  # the file changed without a pass (alerts, moves): no account
    assert changes.stored_since(2) == []
    changes.bump(None)  # unknown: a page re-reads
    assert changes.stored_since(2) is None
