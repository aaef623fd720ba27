"""`tracker serve`'s JSON API through aiohttp's client against the real server on a real store:
the CLI's `--json` documents, 400/404/405 as one-line JSON, read-only SQL, the token off loopback.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import shutil
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import duckdb
import pytest

from tests.conftest import run_cli, start_cli
from tests.test_charts import WHALE, sql
from tests.web_store import (
    FUNDING_HOURS,
    HOSTILE,
    HOSTILE_KIND,
    HOSTILE_NAME,
    NAMED,
    WebStore,
    build,
    served,
)
from tracker.web import server as web_server
from tracker.web.openapi import PATHS

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "tracker" / "web" / "static"
TOKEN = "correct-horse-battery-staple-42"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> WebStore:
    return asyncio.run(build(tmp_path_factory.mktemp("web")))


async def get(url: str, **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url, **kwargs) as response:
        body = await response.read()
        is_json = response.content_type == "application/json"
        return response.status, json.loads(body) if is_json else body.decode()


STORED = Decimal(10) ** -18  # DECIMAL(38, 18): the store rounds what the CLI computed


def same(api: Any, cli: Any) -> bool:
    """Equal documents, numbers compared as numbers, the CLI's rounded as the store keeps them."""
    if isinstance(api, dict) and isinstance(cli, dict):
        return api.keys() == cli.keys() and all(same(api[k], cli[k]) for k in api)
    if isinstance(api, list) and isinstance(cli, list):
        return len(api) == len(cli) and all(same(a, c) for a, c in zip(api, cli, strict=True))
    if isinstance(api, str) and isinstance(cli, str) and api != cli:
        try:
            return Decimal(api) == Decimal(cli).quantize(STORED)
        except ArithmeticError:
            return False
    return api == cli


async def test_account_is_the_cli_watch_json_of_the_stored_state(store):
    async with served(store) as site:
        status, doc = await get(f"{site.url}api/accounts/{WHALE.upper().replace('0X', '0x')}")
    assert status == 200
    cli = store.watch_doc
    assert doc.keys() == cli.keys()
    assert [p.keys() for p in doc["positions"]] == [p.keys() for p in cli["positions"]]
    assert [a.keys() for a in doc["accounts"]] == [a.keys() for a in cli["accounts"]]
    assert same(doc["positions"], cli["positions"]) and same(doc["accounts"], cli["accounts"])
    assert doc["time"] == cli["time"] and doc["positions"][0]["liquidation_px"] is not None


async def test_feeds_and_query_are_the_cli_json_documents(store):
    async with served(store) as site:
        _, liquidations = await get(f"{site.url}api/liquidations")
        _, daily = await get(f"{site.url}api/liquidations/daily")
        _, alerts = await get(f"{site.url}api/alerts?limit=5")
        sql = "select address, count(*) as n from positions group by address order by address"
        _, rows = await get(f"{site.url}api/query", params={"sql": sql})
        _, named = await get(
            f"{site.url}api/query", params={"name": "largest_positions", "param": "limit=2"}
        )
    env = store.env
    cli = [
        json.loads((await run_cli(*args, "--db", str(store.db), env=env)).stdout)
        for args in (
            ("liquidations", "--json"),
            ("liquidations", "--daily", "--json"),
            ("alerts", "--limit", "5", "--json"),
            ("query", sql, "--format", "json"),
            ("query", "--name", "largest_positions", "--param", "limit=2", "--format", "json"),
        )
    ]
    assert [liquidations, daily, alerts, rows, named] == cli
    assert len(liquidations) == 1 and alerts and len(rows) == 3 and len(named) == 2
    assert len(daily) == 1 and daily[0]["largest"]["address"] == liquidations[0]["address"]
    assert liquidations[0]["label"] == HOSTILE  # labels are data: sent as they are, as JSON text


