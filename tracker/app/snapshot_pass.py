"""A snapshot pass: state of every address, then the history that is due, stored in one transaction.

History costs weight 20 or more per stream and address, against 2 for a state, so it is read
when it can have changed: on first sight of an address (a backfill), when its positions differ
from the last stored snapshot, or when the stream was last read more than a maximum age ago
(fills and ledger: `history_max_age_s`; funding, paid hourly: `funding_max_age_s`). The DuckDB
file is opened twice per pass for milliseconds (read where to resume, write the result), so
`tracker query` from another process is never locked out for long.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from tracker import resources
from tracker.alerts import store as alert_store
from tracker.alerts.engine import AlertContext, Evaluation, dispatch, evaluate
from tracker.alerts.move_engine import MoveSettings, evaluate_moves
from tracker.alerts.moves import refresh_changes
from tracker.app.changes import changed_accounts, read_stored
from tracker.app.history_plan import HistoryPolicy, PassState, budget_history, changed, due_streams
from tracker.app.poller import HyperliquidPoller, PollResult
from tracker.errors import StoreError, VenueError
from tracker.records import AccountReport, Fill, FundingPayment, LedgerEntry
from tracker.records.events import PositionChange
from tracker.sources.hyperliquid import history
from tracker.sources.hyperliquid.client import VENUE
from tracker.store import open_store
from tracker.store.writes import HistoryBatch, HistoryCursor, PassSummary, write_pass

if TYPE_CHECKING:
    from tracker.alerts.sinks import Sink

log = logging.getLogger(__name__)
Progress = Callable[[str, int], None]


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class PassReport:
    """What a pass did, for the summary line, --json and the daemon's log line.

    Its repr is the summary line, not every field: Python 3.11's asyncio.run formats the repr of
    its main task (result included) when it restores the SIGINT handler, and the full repr of a
    pass over 1,000 accounts costs 0.1 s at the end of every `tracker snapshot`.
    """

    ts: datetime
    command: str
    addresses: int
    ok: int
    failed: dict[str, str]
    positions: int
    new_fills: int
    new_funding: int
    new_ledger: int
    history_read: int
    history_postponed: int
    gaps: tuple[str, ...]
    weight: int
    duration_s: float
    weight_by_type: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)  # venue faults retried, by reason
    new_alerts: int = 0
    episodes: int = 0
    # `tracker run` stores an unchanged account once per interval (tracker.app.changes)
    accounts_stored: int | None = None  # account rows written (None: every account polled)
    positions_stored: int | None = None
    universe: dict[str, Any] | None = None  # `tracker run --discover`: the sweep's progress
    ethereum: dict[str, Any] | None = None  # the Ethereum side of the pass, when there is one
    reports: tuple[AccountReport, ...] = ()
    liquidation_candidates_dropped: int | None = None  # live mode: no confirm budget in time

    def __repr__(self) -> str:
        return f"<PassReport {self.command}: {self.line()}>"

    def line(self) -> str:
        """One cron-friendly line."""
        failed = f", {len(self.failed)} failed" if self.failed else ""
        retried = f", {n} retried" if (n := sum(self.retries.values())) else ""
        stored = (
            f" ({self.positions_stored} stored)"
            if self.positions_stored is not None and self.positions_stored != self.positions
            else ""
        )
        universe = (
            f", universe {self.universe['seen']}/{self.universe['accounts']} seen"
            if self.universe
            else ""
        )
        return (
            f"snapshot {self.ts:%Y-%m-%dT%H:%M:%SZ}: {self.ok}/{self.addresses} addresses"
            f"{failed}, {self.positions} positions{stored}, {self.new_fills} fills, "
            f"{self.new_funding} funding, {self.new_ledger} ledger, weight {self.weight}"
            f"{retried}{universe}, {self.duration_s:.1f}s"
        )

    def as_json(self) -> dict[str, Any]:
        """Machine-readable report."""
        return {
            "time": self.ts.isoformat().replace("+00:00", "Z"),
            "command": self.command,
            "addresses": self.addresses,
            "addresses_ok": self.ok,
            "failed": self.failed,
            "positions": self.positions,
            "new_fills": self.new_fills,
            "new_funding": self.new_funding,
            "new_ledger": self.new_ledger,
            "history_read": self.history_read,
            "history_postponed": self.history_postponed,
            "history_gaps": list(self.gaps),
            "weight": self.weight,
            "weight_by_type": self.weight_by_type,
            "retries": self.retries,
            "new_alerts": self.new_alerts,
            "liquidation_episodes": self.episodes,
            "accounts_stored": self.accounts_stored,
            "positions_stored": self.positions_stored,
            "universe": self.universe,
            "ethereum": self.ethereum,
            "duration_s": round(self.duration_s, 3),
            **(
                {"liquidation_candidates_dropped": self.liquidation_candidates_dropped}
                if self.liquidation_candidates_dropped is not None
                else {}
            ),
        }


def read_pass_state(db: Path, addresses: Sequence[str]) -> PassState:
    """Where each address's history resumes and its last stored positions."""
    state = PassState()
    params = {"venue": VENUE, "addresses": list(addresses)}
    with open_store(db) as store:
        for address, fills, funding, ledger in store.con.execute(
            resources.sql("reads", "history_starts"), params
        ).fetchall():
            state.starts[address] = (int(fills), int(funding), int(ledger))
        for address, stream, fetched_at in store.con.execute(
            resources.sql("reads", "history_fetched"), params
        ).fetchall():
            state.fetched[(address, stream)] = fetched_at
        for address, dex, coin, size, mark in store.con.execute(
            resources.sql("reads", "previous_positions"), params
        ).fetchall():
            state.positions.setdefault(address, {})[(dex, coin)] = size
            state.marks[(dex, coin)] = mark
        state.seen.update(
            (address, dex)
            for address, dex in store.con.execute(
                resources.sql("reads", "previous_accounts"), params
            ).fetchall()
        )
    return state


