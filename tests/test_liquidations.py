"""A Jan-31-2026-like crash on the fake: warnings first, one large episode, one alert each."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.alert_receiver import Reply
from tests.conftest import run_cli, tracker_env
from tests.fakes import seed
from tests.test_snapshot import write_watchlist
from tracker.records import Fill
from tracker.risk.episodes import build_episodes

WHALE = "0x00000000000000000000000000000000000e7e7e"
T0 = 1_769_896_800_000  # 2026-01-31 22:00 UTC
ETH_SIZE = Decimal(90_000)


def wire_fill(coin: str, px: str, sz: str, time: int, tid: int, start: str, direction: str) -> dict:
    """An ordinary buy fill as the venue's userFills sends it."""
    return {
        "coin": coin,
        "px": px,
        "sz": sz,
        "side": "B",
        "time": time,
        "startPosition": start,
        "dir": direction,
        "closedPnl": "0.0",
        "hash": f"0x{tid:064x}",
        "oid": tid,
        "crossed": True,
        "fee": "1.0",
        "tid": tid,
        "feeToken": "USDC",
        "twapId": None,
    }


def liq_fill(
    *,
    coin: str,
    px: str,
    sz: str,
    time: int,
    tid: int,
    method: str,
    user: str,
    owner_side: str,
    start: str,
    mark: str,
) -> dict:
    return {
        "coin": coin,
        "px": px,
        "sz": sz,
        "side": owner_side,
        "time": time,
        "startPosition": start,
        "dir": "Close Long" if owner_side == "A" else "Open Short",
        "closedPnl": "-1000.0" if user else "0.0",
        "hash": f"0x{tid:064x}",
        "oid": tid,
        "crossed": True,
        "fee": "0.0",
        "tid": tid,
        "feeToken": "USDC",
        "twapId": None,
        "liquidation": {"liquidatedUser": user, "markPx": mark, "method": method},
    }


def crash_fills() -> tuple[list[dict], list[dict], Decimal, Decimal]:
    """Four 20 % market slices 30 s apart, then a backstop; and a small SOL liquidation."""
    fills, position, notional = [], ETH_SIZE, Decimal(0)
    for i, px in enumerate(("2402.1", "2398.4", "2391.0", "2386.2")):
        size = ETH_SIZE / 5
        fills.append(
            liq_fill(
                coin="ETH",
                px=px,
                sz=str(size),
                time=T0 + i * 30_000,
                tid=5_000 + i,
                method="market",
                user=WHALE,
                owner_side="A",
                start=str(position),
                mark=px,
            )
        )
        position -= size
        notional += Decimal(px) * size
    backstop = liq_fill(
        coin="ETH",
        px="2380.0",
        sz=str(position),
        time=T0 + 150_000,
        tid=5_100,
        method="backstop",
        user=WHALE,
        owner_side="A",
        start=str(position),
        mark="2379.5",
    )
    fills.append(backstop)
    notional += Decimal("2380.0") * position
    sol = liq_fill(
        coin="SOL",
        px="98.5",
        sz="2000",
        time=T0 + 400_000,
        tid=5_200,
        method="market",
        user=WHALE,
        owner_side="A",
        start="2000",
        mark="98.6",
    )
    fills.append(sol)
    # The liquidator's side of the same backstop trade (same tid): must not count twice.
    taken = dict(
        backstop, side="B", startPosition="0.0", dir="Liquidated Cross Long", closedPnl="0.0"
    )
    return fills, [taken], notional, Decimal("98.5") * 2000


def ledger_entry() -> dict:
    return {
        "time": T0 + 150_000,
        "hash": "0x" + "77" * 32,
        "delta": {
            "type": "liquidation",
            "liquidatedNtlPos": "215000000.0",
            "accountValue": "-1200.5",
            "leverageType": "Cross",
            "liquidatedPositions": [{"coin": "ETH", "szi": "18000.0"}],
        },
    }