async def test_overview_sorted_by_risk_and_filtered(store):
    async with served(store) as site:
        _, every = await get(f"{site.url}api/accounts")
        _, eth = await get(f"{site.url}api/accounts?coin=ETH")
        _, desk = await get(f"{site.url}api/accounts?tag=desk")
        _, listed = await get(f"{site.url}api/accounts?watchlist=w")
        _, none = await get(f"{site.url}api/accounts?coin=NOPE")
    risk = [
        min(abs(Decimal(r["shock_to_liq_pct"] or "Infinity")), Decimal(r["distance_to_liq_pct"]))
        for r in every
    ]
    assert len(every) == 3 and risk == sorted(risk)
    holders = sql(store.db, "select distinct address from latest_positions where coin = 'ETH'")
    assert {r["address"] for r in eth} == {a for (a,) in holders} and len(eth) == 2
    assert [r["address"] for r in desk] == [WHALE]
    assert len(listed) == 3 and none == []
    names = {r["address"]: (r["label"], r["display_name"]) for r in every}
    assert names[WHALE][0] == HOSTILE and names[NAMED][1] == HOSTILE_NAME


async def test_fills_funding_and_ledger_come_newest_first_a_page_at_a_time(store):
    async with served(store) as site:
        base = f"{site.url}api/accounts/{WHALE}/"
        _, first = await get(f"{base}fills?limit=3")
        _, rest = await get(f"{base}fills?limit=3&offset={first['next_offset']}")
        _, funding = await get(f"{base}funding?limit=25")
        _, older = await get(f"{base}funding?limit=25&offset=25")
        _, every = await get(f"{base}funding")
        _, ledger = await get(f"{base}ledger")
        _, nobody = await get(f"{site.url}api/accounts/0x{'1' * 40}/fills")
    stored = sql(
        store.db,
        f"select px, size from fills where address = '{WHALE}' order by time_ms desc, coin",
    )
    assert len(stored) == 4 and first["next_offset"] == 3 and rest["next_offset"] is None
    paged = [(Decimal(r["px"]), Decimal(r["size"])) for r in first["rows"] + rest["rows"]]
    assert paged == stored
    times = [r["ts"] for r in every["rows"]]
    assert len(times) == FUNDING_HOURS and times == sorted(times, reverse=True)
    assert funding["rows"] + older["rows"] == every["rows"] and older["next_offset"] is None
    assert (funding["next_offset"], len(older["rows"])) == (25, FUNDING_HOURS - 25)
    assert [r["kind"] for r in ledger["rows"]] == [HOSTILE_KIND, "withdraw", "deposit"]
    assert nobody == {"rows": [], "limit": 50, "offset": 0, "next_offset": None}


async def test_market_is_the_cli_market_json_with_the_stored_quotes(store):
    """The venue is unreachable for both: the CLI falls back on the stored quotes, the API always
    reads them; one serializer (output.market.coin_json), so the documents are equal."""
    async with served(store) as site:
        status, doc = await get(f"{site.url}api/market/eth")
        _, sol = await get(f"{site.url}api/market/SOL")
    cli = await run_cli("market", "ETH", "--json", "--db", str(store.db), env=store.env)
    assert cli.code == 1 and "could not be reached" in cli.stderr  # the stored quotes, said so
    assert status == 200 and doc == json.loads(cli.stdout)
    assert doc["coin"] == "ETH" and Decimal(doc["mark_px"]) == Decimal(2700)
    eth_longs = sql(
        store.db, "select sum(notional_usd) from latest_positions where coin = 'ETH' and size > 0"
    )[0][0]
    assert Decimal(doc["tracked"]["long_notional_usd"]) == eth_longs
    assert [r["address"] for r in doc["largest_positions"]][0] == WHALE
    assert doc["largest_positions"][0]["label"] == HOSTILE  # data, as JSON text
    assert sol["largest_positions"] and all(r["side"] == "short" for r in sol["largest_positions"])


