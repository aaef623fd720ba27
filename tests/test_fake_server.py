"""The fake Hyperliquid server itself: seeds, pagination, faults, modelled accounts, SDK."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio
from hyperliquid.info import Info  # type: ignore[import-untyped]

from tests.fakes import loaders, seed
from tests.fakes.hyperliquid import FakeHyperliquid

CCXT = seed.FIXTURES_DIR / "other_repos" / "ccxt"
DOCS = seed.FIXTURES_DIR / "docs_examples"
USER = "0x" + "ab" * 20


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """One client session per test."""
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http: aiohttp.ClientSession, fake: FakeHyperliquid, body: dict[str, Any]) -> Any:
    """POST /info and return the parsed JSON of a 200 answer."""
    async with http.post(f"{fake.url}/info", json=body) as response:
        assert response.status == 200, await response.text()
        return orjson.loads(await response.read())


async def status_of(
    http: aiohttp.ClientSession, fake: FakeHyperliquid, body: dict[str, Any]
) -> tuple[int, str]:
    """POST /info and return (status, body text) whatever the status."""
    async with http.post(f"{fake.url}/info", json=body) as response:
        return response.status, await response.text()


def fills(times: list[int]) -> list[dict[str, Any]]:
    """Synthetic fills at the given times (ms), recorded newest first like the venue."""
    made = [
        {"coin": "BTC", "px": "1.0", "sz": "1.0", "side": "B", "time": t, "tid": i}
        for i, t in enumerate(times)
    ]
    return sorted(made, key=lambda f: -f["time"])


def summed(state: dict[str, Any], field: str, mode: str | None = None) -> Decimal:
    """Sum of a position field over positions (optionally of one margin mode)."""
    positions = [p["position"] for p in state["assetPositions"]]
    return sum(
        (Decimal(p[field]) for p in positions if mode in (None, p["leverage"]["type"])), Decimal(0)
    )


# --- seeded state -------------------------------------------------------------------------------


def test_every_ccxt_clearinghouse_fixture_has_a_seeded_address() -> None:
    names = {p.name for p in CCXT.glob("clearinghouseState*.json")}
    assert names
    assert names == set(seed._CCXT_STATES)
    assert set(seed._CCXT_STATES.values()) <= set(seed.SEEDED_ACCOUNTS)


@pytest.mark.asyncio
async def test_seeded_states_are_served_verbatim(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    expected = {user: loaders.read_json(CCXT / name) for name, user in seed._CCXT_STATES.items()}
    expected[seed.DOCS_ISOLATED_ETH] = loaders.read_json(DOCS / "clearinghouseState.json")
    for user, recorded in expected.items():
        assert await post(http, hl_fake, {"type": "clearinghouseState", "user": user}) == recorded
    hype = await post(
        http,
        hl_fake,
        {"type": "clearinghouseState", "user": seed.ISOLATED_SHORT_HYPE, "dex": ""},
    )
    assert hype["time"] == "1761803589961"  # ccxt's stringified integers are kept as recorded
    assert hype["assetPositions"][0]["position"]["leverage"]["value"] == "10"


def test_normalise_turns_stringified_integers_into_numbers() -> None:
    state = FakeHyperliquid.seeded(normalise=True).clearinghouse_state(seed.ISOLATED_SHORT_HYPE)
    position = state["assetPositions"][0]["position"]
    assert (state["time"], position["leverage"]["value"], position["maxLeverage"]) == (
        1761803589961,
        10,
        10,
    )
    assert position["szi"] == "-4.0"  # decimals stay strings


@pytest.mark.asyncio
async def test_marks_agree_with_loaded_positions(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    meta, ctxs = await post(http, hl_fake, {"type": "metaAndAssetCtxs"})
    marks = {a["name"]: Decimal(c["markPx"]) for a, c in zip(meta["universe"], ctxs, strict=True)}
    assert marks["HYPE"] == Decimal("192.58") / 4  # isolated HYPE short, the newest recording
    assert marks["SOL"] == Decimal("68.98") / Decimal(
        "0.5"
    )  # cross SOL short (2024-10) beats 2024-03
    assert {t[0] for t in meta["marginTables"]} == set(range(50, 57))
    mids = await post(http, hl_fake, {"type": "allMids"})
    assert mids["HYPE"] == "48.145"
    assert set(mids) == set(marks)
    assert await post(http, hl_fake, {"type": "meta", "dex": ""}) == meta


@pytest.mark.asyncio
async def test_hip3_dex_is_listed_and_served(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    dexes = await post(http, hl_fake, {"type": "perpDexs"})
    assert dexes[0] is None
    assert [d["name"] for d in dexes[1:]] == ["flx"]
    meta, ctxs = await post(http, hl_fake, {"type": "metaAndAssetCtxs", "dex": "flx"})
    assert [a["name"] for a in meta["universe"]] == ["flx:CRCL"]
    assert len(ctxs) == 1
    state = await post(
        http, hl_fake, {"type": "clearinghouseState", "user": seed.HIP3_FLX, "dex": "flx"}
    )
    assert [p["position"]["coin"] for p in state["assetPositions"]] == ["flx:CRCL"]
    main = await post(http, hl_fake, {"type": "clearinghouseState", "user": seed.HIP3_FLX})
    assert main["assetPositions"] == []
    status, text = await status_of(
        http, hl_fake, {"type": "clearinghouseState", "user": USER, "dex": "nope"}
    )
    assert status == 422
    assert "nope" in text


@pytest.mark.asyncio
async def test_users_are_matched_case_insensitively(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    lower = seed.ISOLATED_SHORT_HYPE
    mixed = "0x" + lower[2:].upper()
    assert await post(http, hl_fake, {"type": "clearinghouseState", "user": mixed}) == await post(
        http, hl_fake, {"type": "clearinghouseState", "user": lower}
    )
    upper_fills = await post(
        http,
        hl_fake,
        {"type": "userFills", "user": seed.HLP_LIQUIDATOR.upper().replace("X", "x")},
    )
    assert len(upper_fills) == 5
    assert {r.user for r in hl_fake.requests} == {lower, seed.HLP_LIQUIDATOR}


@pytest.mark.asyncio
async def test_unknown_user_gets_the_empty_account_shape(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    before = time.time() * 1000
    state = await post(http, hl_fake, {"type": "clearinghouseState", "user": USER})
    zero = {
        "accountValue": "0.0",
        "totalNtlPos": "0.0",
        "totalRawUsd": "0.0",
        "totalMarginUsed": "0.0",
    }
    assert state["assetPositions"] == []
    assert state["marginSummary"] == state["crossMarginSummary"] == zero
    assert before - 1 <= state["time"] <= time.time() * 1000 + 1
    assert await post(http, hl_fake, {"type": "spotClearinghouseState", "user": USER}) == {
        "balances": []
    }
    assert await post(http, hl_fake, {"type": "userFills", "user": USER}) == []
    assert await post(http, hl_fake, {"type": "vaultDetails", "vaultAddress": USER}) is None


@pytest.mark.asyncio
async def test_bad_requests_get_venue_style_errors(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    assert (await status_of(http, hl_fake, {"type": "webData2", "user": USER}))[0] == 422
    assert (await status_of(http, hl_fake, {"type": "clearinghouseState"})) == (
        422,
        "Failed to deserialize the JSON body into the target type: missing field `user`",
    )
    assert (await status_of(http, hl_fake, {"type": "clearinghouseState", "user": "0x12"}))[
        0
    ] == 422
    assert (await status_of(http, hl_fake, {"type": "userFillsByTime", "user": USER}))[0] == 422
    assert (
        await status_of(http, hl_fake, {"type": "batchClearinghouseStates", "users": [USER]})
    ) == (500, "null")
    async with http.post(
        f"{hl_fake.url}/info", data=b'{"type": ', headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 400


@pytest.mark.asyncio
async def test_other_seeded_records(hl_fake: FakeHyperliquid, http: aiohttp.ClientSession) -> None:
    spot = await post(http, hl_fake, {"type": "spotClearinghouseState", "user": seed.HIP3_FLX})
    assert spot == loaders.read_json(CCXT / "spotClearinghouseState.json")
    vault = await post(http, hl_fake, {"type": "vaultDetails", "vaultAddress": seed.HLP_PARENT})
    assert seed.HLP_LIQUIDATOR in vault["relationship"]["data"]["childAddresses"]
    ledger = await post(
        http,
        hl_fake,
        {"type": "userNonFundingLedgerUpdates", "user": seed.EMPTY_ACCOUNT, "startTime": 0},
    )
    assert [e["delta"]["type"] for e in ledger] == [
        "deposit",
        "accountClassTransfer",
        "withdraw",
    ]  # earliest first
    spot_meta = await post(http, hl_fake, {"type": "spotMeta"})
    assert spot_meta["universe"][0]["name"] == "PURR/USDC"
    assert spot_meta["tokens"]


# --- pagination ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_user_fills_returns_the_newest_2000_newest_first(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    hl_fake.put_fills(USER, fills(list(range(1000, 3500))))
    got = await post(http, hl_fake, {"type": "userFills", "user": USER, "aggregateByTime": False})
    assert [f["time"] for f in got] == list(range(3499, 1499, -1))
    assert hl_fake.requests[-1].weight == 20 + 2000 // 20


@pytest.mark.asyncio
async def test_user_fills_by_time_pages_forward_over_the_newest_10000(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    times = [10_000 + i // 4 for i in range(12_000)]  # four fills per millisecond
    hl_fake.put_fills(USER, fills(times))
    available = {f["tid"] for f in fills(times) if f["tid"] >= 2000}
    seen: set[int] = set()
    start, pages = 0, 0
    while True:
        page = await post(
            http,
            hl_fake,
            {"type": "userFillsByTime", "user": USER, "startTime": start, "endTime": None},
        )
        assert len(page) <= 2000
        assert [f["time"] for f in page] == sorted((f["time"] for f in page), reverse=True)
        assert all(f["time"] >= start for f in page)
        new = {f["tid"] for f in page} - seen
        if not new:
            break
        seen |= new
        start, pages = page[0]["time"], pages + 1  # newest of the page = last time
    assert seen == available
    assert pages == 6
    window = await post(
        http,
        hl_fake,
        {"type": "userFillsByTime", "user": USER, "startTime": 12_000, "endTime": 12_001},
    )
    assert sorted(f["time"] for f in window) == [12_000] * 4 + [12_001] * 4  # both ends inclusive


@pytest.mark.asyncio
async def test_funding_and_ledger_pages_are_500_earliest_first(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    records = [
        {"time": t, "hash": "0x0", "delta": {"type": "funding", "usdc": "1.0"}}
        for t in range(1, 1201)
    ]
    hl_fake.put_funding(USER, records)
    hl_fake.put_ledger(USER, records[::-1])
    for request_type in ("userFunding", "userNonFundingLedgerUpdates"):
        body = {"type": request_type, "user": USER, "startTime": 100}
        first = await post(http, hl_fake, body)
        assert [r["time"] for r in first] == list(range(100, 600))
        last = await post(http, hl_fake, {**body, "startTime": 1000, "endTime": 1100})
        assert [r["time"] for r in last] == list(range(1000, 1101))
    assert [r.weight for r in hl_fake.requests] == [20 + 25, 20 + 5, 20, 20]


# --- modelled accounts --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_modelled_account_is_internally_consistent_at_every_mark(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    positions = [
        {"coin": "BTC", "size": "0.5", "entry_px": "80000", "leverage": 10, "margin_mode": "cross"},
        {"coin": "ETH", "size": "-3", "entry_px": "2500", "leverage": 5, "margin_mode": "cross"},
        {"coin": "HYPE", "size": "-40", "entry_px": "50", "leverage": 4, "margin_mode": "isolated"},
    ]
    hl_fake.put_model_account(USER, "20000", positions)
    for btc in ("84000", "70000", "95000.5"):
        hl_fake.set_mark("BTC", btc)
        state = await post(http, hl_fake, {"type": "clearinghouseState", "user": USER})
        marks = {c: Decimal(p) for c, p in (await post(http, hl_fake, {"type": "allMids"})).items()}
        whole, cross = state["marginSummary"], state["crossMarginSummary"]
        szi_mark = {
            p["position"]["coin"]: Decimal(p["position"]["szi"]) * marks[p["position"]["coin"]]
            for p in state["assetPositions"]
        }
        assert Decimal(whole["accountValue"]) == Decimal(whole["totalRawUsd"]) + sum(
            szi_mark.values()
        )
        assert (
            Decimal(cross["accountValue"])
            == Decimal(cross["totalRawUsd"]) + szi_mark["BTC"] + szi_mark["ETH"]
        )
        assert Decimal(whole["totalNtlPos"]) == summed(state, "positionValue")
        assert Decimal(whole["totalMarginUsed"]) == summed(state, "marginUsed")
        assert Decimal(cross["totalMarginUsed"]) == summed(state, "marginUsed", "cross")
        mm = (
            marks["BTC"] * Decimal("0.5") / 80 + marks["ETH"] * 3 / 50
        )  # tier 0 of tables 56 and 55
        assert Decimal(state["crossMaintenanceMarginUsed"]) == mm.quantize(Decimal("0.000001"))
        by_coin = {p["position"]["coin"]: p["position"] for p in state["assetPositions"]}
        assert Decimal(by_coin["BTC"]["unrealizedPnl"]) == Decimal("0.5") * (marks["BTC"] - 80000)
        assert (
            Decimal(by_coin["BTC"]["positionValue"])
            == Decimal("0.5") * Decimal(btc)
            == Decimal("0.5") * marks["BTC"]
        )
        assert by_coin["HYPE"]["leverage"]["type"] == "isolated"
        assert "rawUsd" in by_coin["HYPE"]["leverage"]


@pytest.mark.asyncio
async def test_model_reproduces_the_recorded_isolated_hype_short(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    recorded = loaders.read_json(CCXT / "clearinghouseState_isolated_short_HYPE.json")
    raw_usd = Decimal("211.144417")
    position = {
        "coin": "HYPE",
        "size": "-4.0",
        "entry_px": "47.9932",
        "leverage": 10,
        "margin_mode": "isolated",
    }
    hl_fake.put_model_account(
        USER, "57.6421", [{**position, "isolated_margin": raw_usd - 4 * Decimal("47.9932")}]
    )
    state = await post(http, hl_fake, {"type": "clearinghouseState", "user": USER})
    got, want = state["assetPositions"][0]["position"], recorded["assetPositions"][0]["position"]
    assert got["liquidationPx"] == "50.2724802381" == want["liquidationPx"]
    for field in ("positionValue", "marginUsed", "entryPx"):
        assert got[field] == want[field]
    assert got["leverage"]["rawUsd"] == want["leverage"]["rawUsd"]
    for summary in ("marginSummary", "crossMarginSummary"):
        assert state[summary] == recorded[summary]
    assert state["withdrawable"] == recorded["withdrawable"]


def test_model_reproduces_the_recorded_cross_sol_short() -> None:
    recorded = loaders.read_json(CCXT / "clearinghouseState_cross_short_SOL.json")
    fake = FakeHyperliquid()
    fake.dex().add_coin("SOL", "137.96", max_leverage=50)
    fake.dex().add_coin("ETH", "2387", max_leverage=50)
    positions = [
        {"coin": "SOL", "size": "-0.5", "entry_px": "138.76", "leverage": 20},
        {"coin": "ETH", "size": "1.6", "entry_px": "1100.0", "leverage": 20},
    ]
    fake.put_model_account(USER, "7773.996934", positions)
    state = fake.clearinghouse_state(USER)
    assert [p["position"]["liquidationPx"] for p in state["assetPositions"]] == [
        "22881.19788911",
        None,
    ]
    assert state["crossMaintenanceMarginUsed"] == recorded["crossMaintenanceMarginUsed"]
    assert state["marginSummary"] == recorded["marginSummary"]
    assert [p["position"]["unrealizedPnl"] for p in state["assetPositions"]] == ["0.4", "2059.2"]


def test_tiered_liquidation_price_uses_the_tier_at_that_price() -> None:
    fake = FakeHyperliquid.seeded()
    fake.set_mark("BTC", "100000")
    # Reference §3.2: cross long 2000 BTC, account value 30M -> tier 1 of table 56 -> 86,217.95.
    fake.put_model_account(
        USER,
        30_000_000 - 2000 * 100_000,
        [{"coin": "BTC", "size": 2000, "entry_px": 100_000, "leverage": 20}],
    )
    liq = Decimal(fake.clearinghouse_state(USER)["assetPositions"][0]["position"]["liquidationPx"])
    assert abs(liq - Decimal("86217.95")) < Decimal("0.01")  # tier 0 alone would give 86,075.95


def test_model_rejects_unlisted_coins_and_zero_sizes() -> None:
    fake = FakeHyperliquid.seeded()
    with pytest.raises(KeyError, match="DOGE"):
        fake.put_model_account(
            USER, 100, [{"coin": "DOGE", "size": 1, "entry_px": 1, "leverage": 1}]
        )
    with pytest.raises(ValueError, match="non-zero"):
        fake.put_model_account(
            USER, 100, [{"coin": "BTC", "size": 0, "entry_px": 1, "leverage": 1}]
        )


# --- faults -------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_fail_next_then_recovers(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    hl_fake.faults.fail_next(2, status=429, retry_after=1.5)
    body = {"type": "clearinghouseState", "user": seed.CROSS_LONG_2024}
    for _ in range(2):
        async with http.post(f"{hl_fake.url}/info", json=body) as response:
            assert (response.status, response.headers.get("Retry-After")) == (429, "1.5")
    assert (await status_of(http, hl_fake, body))[0] == 200
    assert hl_fake.faults.fired == [("clearinghouseState", "429")] * 2


@pytest.mark.asyncio
async def test_every_nth_fires_on_schedule_for_its_types_only(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    hl_fake.faults.every_nth(3, "500", types={"clearinghouseState"})
    state = {"type": "clearinghouseState", "user": USER}
    statuses = []
    for _ in range(7):
        statuses.append((await status_of(http, hl_fake, state))[0])
        assert (await status_of(http, hl_fake, {"type": "allMids"}))[0] == 200
    assert statuses == [200, 200, 500, 200, 200, 500, 200]


@pytest.mark.asyncio
async def test_garbage_is_a_200_that_is_not_json(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    hl_fake.faults.every_nth(1, "garbage", types=["meta"])
    status, text = await status_of(http, hl_fake, {"type": "meta"})
    assert status == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)


@pytest.mark.asyncio
async def test_stall_outlasts_a_client_timeout(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    hl_fake.faults.fail_next(1, kind="stall")
    hl_fake.faults.stall_seconds = 5.0
    with pytest.raises(asyncio.TimeoutError):  # 0.2 s into the 5 s stall, not after it
        async with http.post(
            f"{hl_fake.url}/info",
            json={"type": "allMids"},
            timeout=aiohttp.ClientTimeout(total=0.2),
        ):
            pass
    assert hl_fake.requests == []  # when the client gave up, the stalled request had no answer
    assert (await status_of(http, hl_fake, {"type": "allMids"}))[0] == 200


@pytest.mark.asyncio
async def test_reset_drops_the_connection(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    hl_fake.faults.fail_next(1, kind="reset")
    with pytest.raises(aiohttp.ClientConnectionError):
        await status_of(http, hl_fake, {"type": "allMids"})
    assert (await status_of(http, hl_fake, {"type": "allMids"}))[0] == 200


@pytest.mark.asyncio
async def test_delay_holds_every_answer(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    hl_fake.faults.delay(0.2)
    started = time.monotonic()
    await post(http, hl_fake, {"type": "perpDexs"})
    assert time.monotonic() - started >= 0.2
    hl_fake.faults.delay(0)
    assert not hl_fake.faults.active


@pytest.mark.asyncio
async def test_drift_rewrites_the_answer(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    def drop_and_retype(state: dict[str, Any]) -> None:
        del state["crossMaintenanceMarginUsed"]
        state["withdrawable"] = float(state["withdrawable"])

    hl_fake.faults.drift(drop_and_retype, types={"clearinghouseState"})
    state = await post(
        http, hl_fake, {"type": "clearinghouseState", "user": seed.ISOLATED_SHORT_HYPE}
    )
    assert "crossMaintenanceMarginUsed" not in state
    assert state["withdrawable"] == 57.6421
    hl_fake.faults.clear()
    state = await post(
        http, hl_fake, {"type": "clearinghouseState", "user": seed.ISOLATED_SHORT_HYPE}
    )
    assert state["withdrawable"] == "57.6421"  # the stored answer was not touched


# --- observability ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_requests_and_weights_are_recorded(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    started = time.time()
    await post(http, hl_fake, {"type": "clearinghouseState", "user": USER, "dex": "flx"})
    await post(http, hl_fake, {"type": "spotClearinghouseState", "user": USER})
    await post(http, hl_fake, {"type": "metaAndAssetCtxs"})
    await post(http, hl_fake, {"type": "userFills", "user": seed.SDK_FILLS_USER})
    assert [(r.type, r.user, r.dex) for r in hl_fake.requests] == [
        ("clearinghouseState", USER, "flx"),
        ("spotClearinghouseState", USER, None),
        ("metaAndAssetCtxs", None, ""),
        ("userFills", seed.SDK_FILLS_USER, None),
    ]
    assert hl_fake.weight_used() == 2 + 2 + 20 + (20 + 500 // 20)
    assert hl_fake.weight_used(since=started) == hl_fake.weight_used()
    assert hl_fake.weight_used(since=time.time() + 1) == 0


# --- loading recorded directories ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_load_directory_serves_recorded_accounts(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    recorded = loaders.read_json(CCXT / "clearinghouseState_cross_long_2024.json")
    hip3 = {**loaders.read_json(DOCS / "clearinghouseState.json")}
    hip3["assetPositions"] = [
        {**p, "position": {**p["position"], "coin": "xyz:XYZ100"}} for p in hip3["assetPositions"]
    ]
    account = tmp_path / "0xAbCdEf0000000000000000000000000000000001"
    account.mkdir()
    (account / "clearinghouseState.json").write_bytes(orjson.dumps(recorded))
    (account / "clearinghouseState.xyz.json").write_bytes(orjson.dumps(hip3))
    (account / "userFills.json").write_bytes((DOCS / "userFills.json").read_bytes())
    (tmp_path / "perpDexs.json").write_bytes(orjson.dumps([None, {"name": "xyz"}]))
    fake = FakeHyperliquid()
    loaders.load_directory(fake, tmp_path, normalise=True)
    async with fake:
        user = account.name.lower()
        state = await post(http, fake, {"type": "clearinghouseState", "user": user})
        assert state["time"] == 1709652410317
        assert state["assetPositions"][0]["position"]["leverage"]["value"] == 20
        assert (await post(http, fake, {"type": "allMids"})) == {"SOL": "138.91", "ETH": "3803.9"}
        assert (await post(http, fake, {"type": "allMids", "dex": "xyz"})) == {
            "xyz:XYZ100": "2985.9"
        }
        assert (
            await post(http, fake, {"type": "clearinghouseState", "user": user, "dex": "xyz"})
            == hip3
        )
        assert len(await post(http, fake, {"type": "userFills", "user": user})) == 3
    (tmp_path / "notes.json").write_text("{}")
    with pytest.raises(ValueError, match=r"notes\.json"):
        loaders.load_directory(FakeHyperliquid(), tmp_path)


# --- the official SDK against the fake ----------------------------------------------------------


@pytest.mark.asyncio
async def test_official_sdk_user_state_with_meta_makes_no_init_calls(
    hl_fake: FakeHyperliquid,
) -> None:
    meta, spot_meta = hl_fake.dex().meta, hl_fake.spot_meta
    info = await asyncio.to_thread(Info, hl_fake.url, True, meta, spot_meta)
    assert hl_fake.requests == []
    state = await asyncio.to_thread(info.user_state, seed.ISOLATED_SHORT_HYPE)
    assert state == loaders.read_json(CCXT / "clearinghouseState_isolated_short_HYPE.json")
    assert [r.type for r in hl_fake.requests] == ["clearinghouseState"]


@pytest.mark.asyncio
async def test_official_sdk_works_without_meta(hl_fake: FakeHyperliquid) -> None:
    info = await asyncio.to_thread(Info, hl_fake.url, True)
    assert [(r.type, r.dex) for r in hl_fake.requests] == [("spotMeta", None), ("meta", "")]
    assert info.name_to_coin["HYPE"] == "HYPE"
    assert info.coin_to_asset["PURR/USDC"] == 10000
    state = await asyncio.to_thread(info.user_state, seed.HIP3_FLX, "flx")
    assert state["assetPositions"][0]["position"]["coin"] == "flx:CRCL"
    fills_page = await asyncio.to_thread(info.user_fills_by_time, seed.SDK_FILLS_USER, 0)
    assert len(fills_page) == 500


@pytest.mark.asyncio
async def test_hl_fake_fixture_runs_on_loopback(
    hl_fake: FakeHyperliquid, http: aiohttp.ClientSession
) -> None:
    assert hl_fake.url.startswith("http://127.0.0.1:")
    assert not hl_fake.url.endswith(":0")
    assert len(await post(http, hl_fake, {"type": "userFills", "user": seed.HLP_LIQUIDATOR})) == 5