def model_whale(hl_fake, size: Decimal) -> None:
    # cash is the cross raw USD (account value = cash + size * mark): with ETH at 2,900 this is
    # about $51M of equity behind $261M of ETH, liquidated near 2,400 in the 15x tier.
    hl_fake.set_mark("ETH", "2900")
    hl_fake.put_model_account(
        WHALE,
        "-210133333",
        positions=[
            {
                "coin": "ETH",
                "size": str(size),
                "entry_px": "2950",
                "leverage": 10,
                "margin_mode": "cross",
            }
        ],
    )


@pytest.fixture
def crash_env(hl_fake, alert_receiver, tmp_path):
    watchlist = write_watchlist(tmp_path / "w.toml", WHALE, seed.CROSS_SHORT_SOL)
    env = tracker_env(
        hl_fake.url,
        tmp_path / "t.duckdb",
        TRACKER_FOLLOW_LIQUIDATORS="1",
        TRACKER_WEBHOOK_URL=f"{alert_receiver.url}/hook/s3cr3t-path-token",
        TRACKER_SLACK_WEBHOOK_URL=f"{alert_receiver.url}/slack",
        TRACKER_ALERTS_JSONL=str(tmp_path / "alerts.jsonl"),
        TRACKER_HISTORY_MAX_AGE="0.001",
    )
    model_whale(hl_fake, ETH_SIZE)
    return env, watchlist


def kinds(receiver, path: str) -> list[str]:
    return [r.body["kind"] for r in receiver.requests if r.path.startswith(path)]


HOOK = "/hook/s3cr3t-path-token"