@dataclass(slots=True)
class _History:
    fills: list[Fill] = field(default_factory=list)
    funding: list[FundingPayment] = field(default_factory=list)
    ledger: list[LedgerEntry] = field(default_factory=list)
    cursors: list[HistoryCursor] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


async def read_history(
    poller: HyperliquidPoller,
    plan: dict[str, list[str]],
    state: PassState,
    now: datetime,
    progress: Progress | None = None,
) -> _History:
    """Read the planned streams of every address concurrently; failures kept per address."""
    out = _History()
    slots = asyncio.Semaphore(max(poller.concurrency, 1))
    client = poller.client

    async def one(address: str, streams: list[str]) -> None:
        fills_from, funding_from, ledger_from = state.starts.get(address, (0, 0, 0))
        try:
            async with slots:
                if "fills" in streams:
                    report = (lambda n: progress(address, n)) if progress else None
                    page = await history.fetch_fills_since(client, address, fills_from, report)
                    out.fills.extend(page.items)
                    if page.gap:
                        out.gaps.append(address)
                if "funding" in streams:
                    out.funding.extend(
                        (await history.fetch_funding_since(client, address, funding_from)).items
                    )
                if "ledger" in streams:
                    out.ledger.extend(
                        (await history.fetch_ledger_since(client, address, ledger_from)).items
                    )
        except VenueError as exc:
            log.warning("history of %s not read: %s", address, exc)
            out.failed[address] = str(exc)
            return
        out.cursors.extend(
            HistoryCursor(venue=VENUE, address=address, stream=s, fetched_at=now) for s in streams
        )

    async with asyncio.TaskGroup() as group:
        for address, streams in plan.items():
            if streams:
                group.create_task(one(address, streams))
    return out


# About 80 lines: the steps of one pass in the order they run (state, history plan, history,
# summary, write, dispatch, report); each step's work lives in the functions it calls.
async def snapshot_pass(
    poller: HyperliquidPoller,
    db: Path,
    addresses: Sequence[str],
    *,
    command: str,
    policy: HistoryPolicy | None = None,
    progress: Progress | None = None,
    now: Callable[[], datetime] | None = None,
    history_required: bool = True,
    alerting: AlertContext | None = None,
    sinks: Sequence[Sink] = (),
    follow_fills: Sequence[str] = (),
    keep_s: float | None = None,
    state_only: frozenset[str] = frozenset(),
) -> PassReport:
    """One pass over addresses: state, due history, all stored in one transaction.

    With history_required false (`tracker watch`), an address whose history could not be read
    still counts as done: its state is what the command is for. With keep_s (`tracker run`), an
    account whose positions did not change is stored only when its last stored row is keep_s old
    (tracker.app.changes). Addresses in state_only (`tracker run --discover`'s universe) are read
    on the main dex only, without spot balances or history.
    """
    policy = policy or HistoryPolicy()
    started, weight0 = time.monotonic(), poller.client.limiter.total_weight
    by_type0 = dict(poller.client.weight_by_type)
    retries0 = dict(poller.client.retries)
    ts = (now or poller.poll_time)()
    followed = [a for a in follow_fills if a not in set(addresses)]
    state = await asyncio.to_thread(read_pass_state, db, [*addresses, *followed])
    result: PollResult = await poller.poll(addresses, ts, state_only=state_only)
    ok = [r for r in result.reports if not r.errors]
    plan, postponed = _history_plan(ok, state, policy, ts, state_only, followed)
    got = await read_history(poller, plan, state, ts, progress)
    failed = {r.address: r.errors[0] for r in result.failed}
    if history_required:
        failed.update({a: e for a, e in got.failed.items() if a not in followed})
    weight = poller.client.limiter.total_weight - weight0
    summary = PassSummary(
        ts=ts,
        command=command,
        addresses=len(addresses),
        addresses_ok=len(addresses) - len(failed),
        positions=sum(len(r.positions) for r in ok),
        finished_at=datetime.now(UTC),
        errors=tuple(f"{a}: {e}" for a, e in failed.items()),
        weight=weight,
    )
    batch = HistoryBatch(
        fills=got.fills, funding=got.funding, ledger=got.ledger, cursors=got.cursors
    )
    moves = (
        _refresh_changes(ok, result, state)
        if alerting and alerting.position_alert_usd is not None
        else []
    )
    inserted, evaluation, pending = await asyncio.to_thread(
        _write, db, ok, result, summary, batch, alerting, keep_s, moves, [s.name for s in sinks]
    )
    if evaluation is not None and pending:
        await dispatch(db, sinks, timeout_s=poller.client.policy.timeout_s * 2)
    return PassReport(
        ts=ts,
        command=command,
        addresses=len(addresses),
        ok=summary.addresses_ok,
        failed=failed,
        positions=summary.positions,
        new_fills=inserted["fills"],
        new_funding=inserted["funding"],
        new_ledger=inserted["ledger"],
        history_read=sum(1 for s in plan.values() if s),
        history_postponed=postponed,
        gaps=tuple(got.gaps),
        weight=weight,
        weight_by_type=_grown(poller.client.weight_by_type, by_type0),
        retries=_grown(poller.client.retries, retries0),
        duration_s=time.monotonic() - started,
        new_alerts=len(evaluation.new_alerts) if evaluation else 0,
        episodes=len(evaluation.episodes) if evaluation else 0,
        accounts_stored=None if keep_s is None else inserted["account_snapshots"],
        positions_stored=None if keep_s is None else inserted["positions"],
        reports=result.reports,
    )


