"""Which history a pass reads: streams due by age or by moved positions, and the allowance
that makes deferrable history take turns in a daemon (tracker.app.snapshot_pass reads what this
plans)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tracker.records import AccountReport


class HistoryAllowance:
    """Weight that deferrable history may spend in any minute, across the passes of a daemon."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._spent: deque[tuple[float, int]] = deque()

    def available(self) -> int:
        """Weight left in the last minute."""
        horizon = self._clock() - 60.0
        while self._spent and self._spent[0][0] <= horizon:
            self._spent.popleft()
        return max(self.per_minute - sum(w for _, w in self._spent), 0)

    def spend(self, weight: int) -> None:
        """Count weight planned now."""
        if weight > 0:
            self._spent.append((self._clock(), weight))


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryPolicy:
    """When a history stream is due again (seconds)."""

    history_max_age_s: float = 300.0
    funding_max_age_s: float = 3600.0
    force: bool = False
    enabled: bool = True  # False: state only (benchmarks, `--no-history`)
    # What history due only by age (or on first sight) may spend a minute, shared by the passes
    # of one daemon (None: no limit). Fills of an account whose positions moved are always read.
    allowance: HistoryAllowance | None = None


@dataclass(slots=True)
class PassState:
    """What the store says before a pass: where history resumes, when it was read, positions."""

    starts: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # fills, funding, ledger
    fetched: dict[tuple[str, str], datetime] = field(default_factory=dict)
    positions: dict[str, dict[tuple[str, str], Decimal]] = field(default_factory=dict)
    marks: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (dex, coin): last mark
    seen: set[tuple[str, str]] = field(default_factory=set)  # (address, dex) stored before

    def was_read(self, address: str) -> bool:
        """True when some history stream of address was read before."""
        return any((address, s) in self.fetched for s in HISTORY_STREAMS)


def _signed(report: AccountReport) -> dict[tuple[str, str], Decimal]:
    return {(p.dex, p.coin): (p.size if p.side == "long" else -p.size) for p in report.positions}


def due_streams(
    report: AccountReport, state: PassState, policy: HistoryPolicy, now: datetime
) -> list[str]:
    """History streams of this address worth reading this pass."""
    if not policy.enabled:
        return []
    address = report.address
    moved = changed(report, state)
    streams = []
    for stream, max_age in (
        ("fills", policy.history_max_age_s),
        ("ledger", policy.history_max_age_s),
        ("funding", policy.funding_max_age_s),
    ):
        fetched = state.fetched.get((address, stream))
        stale = fetched is None or now - fetched >= timedelta(seconds=max_age)
        if policy.force or stale or (moved and stream != "funding"):
            streams.append(stream)
    return streams


def changed(report: AccountReport, state: PassState) -> bool:
    """True when the account's positions differ from its last stored ones."""
    return _signed(report) != state.positions.get(report.address, {})


HISTORY_STREAMS = ("fills", "ledger", "funding")
STREAM_WEIGHT = 20  # one history request (§2.1); pages and item surcharges come on top


def budget_history(
    plan: dict[str, list[str]],
    urgent: set[str],
    state: PassState,
    max_weight: int | None,
) -> tuple[dict[str, list[str]], int, int]:
    """Keep the urgent addresses' due streams, then the rest, longest unread (never read
    first), within max_weight (STREAM_WEIGHT a stream); the others wait for a later pass.
    Returns (plan, postponed addresses, weight planned for the non-urgent ones).

    Without it, a polling daemon watching 1,000 accounts under 1,200 weight a minute reads
    everybody's history in every pass from the third on (some 40,000 weight, over half an hour
    a pass), and live mode spends most of its weight on it; with it, snapshots keep their pace
    and history comes round in turn.
    """
    if max_weight is None:
        return plan, 0, 0
    kept = {a: s for a, s in plan.items() if a in urgent or not s}
    spent = 0
    never = datetime.min.replace(tzinfo=UTC)

    def last_read(item: tuple[str, list[str]]) -> datetime:  # its history, any stream
        return max(state.fetched.get((item[0], s), never) for s in HISTORY_STREAMS)

    postponed = 0
    for address, streams in sorted((i for i in plan.items() if i[0] not in kept), key=last_read):
        cost = STREAM_WEIGHT * len(streams)
        if spent + cost <= max_weight:
            kept[address], spent = streams, spent + cost
        else:
            kept[address] = []
            postponed += 1
    return kept, postponed, spent
