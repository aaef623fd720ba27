"""Aave v3.6 on a real anvil: our health factor and liquidation price against the chain's, then a
real liquidationCall picked up by the scanner, exactly once, behind the confirmation buffer."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from eth_typing import ChecksumAddress

from tests.chain import aave_scenario as scenario
from tests.chain.aave import AaveMarket
from tests.chain.anvil import Anvil
from tests.chain.contracts import send
from tests.chain.rpc_proxy import rpc_proxy
from tests.chain.tracker_settings import tracker_settings
from tracker.alerts.engine import AlertContext, evaluate_aave
from tracker.app.ethereum_poll import ethereum_session, poll_ethereum, write_ethereum
from tracker.app.log_scans import scan_liquidations
from tracker.errors import VenueResponseError
from tracker.output import reads as views
from tracker.redact import Secret
from tracker.risk import aave as risk_aave
from tracker.store import open_store

pytestmark = pytest.mark.aave

TS = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
WETH = 10**18
USDC = 10**6
TOLERANCE = Decimal("1e-6")


def _liquidatable_whale(chain: Anvil, aave: AaveMarket) -> ChecksumAddress:
    """1,000 WETH against 2M USDC, then WETH at $2,400: HF 0.996, liquidatable."""
    _, whale, lender = chain.accounts[:3]
    scenario.open_position(chain, aave, whale, lender, 1_000 * WETH, 2_000_000 * USDC)
    scenario.set_price(chain, aave.weth_feed, Decimal(2400))
    return whale


async def test_health_factor_and_liquidation_price_follow_the_chain_down_to_liquidation(
    chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    _, whale, lender, liquidator = chain.accounts[:4]
    scenario.open_position(chain, aave, whale, lender, 1_000 * WETH, 2_000_000 * USDC)
    settings = tracker_settings(chain, aave, tmp_path / "t.duckdb")

    distances: list[Decimal] = []
    async with ethereum_session(settings) as session:
        for price in range(3000, 2350, -50):
            scenario.set_price(chain, aave.weth_feed, Decimal(price))
            on_chain = scenario.account_data(chain, aave, whale)
            result = await poll_ethereum(settings, [whale], TS, session=session)

            [report] = result.reports
            [account] = report.aave
            [snapshot] = report.accounts
            assert account.health_factor == on_chain.health_factor  # read at the same block
            ours = risk_aave.health_factor(risk_aave.legs_of(account))
            assert ours is not None and abs(ours - on_chain.health_factor) < TOLERANCE

            weth = next(p for p in snapshot.positions if p.coin == "WETH")
            usdc = next(p for p in snapshot.positions if p.coin == "USDC")
            assert (weth.side, usdc.side) == ("long", "short")
            assert weth.mark_px == Decimal(price) and weth.size == Decimal(1000)
            # One volatile collateral against stable debt: P_liq = price / HF.
            expected = risk_aave.single_collateral_liquidation_price(
                Decimal(price), on_chain.health_factor
            )
            assert weth.liquidation_px is not None
            assert abs(weth.liquidation_px - expected) < TOLERANCE
            assert abs(weth.liquidation_px - Decimal(2_000_000) / (1000 * Decimal("0.83"))) < (
                Decimal("0.01")  # 2M / (1000 * 0.83), plus the interest accrued since
            )
            assert weth.distance_to_liq_pct is not None
            distances.append(weth.distance_to_liq_pct)
            # Account mapping: value = C - D, maintenance = C - sum(c p LT): value > maintenance
            # exactly while HF > 1; the shock of the only volatile asset is 1/HF - 1.
            assert snapshot.venue == "aave-v3" and snapshot.dex == ""
            assert snapshot.notional_usd == account.total_collateral_usd
            assert snapshot.account_value_usd == (
                account.total_collateral_usd - account.total_debt_usd
            )
            margin = snapshot.account_value_usd - snapshot.maintenance_margin_usd
            assert (margin > 0) == (on_chain.health_factor > 1)
            assert snapshot.shock_to_liq_pct is not None
            if on_chain.health_factor > 1:
                shock = (1 / on_chain.health_factor - 1) * 100
                assert abs(snapshot.shock_to_liq_pct - shock) < TOLERANCE
                assert abs(snapshot.shock_to_liq_pct + weth.distance_to_liq_pct) < TOLERANCE

        with open_store(settings.db_path) as store:
            write_ethereum(store, result)
            stored = store.con.execute(
                "SELECT coin, side, liquidation_px FROM positions WHERE venue = 'aave-v3' "
                "ORDER BY coin"
            ).fetchall()
        assert [(c, s) for c, s, _ in stored] == [("USDC", "short"), ("WETH", "long")]

    assert all(later < earlier for earlier, later in itertools.pairwise(distances))
    assert on_chain.health_factor < 1 and distances[-1] < 0  # $2,400 is past $2,409.64

    receipt = scenario.liquidate(chain, aave, liquidator, whale)
    [event] = scenario.liquidation_events(chain, aave, receipt)
    args = event["args"]

    scan = await scan_liquidations(settings, settings.db_path)
    rescan = await scan_liquidations(settings, settings.db_path)
    chain.mine(20)
    later = await scan_liquidations(settings, settings.db_path)
    with open_store(settings.db_path) as store:
        rows = store.con.execute(
            "SELECT block_number, tx_hash, log_index, user, collateral_symbol, debt_symbol, "
            "debt_to_cover, liquidated_collateral, collateral_usd, debt_usd, liquidator, "
            "receive_a_token FROM aave_liquidation_calls"
        ).fetchall()

    [call] = scan.liquidations
    assert scan.stored == 1 and rescan.stored == 0 and later.stored == 0
    assert rescan.from_block is None  # nothing new below the safe head
    assert scan.to_block is not None and later.from_block == scan.to_block + 1  # moved on
    seized = Decimal(args["liquidatedCollateralAmount"]).scaleb(-18)
    repaid = Decimal(args["debtToCover"]).scaleb(-6)
    assert rows == [
        (
            receipt["blockNumber"],
            "0x" + bytes(receipt["transactionHash"]).hex(),
            event["logIndex"],
            whale.lower(),
            "WETH",
            "USDC",
            repaid,
            seized,
            seized * 2400,  # collateral valued at the oracle price of that block
            repaid,  # USDC at $1
            liquidator.lower(),
            False,
        )
    ]
    assert call.collateral_usd == seized * 2400 and call.debt_usd == repaid
    assert risk_aave.large(call, Decimal(1_000_000))  # ~$1.045M of WETH seized
    assert not risk_aave.large(call, Decimal(2_000_000))

    # Flagged as a large liquidation once: the same alert store and rules as Hyperliquid.
    context = AlertContext(
        large_usd=Decimal(1_000_000),
        near_levels_pct=(Decimal(5),),
        gap_s=900,
        watched=frozenset({whale.lower()}),
        labels={whale.lower(): "aave whale"},
    )
    since = call.block_ts - timedelta(days=1)
    with open_store(settings.db_path) as store:
        first = evaluate_aave(store, context, since)
        again = evaluate_aave(store, context, since)
        listed = store.con.execute("select kind, venue, address, coin from alerts").fetchall()
    assert [a.kind for a in first] == ["large_liquidation"] and again == []
    assert first[0].venue == "aave-v3" and first[0].label == "aave whale"
    assert first[0].notional_usd == call.collateral_usd
    assert listed == [("large_liquidation", "aave-v3", whale.lower(), "WETH")]
    rows = views.liquidations(
        settings.db_path, min_usd=Decimal(0), since=None, address=None, large_usd=Decimal(1_000_000)
    )
    assert [(r["venue"], r["large"]) for r in rows] == [("aave-v3", True)]


async def test_confirmation_buffer_holds_back_the_newest_blocks(
    chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    whale = _liquidatable_whale(chain, aave)
    receipt = scenario.liquidate(chain, aave, chain.accounts[3], whale)
    block = receipt["blockNumber"]
    # Small chunks: the scan walks many eth_getLogs ranges and still finds the event once.
    settings = tracker_settings(
        chain, aave, tmp_path / "t.duckdb", eth_confirmations=5, eth_log_chunk_blocks=7
    )

    early = await scan_liquidations(settings, settings.db_path)
    chain.mine(4)  # the event is now 4 blocks deep: still inside the buffer
    still = await scan_liquidations(settings, settings.db_path)
    chain.mine(1)
    seen = await scan_liquidations(settings, settings.db_path)
    with open_store(settings.db_path) as store:
        count = store.con.execute("SELECT count(*) FROM aave_liquidation_calls").fetchone()
        cursor = store.con.execute("SELECT last_block FROM chain_cursors").fetchone()

    assert early.safe_head == block - 5 and early.to_block == block - 5 and early.stored == 0
    assert still.to_block == block - 1 and still.stored == 0
    assert seen.from_block == block and seen.to_block == block and seen.stored == 1
    assert count == (1,) and cursor == (block,)


async def test_emode_liquidation_price_of_a_borrowed_asset_is_a_rise(
    chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    _, user, lender = chain.accounts[:3]
    scenario.supply(chain, aave, lender, aave.weth, 1_000 * WETH)
    scenario.supply(chain, aave, user, aave.usdc, 1_000_000 * USDC)  # LT 0.78, outside e-mode
    scenario.supply(chain, aave, user, aave.weth, 100 * WETH)  # LT 0.95 in e-mode 1
    send(chain.w3, scenario.pool(chain, aave).functions.setUserEMode(1), user)
    scenario.borrow(chain, aave, user, aave.weth, 300 * WETH)
    settings = tracker_settings(chain, aave, tmp_path / "t.duckdb")

    result = await poll_ethereum(settings, [user], TS)
    [account] = result.reports[0].aave
    [snapshot] = result.reports[0].accounts
    on_chain = scenario.account_data(chain, aave, user)

    assert account.emode_category == 1
    lts = {r.symbol: (r.liquidation_threshold, r.in_emode) for r in account.reserves}
    assert lts == {"WETH": (Decimal("0.95"), True), "USDC": (Decimal("0.78"), False)}
    ours = risk_aave.health_factor(risk_aave.legs_of(account))
    assert ours is not None and abs(ours - on_chain.health_factor) < TOLERANCE

    # WETH: 100 supplied (LT 0.95) and ~300 borrowed, so a RISE liquidates:
    # p* = (0 - 1M * 0.78) / (100 * 0.95 - 300) ≈ $3,804.88.
    coins = {p.coin: p for p in snapshot.positions}
    assert set(coins) == {"USDC", "WETH", "WETH-debt"}
    liq = coins["WETH-debt"].liquidation_px
    assert liq is not None and liq == coins["WETH"].liquidation_px
    assert abs(liq - Decimal(780_000) / Decimal(205)) < Decimal("0.01")
    assert coins["WETH"].distance_to_liq_pct is not None
    assert coins["WETH"].distance_to_liq_pct > 0  # (p* - 3000) / 3000: a rise of ~26.8 %
    assert abs(coins["WETH"].distance_to_liq_pct - (liq / 3000 - 1) * 100) < TOLERANCE
    assert snapshot.shock_to_liq_pct is not None and snapshot.shock_to_liq_pct > 0

    # The chain agrees on both sides of our price.
    scenario.set_price(chain, aave.weth_feed, (liq * Decimal("0.999")).quantize(Decimal("0.01")))
    assert scenario.account_data(chain, aave, user).health_factor > 1
    scenario.set_price(chain, aave.weth_feed, (liq * Decimal("1.001")).quantize(Decimal("0.01")))
    assert scenario.account_data(chain, aave, user).health_factor < 1


async def test_pool_configuration_is_resolved_from_the_addresses_provider(
    chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    settings = tracker_settings(chain, aave, tmp_path / "t.duckdb")
    async with ethereum_session(settings) as session:
        config = await session.pool_config()
    assert (config.pool, config.oracle, config.data_provider) == (
        aave.pool,
        aave.aave_oracle,
        aave.pool_data_provider,
    )
    weth = config.reserve(aave.weth.lower())
    assert weth is not None
    assert (weth.symbol, weth.decimals, weth.ltv_bps, weth.liquidation_threshold_bps) == (
        "WETH",
        18,
        8050,
        8300,
    )
    assert weth.liquidation_bonus_bps == 10500 and weth.active and not weth.frozen
    assert sorted(r.id for r in config.reserves) == [0, 1]


async def test_address_without_aave_position_has_no_account(
    chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    settings = tracker_settings(chain, aave, tmp_path / "t.duckdb")
    result = await poll_ethereum(settings, [chain.accounts[8]], TS)
    [report] = result.reports
    assert report.accounts == () and report.aave == () and report.errors == ()


async def test_refused_log_ranges_are_halved_until_the_provider_accepts(
    chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    whale = _liquidatable_whale(chain, aave)
    receipt = scenario.liquidate(chain, aave, chain.accounts[3], whale)
    async with rpc_proxy(chain.url, max_log_range=8) as proxy:
        settings = tracker_settings(
            chain,
            aave,
            tmp_path / "t.duckdb",
            eth_rpc_url=Secret(proxy.url),
            eth_log_chunk_blocks=100,
        )
        scan = await scan_liquidations(settings, settings.db_path)

    assert [c.tx_hash for c in scan.liquidations] == [
        "0x" + bytes(receipt["transactionHash"]).hex()
    ]
    assert scan.stored == 1 and scan.to_block == receipt["blockNumber"]
    # 0..head in one range (the chunk of 100 covers it): refused, then halved until <= 8 blocks.
    assert scan.to_block is not None and scan.to_block < 100
    expected, size = [], scan.to_block + 1
    while size > 8:
        expected.append((0, size - 1))
        size //= 2
    assert proxy.refused == expected
    asked = [p[0] for m, p in proxy.requests if m == "eth_getLogs"]
    accepted = [
        q for q in asked if (int(q["fromBlock"], 16), int(q["toBlock"], 16)) not in proxy.refused
    ]
    ranges = sorted((int(q["fromBlock"], 16), int(q["toBlock"], 16)) for q in accepted)
    assert all(last - first + 1 <= 8 for first, last in ranges)
    assert ranges[0][0] == 0 and ranges[-1][1] == scan.to_block  # contiguous cover of 0..safe
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(ranges))


async def test_a_provider_refusing_every_range_fails_the_scan_without_moving_the_cursor(
    chain: Anvil, aave: AaveMarket, tmp_path: Path
) -> None:
    async with rpc_proxy(chain.url, max_log_range=0) as proxy:
        settings = tracker_settings(
            chain, aave, tmp_path / "t.duckdb", eth_rpc_url=Secret(proxy.url)
        )
        with pytest.raises(VenueResponseError) as caught:
            await scan_liquidations(settings, settings.db_path)
        with open_store(settings.db_path) as store:
            cursors = store.con.execute("SELECT count(*) FROM chain_cursors").fetchone()

    message = str(caught.value)
    assert "query exceeds max block range 0" in message and "request=eth_getLogs" in message
    assert "provider-key" not in message and "/v2/***" in message  # the key is redacted
    assert proxy.refused[-1][0] == proxy.refused[-1][1]  # halved down to a single block
    assert cursors == (0,)