def _history_plan(
    ok: Sequence[AccountReport],
    state: PassState,
    policy: HistoryPolicy,
    ts: datetime,
    state_only: frozenset[str],
    followed: Sequence[str],
) -> tuple[dict[str, list[str]], int]:
    """The history streams to read per address this pass, within the history budget, and how
    many addresses had to wait for it."""
    plan = {
        r.address: [] if r.address in state_only else due_streams(r, state, policy, ts) for r in ok
    }
    # Positions that moved since the last read make fills urgent (a liquidation, a trade). An
    # address seen for the first time waits its turn like the rest: its snapshot comes first.
    urgent = {
        r.address
        for r in ok
        if r.address not in state_only and changed(r, state) and state.was_read(r.address)
    }
    allowance = policy.allowance
    budget = allowance.available() if allowance is not None else None
    plan, postponed, planned = budget_history(plan, urgent, state, budget)
    if allowance is not None:
        allowance.spend(planned)
    plan.update({a: ["fills"] for a in followed if policy.enabled})  # liquidators: every pass
    return plan, postponed


def _refresh_changes(
    ok: Sequence[AccountReport], result: PollResult, state: PassState
) -> list[PositionChange]:
    """The size changes this refresh found against the stored positions (whale moves)."""
    marks = dict(state.marks)
    marks.update({(m.dex, m.coin): m.mark_px for m in result.markets if m.mark_px is not None})
    return refresh_changes(ok, state.positions, state.seen, marks)


def _grown(counts: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    """What each count gained since `before`, the unchanged left out."""
    return {k: v - before.get(k, 0) for k, v in counts.items() if v - before.get(k, 0)}


def _write(
    db: Path,
    ok: list[AccountReport],
    result: PollResult,
    summary: PassSummary,
    batch: HistoryBatch,
    alerting: AlertContext | None,
    keep_s: float | None,
    moves: Sequence[PositionChange],
    sinks: Sequence[str],
) -> tuple[dict[str, int], Evaluation | None, int]:
    """Store the pass and evaluate its alerts under one open; also count the (alert, sink) pairs
    pending delivery, so that a pass with none skips the dispatch and its own open of the file.
    (Pairs that become pending later come from a path that dispatches them itself.)"""
    with open_store(db) as store:
        try:
            to_store = ok
            if keep_s is not None:  # read and write under one open: passes here take turns
                stored = read_stored(store, [r.address for r in ok])
                to_store, _ = changed_accounts(ok, stored, keep_s)
            inserted = write_pass(store, to_store, result.markets, summary, batch)
            evaluation = (
                evaluate(store, alerting, ok, batch.fills, summary.ts) if alerting else None
            )
            if alerting and alerting.position_alert_usd is not None and moves:
                settings = MoveSettings(
                    threshold_usd=alerting.position_alert_usd,
                    cooldown_s=alerting.position_alert_cooldown_s,
                    labels=alerting.labels,
                )
                new = evaluate_moves(store, settings, moves)
                if evaluation is not None:
                    evaluation = replace(evaluation, new_alerts=[*evaluation.new_alerts, *new])
            pending = (
                len(alert_store.pending(store, sinks)) if evaluation is not None and sinks else 0
            )
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise StoreError(f"writing the pass to {db} failed: {first}") from exc
    return inserted, evaluation, pending
