"""Malformed venue answers of every shape: one VenueResponseError line naming request and key.

Two ways in: hostile answers served by the fake venue (a 200 with the body we script) through the
client, the poller, the history readers and the `tracker snapshot` command; and, for every shape,
each key of a real answer deleted, nulled or given another JSON type, through parse_* directly.
Whatever the mutation, parse_* returns records or raises VenueResponseError; nothing else.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import pytest

from tests.conftest import run_cli, tracker_env
from tests.fakes import seed
from tests.history_data import make_fills
from tests.test_snapshot import write_watchlist
from tracker.app.poller import HyperliquidPoller
from tracker.errors import VenueResponseError
from tracker.net.http import RetryPolicy
from tracker.net.limiter import WeightLimiter
from tracker.sources.hyperliquid import client as hl
from tracker.sources.hyperliquid import history, shapes
from tracker.sources.hyperliquid.leaderboard import parse_leaderboard, parse_sub_accounts
from tracker.sources.hyperliquid.ws_parse import parse_frame

TS = datetime(2026, 1, 31, tzinfo=UTC)
ADDR = "0x" + "ab" * 20
USER = "0x" + "cd" * 20
FIX = seed.FIXTURES_DIR


def _load(path: str) -> Any:
    return orjson.loads((FIX / path).read_bytes())


def _meta_sample() -> Any:
    meta, ctxs = _load("docs_examples/metaAndAssetCtxs_first_dex.json")
    meta = {**meta, "universe": meta["universe"][:2], "marginTables": meta["marginTables"][:2]}
    return [meta, ctxs[:2]]


TRADE = {
    "coin": "ETH",
    "side": "A",
    "px": "2891.4",
    "sz": "0.5",
    "hash": "0x" + "12" * 32,
    "time": 1_769_644_800_123,
    "tid": 77,
    "users": [ADDR, USER],
}
LIQUIDATION = {
    "lid": 4412,
    "liquidator": seed.HLP_LIQUIDATOR,
    "liquidated_user": USER,
    "liquidated_ntl_pos": "1830021.77",
    "liquidated_account_value": "40012.5",
}
LEDGER_LIQUIDATION = {
    "time": 1_769_644_800_000,
    "hash": "0x" + "34" * 32,
    "delta": {
        "type": "liquidation",
        "liquidatedNtlPos": "120000.5",
        "accountValue": "-12.5",
        "leverageType": "Cross",
        "liquidatedPositions": [{"coin": "ETH", "szi": "-40.1"}],
    },
}
VAULT = {
    "name": "HLP",
    "relationship": {"type": "parent", "data": {"childAddresses": [ADDR, USER]}},
}
LEADER_ROW = {
    "ethAddress": ADDR,
    "accountValue": "48857952.33",
    "displayName": "ABC",
    "windowPerformances": [["day", {"pnl": "644054.37", "roi": "0.0133", "vlm": "3250555746.66"}]],
}


def _frame(channel: str) -> Callable[[object], object]:
    def parse(value: object) -> object:
        return parse_frame(json.dumps({"channel": channel, "data": value}), TS)

    return parse


# (what, parse, real answer): every shape parse_* reads.
SAMPLES: list[tuple[str, Callable[[object], object], Any]] = [
    (
        "clearinghouseState",
        lambda r: hl.parse_clearinghouse_state(r, ADDR),
        _load("docs_examples/clearinghouseState.json"),
    ),
    (
        "clearinghouseState cross",
        lambda r: hl.parse_clearinghouse_state(r, ADDR),
        _load("other_repos/ccxt/clearinghouseState_cross_short_SOL.json"),
    ),
    (
        "spotClearinghouseState",
        lambda r: hl.parse_spot_state(r, ADDR, TS),
        _load("other_repos/ccxt/spotClearinghouseState.json"),
    ),
    ("metaAndAssetCtxs", lambda r: hl.parse_meta_and_asset_ctxs(r, "", TS), _meta_sample()),
    ("perpDexs", hl.parse_perp_dexs, _load("docs_examples/perpDexs.json")),
    ("vaultDetails", lambda r: hl.parse_vault_details(r, ADDR), VAULT),
    ("subAccounts", lambda r: parse_sub_accounts(r, ADDR), _load("docs_examples/subAccounts.json")),
    ("userFills", lambda r: history.parse_fills(r, ADDR), _load("docs_examples/userFills.json")),
    (
        "userFills liquidation",
        lambda r: history.parse_fills(r, ADDR),
        _load("other_repos/ccxt/userFills_with_market_liquidation.json")[:2],
    ),
    (
        "userFunding",
        lambda r: history.parse_funding(r, ADDR),
        _load("docs_examples/userFunding_first_dex.json"),
    ),
    (
        "userNonFundingLedgerUpdates",
        lambda r: history.parse_ledger(r, ADDR),
        [
            *_load("other_repos/ccxt/userNonFundingLedgerUpdates_deposit_withdraw.json")[:2],
            LEDGER_LIQUIDATION,
        ],
    ),
    ("ws trades", _frame("trades"), [TRADE]),
    ("ws allMids", _frame("allMids"), {"mids": {"BTC": "84980.5", "xyz:XYZ100": "1.5"}}),
    (
        "ws activeAssetCtx",
        _frame("activeAssetCtx"),
        {"coin": "ETH", "ctx": {"markPx": "2891.35", "midPx": "2891.45", "funding": "0.00001"}},
    ),
    (
        "ws userFills",
        _frame("userFills"),
        {"isSnapshot": True, "user": USER, "fills": _load("docs_examples/userFills.json")},
    ),
    ("ws user", _frame("user"), {"liquidation": LIQUIDATION}),
    (
        "ws frame",
        lambda r: parse_frame(json.dumps(r), TS),
        {"channel": "trades", "data": [TRADE]},
    ),
]
HOSTILE: list[object] = [None, True, 0, -1, 10**30, 1.5, "", "x", "1e9999", [], [None], {}]
DELETE = object()


def _paths(value: object, path: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    """Every key of every object and the first two entries of every list, depth first."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*path, key)
            yield from _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value[:2]):
            yield (*path, index)
            yield from _paths(inner, (*path, index))


