"""Block cursors of the Ethereum log scanners, and what to do when the chain moves under one.

A scan reads from its stream's cursor + 1 up to head - TRACKER_ETH_CONFIRMATIONS, in chunks, with
no store open; then the rows and the cursor that covers them (the last chunk's block and that
block's hash) are written in one transaction. A reorganisation shallower than the confirmation
buffer never reaches the store. A deeper one (a small buffer, `TRACKER_ETH_CONFIRMATIONS=0`, or a
chain without fast finality) is seen on the next scan: the cursor block's hash is not the chain's
any more, or the block is gone. Then the rows the stream stored after REORG_REWIND_BLOCKS before
the cursor are dropped and those blocks rescanned, the drop first in the transaction that stores
the rescan, so the store ends as a scan of the new chain would have left it. Alerts already sent
for dropped rows stay in `alerts`: they were true of the chain when they were sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tracker import resources
from tracker.sources.ethereum.rpc import EthereumClient
from tracker.store import Store

log = logging.getLogger(__name__)

# Ethereum finalises after two epochs (64 blocks); rewinding twice that covers any reorganisation
# a finalising chain can have, and costs one rescan of 128 blocks when it happens.
REORG_REWIND_BLOCKS = 128


@dataclass(frozen=True, slots=True)
class ChainCursor:
    """The last block a stream has stored, and that block's hash when known."""

    block: int
    block_hash: str | None


@dataclass(slots=True)
class CursorCheck:
    """The head a pass scans below, and the block hashes read meanwhile (shared by streams)."""

    client: EthereumClient
    head: int
    hashes: dict[int, str | None] = field(default_factory=dict)

    async def hash_at(self, block: int) -> str | None:
        """The chain's hash of block, None when the chain is not that long (any more)."""
        if block not in self.hashes:
            self.hashes[block] = await self.client.block_hash(block) if block <= self.head else None
        return self.hashes[block]


def read_cursor(store: Store, chain_id: int, stream: str) -> ChainCursor | None:
    """The stream's cursor, None before its first chunk."""
    row = store.con.execute(
        resources.sql("queries", "chain_cursors"), {"chain_id": str(chain_id), "stream": stream}
    ).fetchone()
    return None if row is None else ChainCursor(int(row[2]), row[4])


def advance(store: Store, chain_id: int, stream: str, block: int, block_hash: str) -> None:
    """Move the cursor forward to block (never back), inside the chunk's transaction."""
    store.con.execute(
        resources.sql("writes", "chain_cursors"),
        [chain_id, stream, block, datetime.now(UTC), block_hash],
    )


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a stream's scan starts; rewind_to is set when the chain moved under its cursor."""

    start: int
    rewind_to: int | None = None  # drop the stream's rows after this block, cursor back to it


async def resume_from(
    check: CursorCheck, cursor: ChainCursor | None, stream: str, safe_head: int, lookback: int
) -> Resume:
    """The first block to scan: after the cursor, or earlier when the chain moved under it.

    Reads block hashes only; the rewind is the caller's to write (`rewind`), in the transaction
    that stores the rescan.
    """
    if cursor is None:
        return Resume(max(safe_head - lookback, 0))
    if cursor.block_hash is None or await check.hash_at(cursor.block) == cursor.block_hash:
        return Resume(cursor.block + 1)
    back = max(cursor.block - REORG_REWIND_BLOCKS, 0)
    log.warning(
        "chain %d was reorganised under block %d (%s): rows after block %d dropped and rescanned",
        check.client.chain_id,
        cursor.block,
        stream,
        back,
    )
    return Resume(back + 1, rewind_to=back)


def rewind(store: Store, chain_id: int, stream: str, back: int) -> None:
    """Move the stream's cursor back to block `back`, inside the transaction that drops its rows
    after that block."""
    store.con.execute(
        resources.sql("writes", "rewind_chain_cursor"), [back, datetime.now(UTC), chain_id, stream]
    )