async def test_liquidation_map_buckets_the_latest_liquidation_prices(store):
    async with served(store) as site:
        status, doc = await get(f"{site.url}api/market/SOL/liqmap?buckets=10")
        _, btc = await get(f"{site.url}api/market/BTC/liqmap")  # closed: stored, none held
    prices = sql(
        store.db,
        "select side, notional_usd, liquidation_px from latest_positions where coin = 'SOL'",
    )
    assert status == 200 and len(doc["buckets"]) == 10 and doc["coin"] == "SOL"
    low, high = Decimal(doc["buckets"][0]["price_low"]), Decimal(doc["buckets"][-1]["price_high"])
    inside = [(s, n) for s, n, px in prices if px is not None and low <= px <= high]
    beyond = [(s, n) for s, n, px in prices if px is not None and not low <= px <= high]
    for side in ("long", "short"):
        bucketed = sum(Decimal(b[f"{side}_usd"]) for b in doc["buckets"])
        assert bucketed == sum((n for s, n in inside if s == side), Decimal(0))
        assert Decimal(doc[f"beyond_{side}_usd"]) == sum((n for s, n in beyond if s == side), 0)
    assert inside and beyond  # the far short is totalled apart, the near one bucketed
    holders = sql(
        store.db, "select count(distinct address) from latest_positions where coin = 'SOL'"
    )
    assert doc["accounts"] == holders[0][0] and doc["positions"] == len(inside)
    assert btc["buckets"] == [] and btc["positions"] == 0


async def test_unknown_coin_is_404(store):
    async with served(store) as site:
        market, doc = await get(f"{site.url}api/market/NOPE")
        liqmap, _ = await get(f"{site.url}api/market/NOPE/liqmap")
        page, _ = await get(f"{site.url}market/NOPE")  # the shell; its script shows the error
    assert (market, liqmap, page) == (404, 404, 200) and "NOPE" in doc["error"]


async def test_overview_by_cohort_and_by_watched_or_universe(store, tmp_path):
    only_whale = tmp_path / "lists"
    only_whale.mkdir()
    shutil.copy(store.folder / "a-hostile.toml", only_whale)  # the whale's list alone
    async with served(store, watchlists=only_whale) as site:
        _, every = await get(f"{site.url}api/accounts")
        _, watched = await get(f"{site.url}api/accounts?scope=watched")
        _, universe = await get(f"{site.url}api/accounts?scope=universe")
        _, mid = await get(f"{site.url}api/accounts", params={"cohort": "$100k to $1M"})
        _, small = await get(f"{site.url}api/accounts", params={"cohort": "under $100k"})
        _, unknown = await get(f"{site.url}api/accounts?cohort=unknown&scope=universe")
        _, both = await get(f"{site.url}api/accounts?scope=watched&cohort=unknown")
        _, bands = await get(f"{site.url}api/cohorts")
    values = {a: v for a, v in sql(store.db, "select address, value_cohort from account_cohorts")}
    assert len(every) == 3 and [r["address"] for r in watched] == [WHALE]
    assert [r["address"] for r in universe] == [NAMED]
    assert [r["address"] for r in mid] == [WHALE] and values[WHALE] == "$100k to $1M"
    assert {r["address"] for r in small} == {a for a, v in values.items() if v == "under $100k"}
    assert len(small) == 2 and [r["address"] for r in unknown] == [NAMED]
    assert [r["address"] for r in both] == [WHALE]
    assert [b["cohort"] for b in bands if b["kind"] == "account_value"][0] == "under $100k"
    assert len(bands) == 13 and {b["kind"] for b in bands} == {"account_value", "all_time_pnl"}