def _at(answer: object, path: tuple[object, ...]) -> object:
    value: Any = answer
    for step in path:
        value = value[step]
    return value


def _mutated(answer: object, path: tuple[object, ...], new: object) -> object:
    """A copy of answer with the value at path replaced (or deleted), as the wire carries it."""
    out = copy.deepcopy(answer)
    parent: Any = out
    for step in path[:-1]:
        parent = parent[step]
    if new is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return orjson.loads(json.dumps(out))  # as decoded off the wire: 10**30 arrives as 1e+30


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return {str(k) for k in value} | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def _check_error(exc: VenueResponseError, key: object, was: object = None) -> None:
    """One line naming the request; and the key changed, or a key it held that is now missing."""
    text = str(exc)
    assert "\n" not in text and "request=" in text, text
    if isinstance(key, str):
        named = {key} | _keys(was)
        assert any(re.search(rf"(?<![A-Za-z]){k}(?![A-Za-z])", text) for k in named), text


@pytest.mark.parametrize(("what", "parse", "answer"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_every_mutation_of_every_key_is_a_record_or_one_line_naming_the_key(
    what: str, parse: Callable[[object], object], answer: Any
) -> None:
    parse(answer)  # the real answer parses
    failures = 0
    for path in _paths(answer):
        for new in (DELETE, *HOSTILE) if isinstance(path[-1], str) else HOSTILE:
            try:
                parse(_mutated(answer, path, new))
            except VenueResponseError as exc:
                failures += 1
                # A list of one null is about its entry, which error messages name.
                _check_error(exc, path[-1] if new != [None] else None, _at(answer, path))
    assert failures, f"no mutation of {what} was refused"


@pytest.mark.parametrize(
    "answer", [None, 0, "x", [], {}, [None], {"channel": None}], ids=lambda a: repr(a)
)
def test_answers_of_the_wrong_kind_altogether(answer: object) -> None:
    for what, parse, _ in SAMPLES:
        if answer is None and what in ("vaultDetails", "subAccounts"):
            continue  # null is how the venue says "none": no error
        try:
            parse(answer)
        except VenueResponseError as exc:
            _check_error(exc, None)


def test_a_required_key_missing_names_the_key_and_where_it_was_missing() -> None:
    state = _load("docs_examples/clearinghouseState.json")
    del state["assetPositions"][0]["position"]["leverage"]["type"]
    with pytest.raises(VenueResponseError) as caught:
        hl.parse_clearinghouse_state(state, ADDR, "xyz")
    assert str(caught.value) == (
        "unexpected clearinghouseState answer: leverage lacks 'type' "
        f"(venue=hyperliquid, request=clearinghouseState, address={ADDR}, dex=xyz)"
    )
    state = _load("docs_examples/clearinghouseState.json")
    state["crossMarginSummary"] = None
    with pytest.raises(VenueResponseError, match="crossMarginSummary is null, expected an object"):
        hl.parse_clearinghouse_state(state, ADDR)
    trade = {**TRADE, "px": ["2891.4"]}
    with pytest.raises(VenueResponseError, match="'px' is a list, expected a number"):
        parse_frame(orjson.dumps({"channel": "trades", "data": [trade]}), TS)


def test_a_state_with_two_positions_on_one_coin_is_refused_in_one_line() -> None:
    # the live book keeps one row per account and coin (tracker.risk.live.book)
    state = _load("docs_examples/clearinghouseState.json")
    first = state["assetPositions"][0]
    state["assetPositions"].append(copy.deepcopy(first))
    coin = first["position"]["coin"]
    with pytest.raises(VenueResponseError) as caught:
        hl.parse_clearinghouse_state(state, ADDR)
    assert str(caught.value) == (
        f"unexpected clearinghouseState answer: two positions on {coin!r} "
        f"(venue=hyperliquid, request=clearinghouseState, address={ADDR})"
    )
    del state["assetPositions"][-1]
    assert [p.coin for p in hl.parse_clearinghouse_state(state, ADDR).positions].count(coin) == 1


def test_leaderboard_rows_of_any_shape_are_skipped_with_one_line() -> None:
    good = json.dumps({"leaderboardRows": [LEADER_ROW]}).encode()
    assert len(parse_leaderboard(good, TS).rows) == 1
    for path in _paths(LEADER_ROW):
        for new in (DELETE, *HOSTILE) if isinstance(path[-1], str) else HOSTILE:
            row = _mutated(LEADER_ROW, path, new)
            board = parse_leaderboard(json.dumps({"leaderboardRows": [row]}).encode(), TS)
            if board.skipped:
                assert board.first_problem and "\n" not in board.first_problem
    for body in (b"null", b"[]", b'{"leaderboardRows": null}', b'{"leaderboardRows": {}}'):
        with pytest.raises(VenueResponseError, match="not a leaderboard"):
            parse_leaderboard(body, TS)


def test_shapes_know_their_required_keys() -> None:
    """A TypedDict of string annotations would count NotRequired keys as required (3.11)."""
    assert shapes.POSITION.required == {
        "coin",
        "szi",
        "leverage",
        "positionValue",
        "unrealizedPnl",
        "marginUsed",
    }
    assert shapes.FILL.required == {"coin", "side", "px", "sz", "time"}
    assert shapes.CLEARINGHOUSE_STATE.required == {
        "marginSummary",
        "crossMarginSummary",
        "withdrawable",
    }
    assert shapes.VAULT_DETAILS.required == frozenset()


# ---------------------------------------------------------------- through the fake venue


@pytest.fixture
async def session() -> Any:
    async with aiohttp.ClientSession() as s:
        yield s


def _client(session: aiohttp.ClientSession, url: str) -> hl.HyperliquidClient:
    return hl.HyperliquidClient(
        session,
        url,
        limiter=WeightLimiter(0),
        policy=RetryPolicy(retries=2, timeout_s=2.0, base_delay_s=0.01),
    )


def _state_with(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    state: dict[str, Any] = _load("docs_examples/clearinghouseState.json")
    change(state)
    return state


STATE_FAULTS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "missing key": (lambda s: s.pop("withdrawable"), "the answer lacks 'withdrawable'"),
    "wrong type": (
        lambda s: s["marginSummary"].update(accountValue=[]),
        "'accountValue' is a list, expected a number",
    ),
    "null object": (
        lambda s: s.update(crossMarginSummary=None),
        "crossMarginSummary is null, expected an object",
    ),
    "null position": (
        lambda s: s["assetPositions"][0].update(position=None),
        "position is null, expected an object",
    ),
    "text leverage": (
        lambda s: s["assetPositions"][0]["position"].update(leverage="20x"),
        "leverage is text, expected an object",
    ),
}


@pytest.mark.parametrize("fault", list(STATE_FAULTS), ids=list(STATE_FAULTS))
async def test_malformed_state_served_by_the_venue_skips_the_account_with_one_line(
    hl_fake: Any, session: aiohttp.ClientSession, fault: str
) -> None:
    change, expected = STATE_FAULTS[fault]
    hl_fake.faults.fail_next(
        2, status=200, body=_state_with(change), types={"clearinghouseState"}
    )  # the poller asks once more after an unusable answer
    poller = HyperliquidPoller(_client(session, hl_fake.url))
    (report,) = (
        await poller.poll([seed.CROSS_SHORT_SOL], TS, state_only=frozenset({seed.CROSS_SHORT_SOL}))
    ).reports
    assert not report.accounts
    (error,) = report.errors
    assert "\n" not in error and expected in error, error
    assert "request=clearinghouseState" in error and seed.CROSS_SHORT_SOL in error


@pytest.mark.parametrize(
    ("request_type", "body", "expected"),
    [
        (
            "spotClearinghouseState",
            {"balances": [{"coin": "USDC"}]},
            "a balances entry lacks 'total'",
        ),
        ("spotClearinghouseState", {"balances": {}}, "balances is an object, expected a list"),
        ("metaAndAssetCtxs", [{"universe": None}, []], "universe is null, expected a list"),
        ("metaAndAssetCtxs", [{}, []], "meta lacks 'universe'"),
        ("perpDexs", [None, {"fullName": "x"}], "a dex lacks 'name'"),
        (
            "vaultDetails",
            {"relationship": {"data": {"childAddresses": [7]}}},
            "a childAddresses entry is not an address: 7",
        ),
    ],
)
async def test_malformed_market_and_vault_answers_served_by_the_venue(
    hl_fake: Any, session: aiohttp.ClientSession, request_type: str, body: object, expected: str
) -> None:
    hl_fake.faults.fail_next(1, status=200, body=body, types={request_type})
    client = _client(session, hl_fake.url)
    raw = {
        "spotClearinghouseState": lambda: client.fetch_spot_state(ADDR),
        "metaAndAssetCtxs": lambda: client.fetch_meta_and_asset_ctxs(""),
        "perpDexs": client.fetch_perp_dexs,
        "vaultDetails": lambda: client.fetch_vault_details(seed.HLP_PARENT),
    }[request_type]
    parse: Callable[[object], object] = {
        "spotClearinghouseState": lambda r: hl.parse_spot_state(r, ADDR, TS),
        "metaAndAssetCtxs": lambda r: hl.parse_meta_and_asset_ctxs(r, "", TS),
        "perpDexs": hl.parse_perp_dexs,
        "vaultDetails": lambda r: hl.parse_vault_details(r, seed.HLP_PARENT),
    }[request_type]
    with pytest.raises(VenueResponseError) as caught:
        parse(await raw())
    text = str(caught.value)
    assert "\n" not in text and expected in text and f"request={request_type}" in text, text


@pytest.mark.parametrize(
    ("request_type", "entry", "expected"),
    [
        ("userFillsByTime", {"side": "B", "coin": "ETH", "px": "1", "sz": "1"}, "lacks 'time'"),
        ("userFillsByTime", None, "a fill is null, expected an object"),
        ("userFunding", {"time": 1, "delta": None}, "delta is null, expected an object"),
        ("userFunding", {"time": 1, "delta": {"coin": "ETH", "usdc": True}}, "'usdc' is a boolean"),
        ("userNonFundingLedgerUpdates", {"time": "soon", "delta": {"type": "deposit"}}, "'time'"),
        ("userNonFundingLedgerUpdates", {"time": 1, "delta": {"usdc": "1"}}, "lacks 'type'"),
    ],
)
async def test_malformed_history_served_by_the_venue(
    hl_fake: Any, session: aiohttp.ClientSession, request_type: str, entry: object, expected: str
) -> None:
    fills, _ = make_fills(3)
    hl_fake.put_fills(USER, fills)
    body = [*fills[:1], entry] if request_type == "userFillsByTime" else [entry]
    hl_fake.faults.fail_next(1, status=200, body=body, types={request_type})
    client = _client(session, hl_fake.url)
    read = {
        "userFillsByTime": history.fetch_fills_since,
        "userFunding": history.fetch_funding_since,
        "userNonFundingLedgerUpdates": history.fetch_ledger_since,
    }[request_type]
    with pytest.raises(VenueResponseError) as caught:
        await read(client, USER, 0)
    text = str(caught.value)
    assert "\n" not in text and expected in text and f"address={USER}" in text, text


async def test_snapshot_command_names_the_bad_key_of_the_account_it_skips(
    hl_fake: Any, tmp_path: Any
) -> None:
    hl_fake.faults.drift(
        lambda body: body.update(crossMarginSummary=None), types={"clearinghouseState"}
    )
    watchlist = write_watchlist(tmp_path / "w.toml", seed.CROSS_SHORT_SOL)
    env = tracker_env(hl_fake.url, tmp_path / "t.duckdb", TRACKER_HL_WEIGHT_PER_MIN="0")
    result = await run_cli("snapshot", "-w", str(watchlist), "--json", env=env)
    assert result.code == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    error = json.loads(result.stdout)["failed"][seed.CROSS_SHORT_SOL]
    assert error == (
        "unexpected clearinghouseState answer: crossMarginSummary is null, expected an object "
        f"(venue=hyperliquid, request=clearinghouseState, address={seed.CROSS_SHORT_SOL})"
    )


# ---------------------------------------------------------------- Ethereum: headers and logs

LOG = {
    "address": "0x" + "11" * 20,
    "topics": ["0x" + "22" * 32],
    "data": "0x",
    "blockNumber": "0x10",
    "transactionHash": "0x" + "33" * 32,
    "logIndex": "0x0",
    "blockHash": "0x" + "44" * 32,
    "transactionIndex": "0x0",
    "removed": False,
}
HEADER = {"number": "0x10", "hash": "0x" + "44" * 32, "timestamp": "0x5f5e100"}


@pytest.fixture
async def node() -> Any:
    """A JSON-RPC node on 127.0.0.1 answering what the test scripts in `node.answers`."""
    from aiohttp import web

    answers: dict[str, object] = {"eth_chainId": "0x1"}

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        result = answers[body["method"]]
        return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": result})

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    yield answers, url
    await runner.cleanup()


def _without(answer: dict[str, object], key: str) -> dict[str, object]:
    return {k: v for k, v in answer.items() if k != key}


NODE_CASES: list[tuple[str, object, str | None]] = [
    ("time", HEADER, None),
    ("hash", HEADER, None),
    ("logs", [LOG], None),
    ("time", _without(HEADER, "timestamp"), "the block lacks 'timestamp'"),
    ("time", {**HEADER, "timestamp": None}, "'timestamp' is null"),
    ("time", {**HEADER, "timestamp": "soon"}, "'timestamp'"),
    ("hash", _without(HEADER, "hash"), "the block lacks 'hash'"),
    ("hash", {**HEADER, "hash": None}, "'hash' is null"),
    ("logs", [_without(LOG, "topics")], "a log lacks 'topics'"),
    ("logs", [{**LOG, "topics": None}], "'topics'"),
    ("logs", [{**LOG, "data": None}], "'data'"),
    ("logs", [None], "eth_getLogs"),
]


@pytest.mark.parametrize(("read", "answer", "expected"), NODE_CASES)
async def test_malformed_headers_and_logs_served_by_a_node_are_one_line(
    node: Any, read: str, answer: object, expected: str | None
) -> None:
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from tracker.sources.ethereum.rpc import EthereumClient

    answers, url = node
    answers["eth_getLogs" if read == "logs" else "eth_getBlockByNumber"] = answer
    provider = AsyncHTTPProvider(url, exception_retry_configuration=None)
    client = EthereumClient(AsyncWeb3(provider), url, policy=RetryPolicy(retries=0))
    call = {
        "time": lambda: client.block_time(16),
        "hash": lambda: client.block_hash(16),
        "logs": lambda: client.get_logs({"fromBlock": 1, "toBlock": 2}),
    }[read]
    try:
        if expected is None:
            assert await call()
            return
        with pytest.raises(VenueResponseError) as caught:
            await call()
    finally:
        await provider.disconnect()
    text = str(caught.value)
    request = "eth_getLogs" if read == "logs" else "eth_getBlockByNumber"
    assert "\n" not in text and expected in text and f"request={request}" in text, text


def test_parse_log_and_header_take_hostile_objects() -> None:
    from hexbytes import HexBytes

    from tracker.sources.ethereum.rpc import parse_block_hash, parse_block_timestamp, parse_log

    log = {
        "address": "0x" + "11" * 20,
        "topics": [HexBytes("0x" + "22" * 32)],
        "data": HexBytes("0x"),
        "blockNumber": 16,
        "transactionHash": HexBytes("0x" + "33" * 32),
        "logIndex": 0,
    }
    assert parse_log(log).block_number == 16
    header = {"timestamp": 100_000_000, "hash": HexBytes("0x" + "44" * 32)}
    assert parse_block_timestamp(header) == 100_000_000
    assert parse_block_hash(header) == "0x" + "44" * 32
    for parse, answer in ((parse_log, log), (parse_block_timestamp, header)):
        for key in answer:
            for new in (DELETE, None, True, "x", [], {}, [None]):
                bad = dict(answer)
                if new is DELETE:
                    del bad[key]
                else:
                    bad[key] = new
                if key == "hash" and parse is parse_block_timestamp:
                    continue  # not read for the time
                if (key, new) in (("topics", []), ("address", "x")):
                    parse(bad)  # an anonymous event; text (web3 checks addresses)
                    continue
                with pytest.raises(VenueResponseError) as caught:
                    parse(bad)
                text = str(caught.value)
                assert "\n" not in text and key in text and "request=eth_" in text, text
    with pytest.raises(VenueResponseError, match="the block is null, expected an object"):
        parse_block_hash(None)
