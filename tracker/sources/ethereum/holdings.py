"""Holdings of watched addresses: the configured tokens resolved, balance and price calls built,
answers parsed into Holding records (pure, except resolving tokens through the client)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from eth_typing import ChecksumAddress

from tracker.records import Holding
from tracker.sources.ethereum.calls import (
    VENUE,
    Call,
    asset_price_call,
    chainlink_call,
    checksum,
    eth_balance_call,
    price_from_raw,
    to_units,
)

CHAINLINK_USD_MAINNET: Mapping[str, str] = {
    "ETH": "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419",
    "0xae7ab96520de3a18e5e111b5eaab095312d7fe84": "0xCfE54B5cD566aB89272946F602D76Ea879CAb4a8",
}

if TYPE_CHECKING:
    from tracker.sources.ethereum.rpc import EthereumClient


# -- holdings ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    """An ERC-20 valued as a holding."""

    symbol: str
    address: ChecksumAddress
    decimals: int


async def resolve_tokens(
    client: EthereumClient, specs: Sequence[tuple[str, str, int | None]], block: int
) -> tuple[Token, ...]:
    """Tokens from TRACKER_ETH_TOKENS, reading decimals() where the setting does not say."""
    unknown = [checksum(addr) for _, addr, decimals in specs if decimals is None]
    calls = [Call(a, "decimals()", (), ("uint8",)) for a in unknown]
    read = dict(zip(unknown, await client.read(calls, block), strict=True)) if calls else {}
    return tuple(
        Token(sym, checksum(addr), dec if dec is not None else int(read[checksum(addr)]))
        for sym, addr, dec in specs
    )


def balance_calls(address: ChecksumAddress, tokens: Sequence[Token]) -> list[Call]:
    """ETH balance, then balanceOf per token, for one address."""
    calls = [eth_balance_call(address)]
    calls += [
        Call(t.address, "balanceOf(address)", (address,), subject=address.lower()) for t in tokens
    ]
    return calls


def price_calls(
    tokens: Sequence[Token], oracle: ChecksumAddress | None, chain_id: int
) -> list[tuple[str, Call]]:
    """(symbol, call) price sources, best first: the Aave oracle per token, then Chainlink (mainnet
    feeds only); "ETH" has Chainlink ETH/USD, and WETH's Aave price when a WETH token is listed."""
    feeds = CHAINLINK_USD_MAINNET if chain_id == 1 else {}
    calls: list[tuple[str, Call]] = []
    for t in tokens:
        if oracle is not None:
            calls.append((t.symbol, asset_price_call(oracle, t.address)))
            if t.symbol == "WETH":  # the price Aave values ETH positions at
                calls.append(("ETH", asset_price_call(oracle, t.address)))
        if t.address.lower() in feeds:
            calls.append((t.symbol, chainlink_call(feeds[t.address.lower()])))
    if "ETH" in feeds:
        calls.append(("ETH", chainlink_call(feeds["ETH"])))
    return calls


def parse_prices(
    symbols: Sequence[str], calls: Sequence[tuple[str, Call]], values: Sequence[Any]
) -> dict[str, Decimal | None]:
    """USD price per symbol (and "ETH") from the first source that answered; None if none did."""
    prices: dict[str, Decimal | None] = dict.fromkeys([*symbols, "ETH"])
    for (symbol, call), value in zip(calls, values, strict=True):
        raw = value[1] if call.signature == "latestRoundData()" and value is not None else value
        if prices[symbol] is None:
            prices[symbol] = price_from_raw(raw)
    return prices


def parse_holdings(
    address: str,
    wei_balances: Sequence[int],
    tokens: Sequence[Token],
    prices: Mapping[str, Decimal | None],
    *,
    ts: datetime,
    chain_id: int,
    block: int,
) -> tuple[Holding, ...]:
    """Holdings of one address: ETH always, tokens when the balance is not zero."""
    eth_wei, *token_raw = wei_balances
    rows: list[tuple[str, str | None, Decimal]] = [("ETH", None, to_units(eth_wei, 18))]
    rows += [
        (t.symbol, t.address.lower(), to_units(raw, t.decimals))
        for t, raw in zip(tokens, token_raw, strict=True)
        if raw
    ]
    holdings = []
    for asset, token_address, amount in rows:
        price = prices.get(asset)
        holdings.append(
            Holding(
                ts=ts,
                venue=VENUE,
                address=address.lower(),
                asset=asset,
                token_address=token_address,
                amount=amount,
                usd_value=amount * price if price is not None else None,
                price_usd=price,
                chain_id=chain_id,
                block_number=block,
            )
        )
    return tuple(holdings)