@pytest.mark.parametrize(
    "path",
    [
        "api/accounts?cohort=nope",
        "api/accounts?scope=everyone",
        "api/accounts?scope=",
        "api/accounts?cohort=unknown&cohort=unknown",
        "api/cohorts?kind=x",
        f"api/accounts/{WHALE}/fills?limit=0",
        f"api/accounts/{WHALE}/fills?limit=501",
        f"api/accounts/{WHALE}/funding?offset=-1",
        f"api/accounts/{WHALE}/funding?offset=1.5",
        f"api/accounts/{WHALE}/ledger?limit=%C2%B2",  # '²' is a digit to str.isdigit
        f"api/accounts/{WHALE}/ledger?page=2",
        "api/accounts/0x123/fills",
        "api/market/ETH?bogus=1",
        "api/market/ETH?dex=not%20a%20dex",
        "api/market/ETH/liqmap?buckets=1",
        "api/market/ETH/liqmap?buckets=201",
        "api/market/ETH/liqmap?buckets=ten",
        "api/market/flx:CRCL?dex=xyz",
        "api/alerts?limit=0",
        "api/alerts?limit=abc",
        "api/alerts?limit=5&limit=6",
        "api/accounts?bogus=1",
        "api/accounts?address=0x123",
        "api/accounts?watchlist=nope",
        "api/liquidations?since=yesterday",
        "api/liquidations?min_usd=-1",
        "api/liquidations?min_usd=NaN",
        "api/accounts/not-an-address",
        "api/query",
        "api/query?sql=select%201&name=largest_positions",
        "api/query?name=largest_positions&param=limit=abc",
        "api/query?sql=selec%20nonsense",
    ],
)
async def test_bad_query_strings_get_400_and_one_line(store, path):
    async with served(store) as site:
        status, doc = await get(site.url + path)
    assert status == 400, doc
    assert list(doc) == ["error"] and doc["error"] and "\n" not in doc["error"]
    assert "Traceback" not in doc["error"]


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE evil (a INT)",
        "DELETE FROM positions",
        "COPY positions TO '/tmp/out.csv'",
        "SELECT * FROM read_text('/etc/passwd')",
        "ATTACH '/tmp/other.duckdb' AS other",
    ],
)
async def test_query_refuses_writes_and_files(store, sql):
    async with served(store) as site:
        status, doc = await get(f"{site.url}api/query", params={"sql": sql})
        _, count = await get(
            f"{site.url}api/query", params={"sql": "select count(*) n from positions"}
        )
    assert status == 400 and "read-only" in doc["error"]
    assert count[0]["n"] > 0


