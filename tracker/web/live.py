"""Live figures for the pages under `tracker run --serve` in live mode, from the daemon's book.

Ten times a second (`look_s`) the feed asks the book which accounts' figures moved (a vectorised
comparison of two looks, tracker.risk.live.figures); an account moved is pushed at once unless it
was pushed less than `push_s` (1 s) ago, then when that second is up, so a lone mark move reaches
the page within ~0.1 s and a busy account once a second. Only those accounts' documents are built,
with the serializer of `tracker watch --once --json` (output.terminal.watch_json, so the keys are
the CLI's), and whatever differs from what was last sent is published, each serialized once:
- `account` (to the streams following that address): the watch document at the current marks;
- `overview` (to the overview streams): one row per moved account, the keys of /api/accounts
  (value, notional, shock, and the position nearest to liquidation).
Position changes from the tape go out at once as `position` events to the account's streams. A
new stream gets the latest bytes of what it follows at once (tracker.web.stream.Changes.subscribe),
so a page loaded from the file catches up with the book within one round trip, not at the
account's next move.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

import orjson

from tracker.jsonable import jsonable
from tracker.records import AccountReport, AccountSnapshot
from tracker.records.events import PositionChange
from tracker.risk.live.figures import Look
from tracker.web.stream import OVERVIEW, Changes, account_topic

log = logging.getLogger(__name__)
PUSH_S = 1.0  # an account's figures are pushed at most this often
LOOK_S = 0.1  # the book is looked at this often: a lone move reaches the pages within it


class LiveSource(Protocol):
    """The book as the feed reads it (tracker.risk.live.book.BookView)."""

    def changed_accounts(self, since: Look | None) -> tuple[list[str], Look]: ...

    def snapshots(self, address: str) -> list[AccountSnapshot]: ...


def account_doc(address: str, snapshots: Sequence[AccountSnapshot]) -> dict[str, Any]:
    """`tracker watch --once --json` of address at the book's marks (no holdings, no errors)."""
    from tracker.output.terminal import watch_json

    ts = max(s.ts for s in snapshots)
    return watch_json(AccountReport(address=address, ts=ts, accounts=tuple(snapshots), spot=()))


def overview_row(address: str, snapshots: Sequence[AccountSnapshot]) -> dict[str, Any]:
    """The live figures of one /api/accounts row (sql/reads/web_overview.sql, same keys)."""
    shocks = [s.shock_to_liq_pct for s in snapshots if s.shock_to_liq_pct is not None]
    near = [p for s in snapshots for p in s.positions if p.distance_to_liq_pct is not None]
    nearest = min(near, key=lambda p: p.distance_to_liq_pct or Decimal(0)) if near else None
    row: dict[str, Any] = jsonable(
        {
            "address": address,
            "ts": max(s.ts for s in snapshots),
            "account_value_usd": sum((s.account_value_usd for s in snapshots), Decimal(0)),
            "notional_usd": sum((s.notional_usd for s in snapshots), Decimal(0)),
            "shock_to_liq_pct": min(shocks, key=abs) if shocks else None,
            "positions": sum(len(s.positions) for s in snapshots),
            "coin": nearest.coin if nearest else None,
            "side": nearest.side if nearest else None,
            "mark_px": nearest.mark_px if nearest else None,
            "liquidation_px": nearest.liquidation_px if nearest else None,
            "distance_to_liq_pct": nearest.distance_to_liq_pct if nearest else None,
        }
    )
    return row


def position_doc(change: PositionChange) -> dict[str, Any]:
    """One position change from the tape or a refresh, as the `position` event carries it."""
    doc: dict[str, Any] = jsonable(
        {
            "address": change.address,
            "dex": change.dex,
            "coin": change.coin,
            "ts": change.ts,
            "kind": change.kind,
            "size_before": change.size_before,
            "size_after": change.size_after,
            "price": change.price,
            "source": change.source,
        }
    )
    return doc


class LiveFeed:
    """Publishes the book's moved figures on the app's stream; see the module docstring."""

    def __init__(
        self, changes: Changes, source: LiveSource, push_s: float = PUSH_S, look_s: float = LOOK_S
    ) -> None:
        self.changes, self.source = changes, source
        self.push_s, self.look_s = push_s, look_s
        self._look: Look | None = None
        self._pending: set[str] = set()  # moved, waiting for push_s since their last push
        self._pushed: dict[str, float] = {}  # address -> when it was last pushed (monotonic)
        # address -> (its watch document, its overview row, the `account` message) as last sent
        self._sent: dict[str, tuple[bytes, bytes, bytes]] = {}
        self._overview: bytes | None = None  # every row as last sent, for a new overview stream
        self.pushes = 0  # accounts pushed, for tests and the bench

    async def run(self) -> None:
        """Look every look_s until cancelled."""
        while True:
            self.push(time.monotonic())
            await asyncio.sleep(self.look_s)

    def push(self, now: float) -> None:
        """Publish the accounts whose figures changed and that were not pushed in the last push_s
        (the others wait their turn); synchronous: the book does not move meanwhile."""
        addresses, self._look = self.source.changed_accounts(self._look)
        self._pending.update(addresses)
        due = [a for a in self._pending if now - self._pushed.get(a, -math.inf) >= self.push_s]
        rows: list[bytes] = []
        for address in sorted(due):
            self._pending.discard(address)
            snapshots = self.source.snapshots(address)
            if not snapshots:  # no longer followed
                self._sent.pop(address, None)
                continue
            body = orjson.dumps(account_doc(address, snapshots))
            sent = self._sent.get(address)
            if sent is not None and sent[0] == body:
                continue  # refreshed or re-marked to the same figures
            row = orjson.dumps(overview_row(address, snapshots))
            message = frame("account", body)
            self._sent[address] = (body, row, message)
            self._pushed[address] = now
            self.changes.publish(account_topic(address), message)
            rows.append(row)
            self.pushes += 1
        if rows:
            self._overview = None
            self.changes.publish(OVERVIEW, overview_frame(rows))

    def latest(self, topic: str) -> bytes | None:
        """What a new stream following topic gets at once (None: nothing yet); the bytes every
        other newcomer gets too until the next push."""
        if topic == OVERVIEW:
            if self._overview is None and self._sent:
                self._overview = overview_frame([row for _, row, _ in self._sent.values()])
            return self._overview
        sent = self._sent.get(topic.removeprefix("account:"))
        return None if sent is None else sent[2]

    async def on_position_changes(self, changes: list[PositionChange]) -> None:
        """The engine's hook: each change at once to the streams following its address."""
        for change in changes:
            body = orjson.dumps(position_doc(change))
            self.changes.publish(account_topic(change.address), frame("position", body))


def frame(name: str, body: bytes) -> bytes:
    """One SSE message of already serialized JSON."""
    return b"event: " + name.encode() + b"\ndata: " + body + b"\n\n"


def overview_frame(rows: Sequence[bytes]) -> bytes:
    """The `overview` message of serialized rows."""
    return frame("overview", b'{"rows":[' + b",".join(rows) + b"]}")
