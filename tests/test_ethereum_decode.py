"""Pure wire -> record functions of the Ethereum and Aave sources, and the Ethereum settings."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from eth_abi.abi import decode, encode
from web3 import Web3

from tracker.config import DEFAULT_ETH_TOKENS, Settings
from tracker.errors import ConfigError, VenueResponseError
from tracker.records import Holding
from tracker.sources.ethereum import aave, transfers
from tracker.sources.ethereum import rpc as eth

TS = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
USDC = eth.checksum("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48")
WETH = eth.checksum("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2")
HOLDER = "0x" + "ab" * 20


def test_call_encoding_matches_the_abi_selector() -> None:
    call = eth.Call(USDC, "balanceOf(address)", (eth.checksum(HOLDER),))
    data = eth.encode_call(call)
    assert data[:4].hex() == "70a08231"  # evm.md §3.2
    assert decode(["address"], data[4:]) == (HOLDER,)
    assert eth.encode_call(eth.Call(USDC, "decimals()"))[:4].hex() == "313ce567"
    assert eth.encode_aggregate3([call])[:4].hex() == "82ad56cb"  # evm.md §3.1


def test_aggregate3_answers_decode_and_empty_data_is_a_failure() -> None:
    answer = encode(["(bool,bytes)[]"], [[(True, encode(["uint256"], [7])), (False, b"")]])
    assert eth.decode_aggregate3(answer, 2) == [(True, encode(["uint256"], [7])), (False, b"")]
    with pytest.raises(VenueResponseError, match="Multicall3 returned no data"):
        eth.decode_aggregate3(b"", 2)
    with pytest.raises(VenueResponseError, match="1 results for 2 calls"):
        eth.decode_aggregate3(encode(["(bool,bytes)[]"], [[(True, b"")]]), 2)


def test_required_calls_fail_with_context_optional_ones_give_none() -> None:
    required = eth.Call(USDC, "balanceOf(address)", (eth.checksum(HOLDER),), subject=HOLDER)
    with pytest.raises(VenueResponseError, match="returned no data") as caught:
        eth.decode_result(required, True, b"")
    assert caught.value.address == HOLDER and caught.value.venue == "ethereum"
    with pytest.raises(VenueResponseError, match="reverted"):
        eth.decode_result(required, False, b"")
    with pytest.raises(VenueResponseError, match="do not decode"):
        eth.decode_result(required, True, b"\x01")
    optional = eth.asset_price_call(USDC, WETH)
    assert eth.decode_result(optional, False, b"") is None
    assert eth.decode_all(
        [required, optional], [(True, encode(["uint256"], [5])), (True, b"")]
    ) == [
        5,
        None,
    ]


def test_units_are_exact_without_trailing_zeros() -> None:
    assert str(eth.to_units(198_000 * 10**18, 18)) == "198000"
    assert eth.to_units(1_234_500_000, 6) == Decimal("1234.5")
    assert eth.to_units(1, 18) == Decimal("1e-18")
    assert eth.to_units(0, 6) == 0
    assert eth.price_from_raw(300_000_000_000) == Decimal(3000)
    assert eth.price_from_raw(0) is None and eth.price_from_raw(None) is None


def test_holdings_and_prices() -> None:
    tokens = (eth.Token("WETH", WETH, 18), eth.Token("USDC", USDC, 6))
    oracle = eth.checksum("0x" + "54" * 20)
    sources = eth.price_calls(tokens, oracle, chain_id=1)
    # Aave oracle per token (WETH's also for ETH), then Chainlink ETH/USD on mainnet.
    assert [(symbol, c.signature) for symbol, c in sources] == [
        ("WETH", "getAssetPrice(address)"),
        ("ETH", "getAssetPrice(address)"),
        ("USDC", "getAssetPrice(address)"),
        ("ETH", "latestRoundData()"),
    ]
    symbols = ["WETH", "USDC"]
    answers = [300_000_000_000, 300_000_000_000, 99_990_000, (1, 299_000_000_000, 0, 0, 1)]
    prices = eth.parse_prices(symbols, sources, answers)
    assert prices == {"WETH": Decimal(3000), "USDC": Decimal("0.9999"), "ETH": Decimal(3000)}
    # The Aave oracle silent on WETH (None): ETH falls back to Chainlink.
    fallback = eth.parse_prices(
        symbols, sources, [None, None, 99_990_000, (1, 299_000_000_000, 0, 0, 1)]
    )
    assert fallback == {"WETH": None, "USDC": Decimal("0.9999"), "ETH": Decimal(2990)}
    holdings = eth.parse_holdings(
        HOLDER, [5 * 10**18, 0, 2_000_000], tokens, prices, ts=TS, chain_id=1, block=7
    )
    assert [(h.asset, h.amount, h.usd_value) for h in holdings] == [
        ("ETH", Decimal(5), Decimal(15000)),
        ("USDC", Decimal(2), Decimal("1.9998")),
    ]
    assert holdings[1].token_address == USDC.lower() and holdings[0].token_address is None
    # No oracle (market unresolvable) and not mainnet: nothing prices the tokens.
    assert eth.price_calls(tokens, None, 31337) == []
    assert eth.parse_prices(symbols, [], []) == {"WETH": None, "USDC": None, "ETH": None}


def _log(
    topics: list[bytes], data: bytes, *, address: str = USDC.lower(), index: int = 3
) -> eth.RawLog:
    return eth.RawLog(address, tuple(topics), data, 100, "0x" + "cd" * 32, index)


def _topic(address: str) -> bytes:
    return bytes.fromhex(transfers.topic_address(address)[2:])


def test_transfer_logs_become_one_leg_per_watched_side() -> None:
    usdc = eth.Token("USDC", USDC, 6)
    other = "0x" + "12" * 20
    topic0 = bytes.fromhex(transfers.TRANSFER_TOPIC[2:])
    out = _log([topic0, _topic(HOLDER), _topic(other)], encode(["uint256"], [5_000_000 * 10**6]))
    legs = transfers.decode_transfers([out, out], [usdc], {HOLDER})  # duplicates collapse
    [leg] = legs
    assert (leg.address, leg.direction, leg.counterparty, leg.amount) == (
        HOLDER,
        "out",
        other,
        Decimal(5_000_000),
    )
    both = transfers.decode_transfers([out], [usdc], {HOLDER, other})
    assert sorted((g.address, g.direction) for g in both) == [(other, "in"), (HOLDER, "out")]
    nft = _log([topic0, _topic(HOLDER), _topic(other), b"\0" * 32], b"")
    foreign = _log([topic0, _topic(HOLDER), _topic(other)], out.data, address=other)
    assert transfers.decode_transfers([nft, foreign], [usdc], {HOLDER}) == []
    row = transfers.parse_transfer(leg, Decimal("0.9999"), TS, 1)
    assert row is not None
    assert (row.transfer_key, row.usd_value, row.kind) == (
        f"{out.tx_hash}:3",
        Decimal("4999500"),
        "erc20_transfer",
    )
    assert transfers.parse_transfer(leg, None, TS, 1) is None


def _eth(amount: str, block: int, price: str | None = "3000") -> Holding:
    return Holding(
        ts=TS,
        venue="ethereum",
        address=HOLDER,
        asset="ETH",
        token_address=None,
        amount=Decimal(amount),
        usd_value=None,
        price_usd=Decimal(price) if price else None,
        chain_id=1,
        block_number=block,
    )


def test_eth_balance_changes_between_polls() -> None:
    previous = {HOLDER: (Decimal(1000), 10)}
    changes = transfers.eth_balance_changes
    [move] = changes(previous, [_eth("600", 20)], Decimal(1_000_000), block_ts=TS)
    assert (move.direction, move.amount, move.usd_value, move.transfer_key) == (
        "out",
        Decimal(400),
        Decimal(1_200_000),
        "eth:10-20",
    )
    assert move.counterparty is None and move.tx_hash is None
    small = changes(previous, [_eth("900", 20)], Decimal(1_000_000), block_ts=TS)
    same_block = changes(previous, [_eth("0", 10)], Decimal(1), block_ts=TS)
    unpriced = changes(previous, [_eth("0", 20, None)], Decimal(1), block_ts=TS)
    first_poll = changes({}, [_eth("0", 20)], Decimal(1), block_ts=TS)
    assert small == same_block == unpriced == first_poll == []


def test_reserve_configuration_bitmap() -> None:
    # WETH of the test market: LTV 8050, LT 8300, bonus 10500, 18 decimals, active, borrowing.
    bitmap = 8050 | 8300 << 16 | 10500 << 32 | 18 << 48 | 1 << 56 | 1 << 58 | 1500 << 64
    assert aave.parse_reserve_configuration(bitmap) == {
        "ltv_bps": 8050,
        "liquidation_threshold_bps": 8300,
        "liquidation_bonus_bps": 10500,
        "decimals": 18,
        "active": True,
        "frozen": False,
        "paused": False,
    }


def _reserve(symbol: str, asset: str, rid: int, decimals: int, ltv: int, lt: int) -> aave.Reserve:
    return aave.Reserve(
        asset=eth.checksum(asset),
        symbol=symbol,
        id=rid,
        decimals=decimals,
        ltv_bps=ltv,
        liquidation_threshold_bps=lt,
        liquidation_bonus_bps=10500,
        active=True,
        frozen=False,
        paused=False,
    )


def _pool(*reserves: aave.Reserve) -> aave.PoolConfig:
    return aave.PoolConfig(
        provider=eth.checksum("0x" + "2f" * 20),
        pool=eth.checksum("0x" + "87" * 20),
        oracle=eth.checksum("0x" + "54" * 20),
        data_provider=eth.checksum("0x" + "0a" * 20),
        reserves=reserves,
    )


WSTETH = "0x7f39c581f595b53c5cb19bd0b3f8da6c935e2ca0"
CBETH = "0xbe9895146f7af43049ca1c1ae358b0541ea49704"


def test_account_uses_the_emode_threshold_only_for_reserves_in_the_category() -> None:
    cfg = _pool(
        _reserve("WETH", WETH, 0, 18, 8050, 8300),
        _reserve("wstETH", WSTETH, 1, 18, 7850, 8100),
        _reserve("USDC", USDC, 2, 6, 7500, 7800),
        _reserve("cbETH", CBETH, 3, 18, 7500, 7900),
    )
    # Category 1 covers WETH, wstETH and cbETH (bits 0, 1, 3); cbETH is LTV-zero there.
    category = aave.EModeCategory(
        id=1,
        ltv_bps=9300,
        liquidation_threshold_bps=9500,
        collateral_bitmap=0b1011,
        ltvzero_bitmap=0b1000,
    )
    wire = aave.AccountWire(
        address=HOLDER,
        account_data=(5_000_000 * 10**8, 3_000_000 * 10**8, 0, 9000, 8000, 2 * 10**18),
        emode=1,
        user_reserves={
            WETH.lower(): (0, 1000 * 10**18, False),
            WSTETH.lower(): (1200 * 10**18, 0, True),
            USDC.lower(): (500_000 * 10**6, 0, True),
            CBETH.lower(): (10**18, 0, True),
        },
    )
    prices = {
        WETH.lower(): Decimal(3000),
        WSTETH.lower(): Decimal(3600),
        USDC.lower(): Decimal(1),
        CBETH.lower(): Decimal(3300),
    }
    account = aave.parse_account(wire, cfg, prices, category, 1, 50, TS)
    got = {
        r.symbol: (r.liquidation_threshold, r.ltv, r.in_emode, r.stable) for r in account.reserves
    }
    assert got == {
        "WETH": (Decimal("0.95"), Decimal("0.93"), True, False),
        "wstETH": (Decimal("0.95"), Decimal("0.93"), True, False),
        "USDC": (Decimal("0.78"), Decimal("0.75"), False, True),
        "cbETH": (Decimal("0.95"), Decimal(0), True, False),
    }
    assert account.health_factor == Decimal(2) and account.emode_category == 1
    assert aave.parse_account(wire, cfg, prices, None, 1, 50, TS).reserves[
        1
    ].liquidation_threshold == Decimal("0.81")  # outside e-mode: the reserve's own
    no_price = {**prices, USDC.lower(): None}
    with pytest.raises(VenueResponseError, match="no price for USDC"):
        aave.parse_account(wire, cfg, no_price, category, 1, 50, TS)


def test_liquidation_call_log_decodes_and_is_valued_in_usd() -> None:
    user, liquidator = "0x" + "11" * 20, "0x" + "22" * 20
    topics = [
        bytes(aave.LIQUIDATION_CALL_TOPIC),
        _topic(WETH),
        _topic(USDC),
        _topic(user),
    ]
    assert "0x" + topics[0].hex() == (
        "0xe413a321e8681d831f4dbccbca790d2952b56f977908e45be37335533e005286"  # evm.md §2.3
    )
    data = encode(
        ["uint256", "uint256", "address", "bool"],
        [100_000 * 10**6, 433_347 * 10**14, eth.checksum(liquidator), True],
    )
    event = aave.decode_liquidation_log(_log(topics, data, address="0x" + "87" * 20))
    assert event is not None
    assert (event.user, event.collateral_asset, event.debt_asset, event.liquidator) == (
        user,
        WETH.lower(),
        USDC.lower(),
        liquidator,
    )
    assets = {WETH.lower(): ("WETH", 18), USDC.lower(): ("USDC", 6)}
    prices = {WETH.lower(): Decimal(2423), USDC.lower(): Decimal("0.9999")}
    call = aave.parse_liquidation(event, "0x" + "87" * 20, assets, prices, TS, 1)
    assert (call.liquidated_collateral, call.debt_to_cover) == (
        Decimal("43.3347"),
        Decimal(100_000),
    )
    assert call.collateral_usd == Decimal("43.3347") * 2423
    assert call.debt_usd == Decimal(99_990) and call.receive_a_token is True
    assert aave.decode_liquidation_log(_log(topics[:3], data)) is None


def test_eth_settings_defaults_and_token_list() -> None:
    defaults = Settings.from_env({})
    assert defaults.eth_chain_id is None and defaults.eth_confirmations == 12
    assert defaults.eth_tokens == DEFAULT_ETH_TOKENS
    assert [t[0] for t in defaults.eth_tokens] == [
        "WETH",
        "stETH",
        "wstETH",
        "WBTC",
        "USDC",
        "USDT",
    ]
    assert all(Web3.is_checksum_address(eth.checksum(a)) for _, a, _ in defaults.eth_tokens)
    assert defaults.transfer_min_usd == Decimal(1_000_000)
    assert defaults.aave_pool_addresses_provider == "0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e"
    custom = Settings.from_env(
        {
            "TRACKER_ETH_TOKENS": f"USDC:{USDC}:6, WETH:{WETH}",
            "TRACKER_ETH_CHAIN_ID": "31337",
            "TRACKER_ETH_CONFIRMATIONS": "0",
            "TRACKER_TRANSFER_MIN_USD": "250000",
        }
    )
    assert custom.eth_tokens == (("USDC", USDC.lower(), 6), ("WETH", WETH.lower(), None))
    assert (custom.eth_chain_id, custom.eth_confirmations) == (31337, 0)
    assert custom.transfer_min_usd == Decimal(250_000)


@pytest.mark.parametrize(
    "value",
    [
        "USDC",
        f"ETH:{WETH}",
        "USDC:0x1234",
        f"USDC:{USDC}:x",
        f"USDC:{USDC}:99",
        f"A:{USDC},B:{USDC}",
    ],
)
def test_bad_token_lists_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="TRACKER_ETH_TOKENS"):
        Settings.from_env({"TRACKER_ETH_TOKENS": value})


def test_transfer_filters_split_long_address_lists() -> None:
    usdc = eth.Token("USDC", USDC, 6)
    watched = [f"0x{i:040x}" for i in range(1, 251)]
    filters = transfers.transfer_filters([usdc], watched)
    assert len(filters) == 6  # 3 groups of <= 100, from and to each
    senders = [a for f in filters[0::2] for a in list(f["topics"][1] or [])]
    receivers = [a for f in filters[1::2] for a in list(f["topics"][2] or [])]
    assert senders == receivers == [transfers.topic_address(a) for a in watched]
    assert all(f["address"] == [USDC] for f in filters)