async def test_query_stops_a_long_statement_and_a_long_result(store):
    """A reader holds the file's lock that `tracker run` needs: the API bounds both."""
    endless = "select count(*) from range(1000000000000) a"
    async with served(store, query_timeout_s=0.5, query_max_rows=5) as site:
        slow, stopped = await get(f"{site.url}api/query", params={"sql": endless})
        big, refused = await get(f"{site.url}api/query", params={"sql": "select * from range(6)"})
        fits, rows = await get(f"{site.url}api/query", params={"sql": "select * from range(5)"})
    assert (slow, big, fits) == (400, 400, 200) and len(rows) == 5
    assert "stopped" in stopped["error"] and "LIMIT" in refused["error"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_only_get_and_head(store, method):
    async with served(store) as site, aiohttp.ClientSession() as session:
        for path in ("api/accounts", "api/query?sql=select%201", "", "api/nowhere"):
            async with session.request(method, site.url + path) as response:
                assert response.status == 405, path
                assert response.headers["Allow"] == "GET, HEAD"
        async with session.head(site.url + "api/accounts") as response:
            assert response.status == 200


async def test_unknown_account_and_path_are_404(store):
    async with served(store) as site:
        missing, doc = await get(f"{site.url}api/accounts/0x{'1' * 40}")
        nowhere, _ = await get(f"{site.url}api/nowhere")
    assert (missing, nowhere) == (404, 404) and "no snapshots" in doc["error"]


async def test_openapi_describes_every_api_route(store):
    async with served(store) as site:
        status, doc = await get(f"{site.url}api/openapi.json")
    app = web_server.make_app(reader_of(store), token=None)
    routes = {
        r.resource.canonical
        for r in app.router.routes()
        if r.resource is not None and r.resource.canonical.startswith("/api/")
    }
    assert status == 200 and doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == routes == set(PATHS)


def reader_of(store: WebStore):
    from tests.web_store import reader

    return reader(store)


async def test_loopback_refuses_a_foreign_host_header(store):
    """DNS rebinding: a page elsewhere naming our port under its own host name gets nothing."""
    async with served(store) as site:
        status, doc = await get(f"{site.url}api/accounts", headers={"Host": "evil.example"})
        ok, _ = await get(f"{site.url}api/accounts", headers={"Host": "localhost"})
    assert (status, ok) == (401, 200) and "unauthorized" in doc["error"]


async def test_off_loopback_the_token_is_required(store):
    async with served(store, host="0.0.0.0", token=TOKEN) as site:
        port = site.url.rsplit(":", 1)[1].rstrip("/")
        base = f"http://127.0.0.1:{port}/"
        bare, doc = await get(f"{base}api/accounts")
        wrong, _ = await get(f"{base}api/accounts", headers={"Authorization": "Bearer nope"})
        right, rows = await get(f"{base}api/accounts", headers={"Authorization": f"Bearer {TOKEN}"})
        page, _ = await get(base)
        assert site.login_url is not None and TOKEN not in site.login_url
        login = site.login_url.replace(f"http://0.0.0.0:{port}/", base)
        jar = aiohttp.CookieJar(unsafe=True)  # keep cookies of an IP host, as browsers do
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            async with session.get(login, allow_redirects=False) as response:
                assert response.status == 303
            async with session.get(f"{base}api/accounts") as response:
                assert response.status == 200  # the cookie the link set
            async with session.get(f"{base}") as response:
                html = await response.text()
        again, _ = await get(login, allow_redirects=False)
    assert (bare, wrong, right, page, again) == (401, 401, 200, 401, 401)
    assert "unauthorized" in doc["error"] and len(rows) == 3
    assert TOKEN not in html and TOKEN not in json.dumps(rows)


async def test_cli_serve_off_loopback_needs_the_token_and_never_prints_it(store):
    refused = await run_cli("serve", "--host", "0.0.0.0", "--port", "0", env=store.env)
    bad_host = await run_cli("serve", "--host", "example.com", env=store.env)
    bad_port = await run_cli("serve", "--port", "70000", env=store.env)
    for result in (refused, bad_host, bad_port):
        assert result.code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "TRACKER_SERVE_TOKEN" in refused.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port_taken = str(taken.getsockname()[1])
        busy = await run_cli("serve", "--port", port_taken, env=store.env)
    assert busy.code == 2 and busy.stderr.count("\n") == 1 and "cannot listen" in busy.stderr
    env = {**store.env, "TRACKER_SERVE_TOKEN": TOKEN, "TRACKER_LOG_LEVEL": "DEBUG"}
    proc = await start_cli("serve", "--host", "0.0.0.0", "--port", "0", env=env)
    try:
        assert proc.stdout is not None
        first = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        second = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        port = re.search(r":(\d+)/", first)
        assert port, first
        status, _ = await get(f"http://127.0.0.1:{port[1]}/api/accounts")
        assert status == 401
    finally:
        proc.terminate()
        out, err = await proc.communicate()
    printed = first + second + out.decode() + err.decode()
    assert "login?once=" in second and TOKEN not in printed


async def test_cli_serve_starts_without_a_watchlists_folder(store, tmp_path):
    # a user who only ran `tracker watch ADDRESS` has no watchlists folder: serve still serves
    env = {**store.env, "TRACKER_WATCHLISTS_DIR": str(tmp_path / "never-made")}
    proc = await start_cli("serve", "--port", "0", env=env)
    try:
        assert proc.stdout is not None
        first = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        port = re.search(r":(\d+)/", first)
        assert port, first
        status, rows = await get(f"http://127.0.0.1:{port[1]}/api/accounts")
    finally:
        proc.terminate()
        await proc.communicate()
    assert status == 200 and len(rows) == 3
    assert all(row["label"] is None for row in rows)


def test_the_shipped_chart_library_is_the_locked_npm_build():
    shipped = STATIC / "lightweight-charts.standalone.production.js"
    npm = REPO / "node_modules" / "lightweight-charts"
    assert npm.is_dir(), "run the README's test command (npm ci installs the locked copy)"
    assert json.loads((npm / "package.json").read_text())["version"] == "5.3.0"
    lock = json.loads((REPO / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/lightweight-charts"]["version"] == "5.3.0"
    built = npm / "dist" / "lightweight-charts.standalone.production.js"
    assert shipped.read_bytes() == built.read_bytes()
    assert (STATIC / "lightweight-charts.LICENSE").read_text() == (npm / "LICENSE").read_text()
    assert "lightweight-charts@5.3.0" in (STATIC / "NOTICE").read_text()
    # the one inline <style> it adds (its logo's) is what the page's CSP allows by hash
    style = re.search(
        r'createElement\("style"\),this\.\w+\.innerText="([^"]*)"', shipped.read_text()
    )
    assert style
    digest = base64.b64encode(hashlib.sha256(style[1].encode()).digest()).decode()
    assert digest == web_server.CHART_STYLE_SHA256


async def test_identical_reads_run_once_per_version_of_the_data(tmp_path):
    """50 open pages re-read on each change: one read of the file per version and request, not
    50 (the stream's newest times likewise); a failed read is not kept."""
    from tracker.errors import StoreError
    from tracker.web.stream import Changes

    changes = Changes(tmp_path / "none.duckdb", poll_s=1.0)
    reads: list[tuple[str, int]] = []

    def read(key: str) -> dict[str, Any]:
        reads.append((key, changes.version))
        return {"version": changes.version}

    def ask(key: str) -> Any:
        return changes.once(key, lambda: read(key))

    first = await asyncio.gather(*(ask(k) for k in ("a", "b") * 25))
    again = await ask("a")
    changes.bump()
    second = await asyncio.gather(*(ask("a") for _ in range(50)))
    assert reads == [("a", 0), ("b", 0), ("a", 1)]
    assert {d["version"] for d in [*first, again]} == {0} and {d["version"] for d in second} == {1}

    def failing() -> dict[str, Any]:
        raise StoreError("locked")

    with pytest.raises(StoreError):
        await changes.once("c", failing)  # not kept: the next ask reads again
    assert await changes.once("c", lambda: read("c")) == {"version": 1}


async def test_the_api_answers_a_change_at_once_after_a_bump(store, tmp_path):
    """Shared reads never outlive a version: a new snapshot announced, the next read is new."""
    db = tmp_path / "copy.duckdb"
    shutil.copy(store.db, db)
    async with served(store, db=db) as site:
        _, before = await get(f"{site.url}api/accounts/{WHALE}/funding?limit=1")
        con = duckdb.connect(str(db))
        try:
            con.execute("DELETE FROM funding")
        finally:
            con.close()
        for _ in range(300):  # the file watcher (every 0.2 s here) bumps the version
            _, after = await get(f"{site.url}api/accounts/{WHALE}/funding?limit=1")
            if not after["rows"]:
                break
            await asyncio.sleep(0.1)
    assert len(before["rows"]) == 1 and after["rows"] == []


async def test_daily_liquidations_refuse_a_coin_that_is_not_one(store):
    async with served(store) as site:
        status, doc = await get(f"{site.url}api/liquidations/daily", params={"coin": "BTC ETH"})
        ok, rows = await get(f"{site.url}api/liquidations/daily", params={"coin": "NOPE"})
    assert status == 400 and "coin must name one coin" in doc["error"]
    assert "\n" not in doc["error"]
    assert ok == 200 and rows == []
