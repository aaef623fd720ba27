"""Liquidations of any account: candidates from the tape, confirmed from the venue's own fills.

The live engine hands every trade to `on_trades` (sync and cheap, from the stream reader):
trades sharing a hash and a taker whose notional reaches the threshold become candidates
(`tracker.risk.liquidation_candidates`), as do tracked accounts whose local liquidation price
the mark crosses (`on_crossed`). `run` confirms them, the largest first: one read of the
account's fills covering every pending candidate of that account. The read goes over the
WebSocket when it can (a `userFills` snapshot, no REST weight: `tracker.app.fill_snapshots`,
a few accounts at a time, `TRACKER_LIQUIDATION_CONFIRM_WS_USERS`), else it is one
`userFillsByTime`, paid from a weight share of its own
(`TRACKER_LIQUIDATION_CONFIRM_WEIGHT_PER_MIN`) on top of the shared limiter, so the total never
exceeds the venue's budget. Both reads give the same fills of the same window, judged by the
same code below. Only fills carrying a `liquidation` object make a
liquidation; they are stored and turned into episodes and alerts by `tracker.alerts.market`.
A candidate that waits longer than `MAX_WAIT_S` for budget (or is pushed out of a full queue) is
dropped and counted, for `tracker status`. A read that finds none of a candidate's trades came
before the venue served them: that candidate is asked once more after `RETRY_UNSERVED_S`. HLP's
child vaults, where backstops land, are read from `vaultDetails` of the HLP parent at start and
every `CHILDREN_REFRESH_S`.

Longer than our ~400 lines on purpose: the queue, its weight share, the reads and the follow-up
of episodes in progress share one pending heap and its counters; the pure grouping and the
storage already live apart (`risk.liquidation_candidates`, `alerts.market`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tracker.alerts.engine import AlertContext, dispatch
from tracker.app.fill_snapshots import SnapshotReader
from tracker.app.runner import HLP_PARENT, KNOWN_LIQUIDATORS
from tracker.errors import BadInput, TrackerError
from tracker.net.limiter import WeightLimiter
from tracker.records import Fill, Trade
from tracker.risk.liquidation_candidates import Candidate, CandidateGrouper
from tracker.risk.live.book import LiveBook
from tracker.sources.hyperliquid import client as hl
from tracker.sources.hyperliquid.history import FILLS_PAGE, fill_key, parse_fills, read_forward
from tracker.sources.hyperliquid.stream import HyperliquidStream
from tracker.store import open_store
from tracker.times import wait_set

log = logging.getLogger(__name__)

CONFIRM_DELAY_S = 1.0  # let the venue index the fills before asking for them
MAX_WAIT_S = 600.0  # a candidate not confirmed by then is dropped (counted)
# A read that found none of a candidate's trades came before the venue served them: its
# candidates are asked once more after this, not rejected (the account's other fills say nothing)
RETRY_UNSERVED_S = 3.0
MAX_PENDING = 5000  # the smallest candidates are dropped (counted) beyond this
CHILDREN_REFRESH_S = 600.0
# Once an account is confirmed liquidating on a coin, its next slices (the venue sends one every
# 30 s, then maybe the backstop) wait until its tape has been quiet this long, or at most
# FOLLOW_MAX_S, so one more read covers the rest of the episode instead of one read per slice.
FOLLOW_QUIET_S = 35.0
FOLLOW_MAX_S = 180.0
CROSSED_REPEAT_S = 60.0  # a position past its liquidation price is looked at again after this
MARGIN_MS = 2000  # read the account's fills this far after its candidates
# and this far before them: slices under the threshold may precede the one seen (30 s apart)
LOOKBACK_MS = 300_000
# A candidate that could be read over the WebSocket but finds every user slot busy waits this
# long for one, then is read over REST.
SLOT_WAIT_S = 2.0


@dataclass(slots=True)
class WatchStats:
    """What the watcher did since start (for `tracker status` and the pass line)."""

    candidates: int = 0
    confirm_calls: int = 0
    confirmed: int = 0  # candidates whose account had a liquidation fill in the window
    confirmed_ws: int = 0  # of those, read from a WebSocket snapshot
    confirmed_rest: int = 0  # and read with userFillsByTime
    ws_fallbacks: int = 0  # reads tried over the WebSocket, then done over REST
    rejected: int = 0  # candidates whose account had none: never called a liquidation
    retried: int = 0  # candidates whose trades the venue had not served yet: asked again once
    dropped_for_budget: int = 0
    liquidation_fills: int = 0
    episodes: int = 0
    alerts: int = 0
    alerts_updated: int = 0
    failed: int = 0


@dataclass(slots=True)
class _Following:
    """An account confirmed liquidating on a coin, whose later slices are batched."""

    last_ms: int  # its newest liquidation fill read
    confirmed_usd: Decimal  # its episode's figure the large threshold compares, as stored
    began: float | None = None  # when its later slices started waiting


@dataclass(order=True, slots=True)
class _Pending:
    priority: Decimal  # minus the notional: the heap pops the largest first
    seq: int
    candidate: Candidate
    ready_at: float


class LiquidationWatch:
    """See the module docstring. Build once per `tracker run`; the engine calls the rest."""

    def __init__(
        self,
        *,
        client: hl.HyperliquidClient,
        db: Path,
        alerting: AlertContext,
        sinks: Sequence[Any],
        candidate_usd: Decimal,
        weight_per_min: int,
        ws_users: int = 0,  # user slots for WebSocket reads (0: REST only)
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.db, self.alerting, self.sinks = client, db, alerting, list(sinks)
        self.grouper = CandidateGrouper(candidate_usd, KNOWN_LIQUIDATORS)
        self.limiter = WeightLimiter(weight_per_min, clock=clock)
        self.stats = WatchStats()
        self.snapshots = SnapshotReader(ws_users, clock=clock)
        self._clock = clock
        self._inflight: set[str] = set()  # accounts being read
        self._rest_busy = False  # one REST read at a time, as the weight share is paced
        self._writing = asyncio.Lock()  # reads run side by side; the store takes one writer
        self._heap: list[_Pending] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._covered: dict[str, int] = {}  # address -> ms up to which its fills were read
        self._retried: set[tuple[str | None, str, str]] = set()  # (hash, address, coin) asked again
        self._children_at = float("-inf")
        self._crossed_at: dict[tuple[str, str], float] = {}
        self._liquidating: dict[tuple[str, str], _Following] = {}

    # -- called by the engine (sync, cheap) --------------------------------------------------

    @property
    def ws_users(self) -> int:
        """User slots this watch keeps for WebSocket reads (the engine follows 10 less these)."""
        return self.snapshots.share

    def attach_stream(self, stream: HyperliquidStream) -> None:
        """Read fills over this stream too (the engine routes its snapshots to `snapshots`)."""
        self.snapshots.attach(stream)

    def on_trades(self, trades: Iterable[Trade]) -> None:
        """Group trades from the tape into candidates (no I/O)."""
        for candidate in self.grouper.add(trades):
            self._push(candidate)

    def on_crossed(self, address: str, coin: str, time_ms: int, notional_usd: Decimal) -> None:
        """A tracked account's local liquidation price was crossed by the mark: look at it."""
        self._push(
            Candidate(
                address=address.lower(),
                coin=coin,
                first_ms=time_ms,
                last_ms=time_ms,
                notional_usd=notional_usd,
                hash=None,
                source="crossed",
            )
        )

    def on_book(self, book: LiveBook) -> None:
        """After a re-mark: every tracked position the mark has taken past its local liquidation
        price is a candidate (once per position every CROSSED_REPEAT_S)."""
        crossed = book.below([0.0])
        if not crossed:
            return
        now, now_ms = self._clock(), time.time_ns() // 1_000_000
        for near in crossed:
            key = (near.address, near.coin)
            if now - self._crossed_at.get(key, float("-inf")) < CROSSED_REPEAT_S:
                continue
            self._crossed_at[key] = now
            notional = sum(
                (
                    p.notional_usd
                    for a in book.snapshots(near.address)
                    for p in a.positions
                    if p.coin == near.coin
                ),
                Decimal(0),
            )
            self.on_crossed(near.address, near.coin, now_ms, notional)

    def _push(self, candidate: Candidate) -> None:
        if candidate.hash is not None:
            same = [
                p
                for p in self._heap
                if (p.candidate.hash, p.candidate.address, p.candidate.coin)
                == (candidate.hash, candidate.address, candidate.coin)
            ]
            if same:  # a queued group grew: its total (and so its rank) follows
                self._heap.remove(same[0])
                heapq.heapify(self._heap)
            elif candidate.last_ms <= self._covered.get(candidate.address, 0):
                return  # a read already covered these trades
            else:
                self.stats.candidates += 1
        else:
            self.stats.candidates += 1
        ready, rank = self._clock() + CONFIRM_DELAY_S, candidate.notional_usd
        follow = self._liquidating.get((candidate.address, candidate.coin))
        if follow is not None and candidate.first_ms - follow.last_ms <= self.alerting.gap_s * 1000:
            ready, rank = self._follow_up(candidate, follow, ready)
        entry = _Pending(-rank, next(self._seq), candidate, ready)
        heapq.heappush(self._heap, entry)
        if len(self._heap) > MAX_PENDING:
            smallest = max(self._heap)
            self._heap.remove(smallest)
            heapq.heapify(self._heap)
            self.stats.dropped_for_budget += 1
        self._wake.set()

    def _follow_up(
        self, candidate: Candidate, follow: _Following, soon: float
    ) -> tuple[float, Decimal]:
        """A later slice of a liquidation already confirmed: when, and how high, to read it.

        It and the account's other pending candidates wait for its tape to go quiet (at most
        FOLLOW_MAX_S since the first), unless the tape says the episode now reaches the large
        threshold: that read goes at once, ranked by the episode's size (the alert is due).
        """
        now = self._clock()
        if follow.began is None:
            follow.began = now
        waiting = [p for p in self._heap if p.candidate.address == candidate.address]
        tape_usd = sum((p.candidate.notional_usd for p in waiting), candidate.notional_usd)
        large = self.alerting.large_usd
        if follow.confirmed_usd < large <= follow.confirmed_usd + tape_usd:
            # the account's pending candidates go with it
            return soon, follow.confirmed_usd + tape_usd
        ready = min(now + FOLLOW_QUIET_S, follow.began + FOLLOW_MAX_S)
        for entry in waiting:
            entry.ready_at = max(entry.ready_at, ready)
        return ready, candidate.notional_usd

    # -- the confirm loop --------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Confirm candidates, largest first, within the weight share, until stop is set."""
        async with asyncio.TaskGroup() as group:
            while not stop.is_set():
                if self._clock() - self._children_at >= CHILDREN_REFRESH_S:
                    await self._refresh_children()
                self._drop_stale()
                picked = self._next_batch()
                if picked is None:
                    self._wake.clear()
                    await wait_set(self._wake, 0.25)
                    continue
                batch, via_ws = picked
                self._inflight.add(batch[0].address)
                self._rest_busy = self._rest_busy or not via_ws
                group.create_task(self._confirm(batch, via_ws), name="liquidation-confirm")

    def _next_batch(self) -> tuple[list[Candidate], bool] | None:
        """The largest ready candidate and every other pending one of its account, and whether
        to read it over the WebSocket; None while neither read has room for it now."""
        now = self._clock()
        ready = [
            p for p in self._heap if p.ready_at <= now and p.candidate.address not in self._inflight
        ]
        if not ready:
            return None
        top = min(ready)
        address = top.candidate.address
        via_ws = self.snapshots.reserve(address)
        if not via_ws:
            if self.snapshots.usable(address) and now - top.ready_at < SLOT_WAIT_S:
                return None  # a user slot frees within a round trip
            if self._rest_busy or self.limiter.used_in_window() + hl.request_weight(
                "userFillsByTime"
            ) > (self.limiter.per_minute):
                return None
        mine = [p for p in self._heap if p.candidate.address == address]
        self._heap = [p for p in self._heap if p.candidate.address != address]
        heapq.heapify(self._heap)
        return [p.candidate for p in mine], via_ws

    def _drop_stale(self) -> None:
        if len(self._covered) > MAX_PENDING:  # forget reads no candidate window can reach
            oldest = time.time_ns() // 1_000_000 - LOOKBACK_MS - int(MAX_WAIT_S * 1000)
            self._covered = {a: ms for a, ms in self._covered.items() if ms >= oldest}
        if len(self._liquidating) > MAX_PENDING:
            oldest_ms = time.time_ns() // 1_000_000 - int(self.alerting.gap_s * 1000)
            self._liquidating = {
                k: v for k, v in self._liquidating.items() if v.last_ms >= oldest_ms
            }
        if len(self._crossed_at) > MAX_PENDING:
            recent = self._clock() - CROSSED_REPEAT_S
            self._crossed_at = {k: t for k, t in self._crossed_at.items() if t >= recent}
        horizon = self._clock() - MAX_WAIT_S - CONFIRM_DELAY_S
        kept = [p for p in self._heap if p.ready_at >= horizon]
        if len(kept) < len(self._heap):
            dropped = len(self._heap) - len(kept)
            self.stats.dropped_for_budget += dropped
            log.warning("%d liquidation candidates dropped: no confirm budget in time", dropped)
            self._heap = kept
            heapq.heapify(self._heap)

    async def _refresh_children(self) -> None:
        """Follow every child vault of HLP (backstops land on them); keep the old set on error."""
        self._children_at = self._clock()
        try:
            async with self.limiter.spend(hl.request_weight("vaultDetails")):
                raw = await self.client.fetch_vault_details(HLP_PARENT)
            _, children = hl.parse_vault_details(raw, HLP_PARENT)
        except TrackerError as exc:
            log.warning("HLP child vaults not refreshed: %s", exc)
            return
        self.grouper.vaults = frozenset(children) | KNOWN_LIQUIDATORS
        log.info("following %d HLP child vaults for backstops", len(children))

    async def _confirm(self, batch: list[Candidate], via_ws: bool) -> None:
        address = batch[0].address
        try:
            await self._confirm_read(batch, via_ws)
        finally:
            self.snapshots.release(address)  # a read that returned early never took it
            self._inflight.discard(address)
            self._rest_busy = self._rest_busy and via_ws
            self._wake.set()

    async def _confirm_read(self, batch: list[Candidate], via_ws: bool) -> None:
        address = batch[0].address
        start = min(c.first_ms for c in batch) - LOOKBACK_MS
        start = max(start, self._covered.get(address, 0) + 1)
        end = max(c.last_ms for c in batch) + MARGIN_MS
        if start > end:  # already read past every one of them
            self.stats.rejected += len(batch)
            return
        fills = await self.snapshots.read(address, start, end) if via_ws else None
        if via_ws and fills is None:
            self.stats.ws_fallbacks += 1
        if fills is None:
            via_ws = False
            try:
                fills = await self._read_fills(address, start, end)
            except BadInput:
                raise
            except TrackerError as exc:
                log.warning("liquidation candidates of %s not confirmed: %s", address, exc)
                self.stats.failed += 1
                return
        # Its own liquidation fills only: as a maker in someone else's liquidation its fills carry
        # the object too, naming the other account, and do not describe its position.
        liquidations = [
            f
            for f in fills
            if f.liquidation_method is not None and (f.liquidated_user or address) == address
        ]
        # A candidate none of whose trades came back was asked too early: once more, later.
        served = {f.hash for f in fills if f.hash}
        liquidated = {f.coin for f in liquidations}
        unserved = [
            c
            for c in batch
            if c.hash is not None
            and c.coin not in liquidated
            and c.hash not in served
            and (c.hash, c.address, c.coin) not in self._retried
        ]
        # Read up to `end`, but a fill newer than a moment ago may not have been served yet.
        read_to = min(end, time.time_ns() // 1_000_000 - MARGIN_MS)
        if unserved:  # leave their window unread, so the second ask reads it
            read_to = min(read_to, min(c.first_ms for c in unserved) - 1)
        self._covered[address] = max(self._covered.get(address, 0), read_to)
        self._ask_again(unserved)
        batch = [c for c in batch if c not in unserved]
        coins = {f.coin for f in liquidations}
        for coin in coins:
            last = max(f.time_ms for f in liquidations if f.coin == coin)
            known = self._liquidating.get((address, coin))
            stored = known.confirmed_usd if known is not None else Decimal(0)
            self._liquidating[(address, coin)] = _Following(last_ms=last, confirmed_usd=stored)
        confirmed = [c for c in batch if c.coin in coins]
        self.stats.confirmed += len(confirmed)
        if via_ws:
            self.stats.confirmed_ws += len(confirmed)
        else:
            self.stats.confirmed_rest += len(confirmed)
        self.stats.rejected += len(batch) - len(confirmed)
        if not liquidations:
            return
        await self._record(address, liquidations)

    def _ask_again(self, unserved: list[Candidate]) -> None:
        if len(self._retried) > MAX_PENDING:
            self._retried.clear()
        ready = self._clock() + RETRY_UNSERVED_S
        for c in unserved:
            self._retried.add((c.hash, c.address, c.coin))
            heapq.heappush(self._heap, _Pending(-c.notional_usd, next(self._seq), c, ready))
            self.stats.retried += 1
        if unserved:
            self._wake.set()

    async def _read_fills(self, address: str, start: int, end: int) -> list[Fill]:
        async def fetch(cursor: int) -> object:
            body: hl.InfoRequest = {
                "type": "userFillsByTime",
                "user": address,
                "startTime": cursor,
                "endTime": end,
                "aggregateByTime": False,
            }
            weight = hl.request_weight("userFillsByTime")
            async with self.limiter.spend(weight) as spent:
                raw = await self.client.info(body, address=address)
                items = len(raw) if isinstance(raw, list) else 0
                spent.weight = weight + hl.item_surcharge("userFillsByTime", items)
            self.stats.confirm_calls += 1
            return raw

        paged = await read_forward(
            fetch,
            lambda raw: parse_fills(raw, address),
            fill_key,
            start_ms=start,
            page_size=FILLS_PAGE,
        )
        return paged.items

    async def _record(self, address: str, fills: list[Fill]) -> None:
        from tracker.alerts.market import record_confirmed

        victims = [address]

        def write() -> Any:
            with open_store(self.db) as store:
                return record_confirmed(store, self.alerting, victims, fills)

        try:
            async with self._writing:
                recorded = await asyncio.to_thread(write)
        except BadInput:
            raise
        except TrackerError as exc:
            log.warning("liquidation fills of %s not stored: %s", address, exc)
            self.stats.failed += 1
            self._covered.pop(address, None)  # read them again with the next candidate
            return
        self.stats.liquidation_fills += len(fills)
        for ep in sorted(recorded.episodes, key=lambda e: e.end):  # the newest episode wins
            follow = self._liquidating.get((ep.address, ep.coin))
            stake = ep.at_stake_usd(self.alerting.large_basis)
            if follow is not None and stake is not None:
                follow.confirmed_usd = stake
        self.stats.episodes += len(recorded.episodes)
        self.stats.alerts += len(recorded.new_alerts)
        self.stats.alerts_updated += len(recorded.updated_alerts)
        if recorded.new_alerts and self.sinks:
            try:
                await dispatch(self.db, self.sinks, timeout_s=self.client.policy.timeout_s)
            except BadInput:
                raise
            except TrackerError as exc:  # stored: the next dispatch delivers them
                log.warning("large liquidation alerts stored, delivery deferred: %s", exc)

    def status(self) -> dict[str, Any]:
        """Counters and budget use, for the status file."""
        return {
            "pending": len(self._heap),
            "candidates": self.stats.candidates,
            "confirm_calls": self.stats.confirm_calls,
            "confirmed": self.stats.confirmed,
            "confirmed_ws": self.stats.confirmed_ws,
            "confirmed_rest": self.stats.confirmed_rest,
            "ws_fallbacks": self.stats.ws_fallbacks,
            "rejected": self.stats.rejected,
            "retried": self.stats.retried,
            "dropped_for_budget": self.stats.dropped_for_budget,
            "liquidation_fills": self.stats.liquidation_fills,
            "alerts": self.stats.alerts,
            "alerts_updated": self.stats.alerts_updated,
            "failed": self.stats.failed,
            "hlp_children": len(self.grouper.vaults - KNOWN_LIQUIDATORS),
            "weight_per_min": self.limiter.per_minute,
            "weight_used_last_min": self.limiter.used_in_window(),
            "weight_max_in_any_min": self.limiter.max_in_window,
            **self.snapshots.status(),
        }
