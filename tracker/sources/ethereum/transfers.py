"""ERC-20 transfers and ETH moves of watched addresses: log filters, decoding, records (pure).

Transfers come from `Transfer` logs of the configured tokens read by tracker.app.ethereum_poll
through EthereumClient.log_chunks; ETH moves are balance changes between two stored polls, since
plain sends leave no log and internal transfers show only in traces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from eth_abi.abi import decode
from web3 import Web3
from web3.types import FilterParams

from tracker.records import Holding, WhaleTransfer
from tracker.sources.ethereum.rpc import RawLog, Token, to_units

TRANSFER_TOPIC = "0x" + Web3.keccak(text="Transfer(address,address,uint256)").hex()
TOPIC_OR_LIMIT = 100  # addresses per topic OR-list in one eth_getLogs filter


def topic_address(address: str) -> str:
    """An address as a 32-byte topic."""
    return "0x" + "0" * 24 + address.lower().removeprefix("0x")


def transfer_filters(tokens: Sequence[Token], watched: Sequence[str]) -> list[FilterParams]:
    """eth_getLogs filters for Transfer from any watched address, and to any of them.

    Providers cap the OR-list of a topic, so watched addresses go in groups of TOPIC_OR_LIMIT.
    """
    addresses = [t.address for t in tokens]
    filters: list[FilterParams] = []
    for i in range(0, len(watched), TOPIC_OR_LIMIT):
        padded = [topic_address(a) for a in watched[i : i + TOPIC_OR_LIMIT]]
        filters.append({"address": addresses, "topics": [TRANSFER_TOPIC, padded]})
        filters.append({"address": addresses, "topics": [TRANSFER_TOPIC, None, padded]})
    return filters


@dataclass(frozen=True, slots=True)
class TransferLeg:
    """A Transfer log seen from one watched address."""

    log: RawLog
    address: str
    direction: Literal["in", "out"]
    counterparty: str
    token: Token
    amount: Decimal


def decode_transfers(
    logs: Sequence[RawLog], tokens: Sequence[Token], watched: set[str]
) -> list[TransferLeg]:
    """Transfer logs -> one leg per watched side (both when both are watched), deduplicated."""
    by_address = {t.address.lower(): t for t in tokens}
    legs: dict[tuple[str, int, str], TransferLeg] = {}
    for entry in logs:
        token = by_address.get(entry.address)
        if token is None or len(entry.topics) != 3 or entry.topics[0].hex() != TRANSFER_TOPIC[2:]:
            continue  # ERC-721 Transfer has 4 topics; other contracts are not ours
        sender = "0x" + entry.topics[1][-20:].hex()
        receiver = "0x" + entry.topics[2][-20:].hex()
        (raw,) = decode(["uint256"], entry.data)
        amount = to_units(raw, token.decimals)
        if sender in watched:
            legs[(entry.tx_hash, entry.log_index, sender)] = TransferLeg(
                entry, sender, "out", receiver, token, amount
            )
        if receiver in watched:
            legs[(entry.tx_hash, entry.log_index, receiver)] = TransferLeg(
                entry, receiver, "in", sender, token, amount
            )
    return list(legs.values())


def parse_transfer(
    leg: TransferLeg, price_usd: Decimal | None, block_ts: datetime, chain_id: int
) -> WhaleTransfer | None:
    """A WhaleTransfer from one side of a Transfer log; None when the token has no price."""
    if price_usd is None:
        return None
    return WhaleTransfer(
        chain_id=chain_id,
        kind="erc20_transfer",
        transfer_key=f"{leg.log.tx_hash}:{leg.log.log_index}",
        address=leg.address,
        direction=leg.direction,
        counterparty=leg.counterparty,
        asset=leg.token.symbol,
        token_address=leg.token.address.lower(),
        amount=leg.amount,
        price_usd=price_usd,
        usd_value=leg.amount * price_usd,
        block_number=leg.log.block_number,
        block_ts=block_ts,
        tx_hash=leg.log.tx_hash,
        log_index=leg.log.log_index,
    )


def eth_balance_changes(
    previous: Mapping[str, tuple[Decimal, int]],
    current: Sequence[Holding],
    min_usd: Decimal,
    *,
    block_ts: datetime | None,
) -> list[WhaleTransfer]:
    """ETH balance moves since each address's previous stored poll worth >= min_usd.

    previous maps address -> (ETH amount, block). Only the net change between the two blocks is
    visible: several moves in between appear as one, and which transactions made it is unknown.
    """
    moves = []
    for h in current:
        before = previous.get(h.address)
        if before is None or h.price_usd is None or before[1] >= h.block_number:
            continue
        delta = h.amount - before[0]
        if delta == 0 or abs(delta) * h.price_usd < min_usd:
            continue
        moves.append(
            WhaleTransfer(
                chain_id=h.chain_id,
                kind="eth_balance_change",
                transfer_key=f"eth:{before[1]}-{h.block_number}",
                address=h.address,
                direction="in" if delta > 0 else "out",
                counterparty=None,
                asset="ETH",
                token_address=None,
                amount=abs(delta),
                price_usd=h.price_usd,
                usd_value=abs(delta) * h.price_usd,
                block_number=h.block_number,
                block_ts=block_ts,
                tx_hash=None,
                log_index=None,
            )
        )
    return moves