async def test_crash_warns_then_records_one_large_episode_and_alerts_once(
    hl_fake, alert_receiver, crash_env, tmp_path
):
    env, watchlist = crash_env

    async def snapshot() -> dict:
        result = await run_cli("snapshot", "-w", str(watchlist), "--json", env=env)
        assert result.code == 0, result.stderr
        return json.loads(result.stdout)

    await snapshot()  # calm market: nothing to say
    assert kinds(alert_receiver, "/hook") == []
    con = duckdb.connect(str(tmp_path / "t.duckdb"), read_only=True)
    liq = con.execute(
        "select liquidation_px from latest_positions where address = $a", {"a": WHALE}
    ).fetchone()[0]
    con.close()
    hl_fake.set_mark("ETH", str(liq * Decimal("1.04")))  # 4 % away: warning
    await snapshot()
    hl_fake.set_mark("ETH", str(liq * Decimal("1.015")))  # 1.5 % away: critical
    await snapshot()
    warned = kinds(alert_receiver, "/hook")
    assert warned.count("near_liquidation") == 2  # 5 % then 2 %, once each
    assert "account_near_liquidation" in warned

    fills, taken, eth_notional, sol_notional = crash_fills()
    hl_fake.put_fills(WHALE, list(reversed(fills)))
    hl_fake.put_fills(seed.HLP_LIQUIDATOR, [*taken, *hl_fake_liquidator_fills()])
    hl_fake.put_ledger(WHALE, [ledger_entry()])
    hl_fake.put_model_account(WHALE, "1000", positions=[])
    hl_fake.set_mark("ETH", "2380")
    report = await snapshot()
    assert report["new_alerts"] >= 1

    listing = await run_cli("liquidations", "--json", "--address", WHALE, env=env)
    episodes = json.loads(listing.stdout)
    assert [e["coin"] for e in episodes] == ["ETH", "SOL"]  # largest first
    eth, sol = episodes
    assert eth["fills"] == 5 and eth["method"] == "backstop+market" and eth["side"] == "long"
    assert abs(Decimal(eth["notional_usd"]) / eth_notional - 1) < Decimal("0.005")
    assert Decimal(eth["notional_usd"]) == eth_notional
    assert eth["large"] and not sol["large"]
    assert Decimal(sol["notional_usd"]) == sol_notional
    assert set(eth["sources"]) == {"fills", "ledger"}
    for key in (
        "address",
        "coin",
        "side",
        "start",
        "end",
        "fills",
        "notional_usd",
        "method",
        "mark_px",
    ):
        assert key in eth

    # Two more passes and a restart (every CLI run is a new process): nothing is sent again.
    for _ in range(2):
        await snapshot()
    hook = [r.body for r in alert_receiver.requests if r.path.startswith("/hook")]
    large = [a for a in hook if a["kind"] == "large_liquidation"]
    assert len(large) == 1
    assert large[0]["address"] == WHALE and large[0]["coin"] == "ETH"
    assert Decimal(large[0]["notional_usd"]) == eth_notional
    assert {"kind", "address", "label", "coin", "notional_usd", "time"} <= set(large[0])
    assert large[0]["label"] == "watched 0"
    slack = [r.body["text"] for r in alert_receiver.requests if r.path == "/slack"]
    assert sum("LARGE LIQUIDATION" in t for t in slack) == 1
    lines = [json.loads(x) for x in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert sum(a["kind"] == "large_liquidation" for a in lines) == 1
    assert len(lines) == len(hook)

    stored = await run_cli("alerts", "--json", env=env)
    assert stored.code == 0
    large_rows = [a for a in json.loads(stored.stdout) if a["kind"] == "large_liquidation"]
    assert len(large_rows) == 1
    assert set(large_rows[0]["delivered_to"]) >= {"webhook", "slack", "jsonl"}
    assert "s3cr3t-path-token" not in stored.stdout


def hl_fake_liquidator_fills() -> list[dict]:
    from tests.fakes.seed import FIXTURES_DIR

    path = Path(FIXTURES_DIR) / "other_repos/Yassi80_hyperliquid/userFills_liquidator.json"
    return list(json.loads(path.read_text()))


async def test_a_failing_sink_does_not_block_the_others_and_is_retried(
    hl_fake, alert_receiver, crash_env
):
    env, watchlist = crash_env
    alert_receiver.script(HOOK, then=Reply(status=500))  # the webhook is down
    fills, _, _, _ = crash_fills()
    hl_fake.put_fills(WHALE, list(reversed(fills)))
    hl_fake.put_model_account(WHALE, "1000", positions=[])
    result = await run_cli("snapshot", "-w", str(watchlist), env=env)
    assert result.code == 0, result.stderr  # tracking went on
    assert any(
        "LARGE LIQUIDATION" in r.body["text"] for r in alert_receiver.requests if r.path == "/slack"
    )
    failed_tries = len(alert_receiver.received(HOOK))
    assert failed_tries >= 1
    alert_receiver.script(HOOK, then=Reply(status=200))
    result = await run_cli("snapshot", "-w", str(watchlist), env=env)
    assert result.code == 0, result.stderr
    retried = [r.body for r in alert_receiver.received(HOOK)[failed_tries:]]
    assert [a["kind"] for a in retried].count("large_liquidation") == 1  # delivered, once
    result = await run_cli("snapshot", "-w", str(watchlist), env=env)
    assert len(alert_receiver.received(HOOK)) == failed_tries + len(retried)


def _fill(**kw) -> Fill:
    from datetime import UTC, datetime

    base = dict(
        venue="hyperliquid",
        address=WHALE,
        ts=datetime.fromtimestamp(T0 / 1000, UTC),
        time_ms=T0,
        coin="ETH",
        dex="",
        fill_key="1",
        side="sell",
        px=Decimal(2400),
        size=Decimal(1),
        start_position=Decimal(5),
        direction="Close Long",
        closed_pnl_usd=Decimal(-10),
        fee=Decimal(0),
        fee_token="USDC",
        builder_fee=None,
        crossed=True,
        hash=None,
        oid=1,
        tid=1,
        twap_id=None,
        cloid=None,
        liquidation_method="market",
        liquidated_user=WHALE,
        liquidation_mark_px=Decimal(2401),
    )
    base.update(kw)
    return Fill(**base)


def test_episodes_split_on_the_gap_and_ignore_makers():
    from datetime import timedelta

    first = _fill()
    second = _fill(fill_key="2", tid=2, time_ms=T0 + 60_000, ts=first.ts + timedelta(minutes=1))
    later = _fill(fill_key="3", tid=3, time_ms=T0 + 3_600_000, ts=first.ts + timedelta(hours=1))
    maker = _fill(address="0x" + "99" * 20, fill_key="4", side="buy")  # traded against it
    episodes = build_episodes(
        [first, second, later, maker],
        [],
        liquidators=frozenset(),
        watched=frozenset({WHALE}),
        gap_s=900,
    )
    assert sorted(e.fills for e in episodes) == [1, 2]
    assert all(e.address == WHALE and e.side == "long" for e in episodes)


# --- tracker liquidations lists both venues, each figure under a name that means it -------------

BORROWER = "0x00000000000000000000000000000000000aa7e1"  # on an Ethereum watchlist
HL_ONLY = "0x00000000000000000000000000000000000aa7e2"  # watched on Hyperliquid only
STRANGER = "0x00000000000000000000000000000000000aa7e3"  # on no watchlist
AAVE_KEYS = ("debt_symbol", "debt_to_cover", "debt_usd", "collateral_price_usd", "liquidator")
WETH_USD = Decimal("2400.5")  # the oracle's price at the block


def _aave_call(con: duckdb.DuckDBPyConnection, user: str, log_index: int, weth: str) -> None:
    seized, price = Decimal(weth), WETH_USD
    con.execute(
        "insert into aave_liquidation_calls values ($chain, $pool, 123456, "
        "'2026-01-31 22:05:00+00', $tx, $i, $user, $weth, 'WETH', $usdc, 'USDC', $debt, $seized, "
        "$price, 1, $value, $debt, $liquidator, false)",
        {
            "chain": 1,
            "pool": "0x" + "87" * 20,
            "tx": "0x" + "ab" * 32,
            "i": log_index,
            "user": user,
            "weth": "0x" + "c0" * 20,
            "usdc": "0x" + "a0" * 20,
            "debt": seized * price * Decimal("0.95"),
            "seized": seized,
            "price": price,
            "value": seized * price,
            "liquidator": "0x" + "11" * 20,
        },
    )


async def test_liquidations_lists_aave_calls_with_their_own_columns_and_watched_borrowers(
    tmp_path,
):
    from tracker.store import open_store

    db = tmp_path / "t.duckdb"
    with open_store(db) as store:
        for user, i, weth in ((BORROWER, 7, "500"), (HL_ONLY, 8, "400"), (STRANGER, 9, "300")):
            _aave_call(store.con, user, i, weth)
        store.con.execute(
            "insert into liquidations values ('hyperliquid:x:ETH:1', 'hyperliquid', $a, 'ETH', "
            "'long', '2026-01-31 22:00:00+00', '2026-01-31 22:02:00+00', 5, 90000, 215543250, "
            "'backstop+market', 2402.1, -1000, 216000000, 'fills,ledger', true, true, now(), NULL)",
            {"a": WHALE},
        )
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "w.toml").write_text(
        f'[[address]]\naddress = "{BORROWER}"\nlabel = "aave whale"\nvenues = ["ethereum"]\n\n'
        f'[[address]]\naddress = "{HL_ONLY}"\nlabel = "perp whale"\n'
    )
    env = tracker_env("http://127.0.0.1:9", db, TRACKER_WATCHLISTS_DIR=str(lists))

    result = await run_cli("liquidations", "--json", env=env)
    assert result.code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["venue"], r["address"]) for r in rows] == [
        ("hyperliquid", WHALE),
        ("aave-v3", BORROWER),
        ("aave-v3", HL_ONLY),
        ("aave-v3", STRANGER),
    ]
    assert len({tuple(r) for r in rows}) == 1  # one set of keys for every row
    hl, aave, _, _ = rows
    # The borrower on an Ethereum watchlist is watched; one followed on Hyperliquid only is not.
    assert [r["watched"] for r in rows] == [True, True, False, False]

    # Hyperliquid: the keys and values people rely on, and no Aave figure.
    assert (hl["coin"], hl["side"], hl["fills"], hl["method"]) == (
        "ETH",
        "long",
        5,
        "backstop+market",
    )
    assert Decimal(hl["mark_px"]) == Decimal("2402.1")
    assert Decimal(hl["ledger_notional_usd"]) == 216_000_000
    assert Decimal(hl["realized_loss_usd"]) == -1000 and hl["sources"] == ["fills", "ledger"]
    assert all(hl[k] is None for k in (*AAVE_KEYS, "tx_hash", "block_number"))

    # Aave: the collateral seized in the shared columns; the debt, the oracle price, the
    # liquidator and the transaction in their own; no mark, loss or ledger figure.
    assert (aave["coin"], aave["side"], aave["fills"], aave["method"]) == (
        "WETH",
        "long",
        1,
        "liquidationCall",
    )
    seized_usd = 500 * WETH_USD
    assert Decimal(aave["size"]) == 500 and Decimal(aave["notional_usd"]) == seized_usd
    assert aave["mark_px"] is None and aave["ledger_notional_usd"] is None
    assert aave["realized_loss_usd"] is None and aave["sources"] == ["chain"]
    assert aave["debt_symbol"] == "USDC" and Decimal(aave["collateral_price_usd"]) == WETH_USD
    repaid = seized_usd * Decimal("0.95")  # USDC at $1
    assert Decimal(aave["debt_to_cover"]) == Decimal(aave["debt_usd"]) == repaid
    assert aave["liquidator"] == "0x" + "11" * 20 and aave["tx_hash"] == "0x" + "ab" * 32
    assert aave["block_number"] == 123456 and aave["large"] is True

    only = await run_cli(
        "liquidations", "--json", "--address", BORROWER.upper().replace("0X", "0x"), env=env
    )
    assert [r["episode_id"] for r in json.loads(only.stdout)] == [aave["episode_id"]]
    table = await run_cli("liquidations", env=env)
    assert table.code == 0 and "Traceback" not in table.stderr, table.stderr

    # --daily: each venue's day and coin apart; the Aave calls sum as the list shows them
    daily = json.loads((await run_cli("liquidations", "--daily", "--json", env=env)).stdout)
    assert [(d["day"], d["venue"], d["coin"], d["count"]) for d in daily] == [
        ("2026-01-31", "hyperliquid", "ETH", 1),
        ("2026-01-31", "aave-v3", "WETH", 3),
    ]
    weth = daily[1]
    assert Decimal(weth["notional_usd"]) == (500 + 400 + 300) * WETH_USD
    assert Decimal(weth["long_notional_usd"]) == Decimal(weth["notional_usd"])
    assert weth["largest"]["address"] == BORROWER and weth["largest"]["label"] == "aave whale"
    assert weth["largest"]["method"] == "liquidationCall" and weth["largest"]["watched"] is True
    assert weth["largest"]["episode_id"] == aave["episode_id"]
    watched_days = await run_cli("liquidations", "--daily", "--json", "--watched", env=env)
    assert [(d["venue"], d["count"]) for d in json.loads(watched_days.stdout)] == [
        ("hyperliquid", 1),
        ("aave-v3", 1),  # the borrower on an Ethereum watchlist only
    ]
    days_table = await run_cli("liquidations", "--daily", env=env)
    assert days_table.code == 0 and "aave-v3" in days_table.stdout, days_table.stdout
