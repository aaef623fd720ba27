"""Which accounts to refresh over REST next, within the weight budget (pure, clock injected).

Positions change only when an account trades, while marks change every second and are re-marked
locally. So REST weight goes, in this order, to: accounts seen trading (at once, the largest
notional times closeness to liquidation first when the budget cannot take them all), then
accounts by risk: each has a target interval from its distance to liquidation (2 % ->
`urgent_s`, 5 % -> `near_s`, 10 % -> `watch_s`, else `max_staleness_s`), and when the budget
cannot sustain every target the intervals stretch together, keeping their order. A share of
the budget (`reserve`) is kept free for trade-triggered refreshes, so a trade is never queued
behind the background sweep. Staleness (time since the last refresh) is recorded per account.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerConfig:
    """Target refresh intervals (s) by distance to liquidation, and the budget share kept free."""

    urgent_s: float = 5.0  # distance < 2 %
    near_s: float = 15.0  # < 5 %
    watch_s: float = 30.0  # < 10 %
    max_staleness_s: float = 120.0  # everyone else
    reserve: float = 0.3  # of the budget, kept for accounts seen trading

    @property
    def targets(self) -> tuple[float, float, float, float]:
        """The target intervals by tier (see `tier`): urgent, near, watch, everyone else."""
        return (self.urgent_s, self.near_s, self.watch_s, self.max_staleness_s)


def tier(distance_pct: float | None) -> int:
    """An account's tier from its distance to liquidation (%): 0 under 2, 1 under 5, 2 under 10,
    3 beyond or without a liquidation price. Its target interval is `SchedulerConfig.targets`'s."""
    if distance_pct is None or distance_pct >= 10:
        return 3
    return 0 if distance_pct < 2 else 1 if distance_pct < 5 else 2


@dataclass(slots=True)
class _Account:
    last_refresh: float = -math.inf
    traded_at: float | None = None  # the first trade no refresh has covered yet
    refresh_started: float | None = None  # a refresh of this account is in flight since then
    traded_during: float | None = None  # the first trade after refresh_started
    distance_pct: float | None = None
    notional_usd: float = 0.0


@dataclass(slots=True)
class RefreshScheduler:
    """Decides the next REST refresh batch; the caller reports trades, risk and refreshes."""

    cost_weight: float  # weight of one account refresh (state on every dex + spot)
    budget_per_min: float  # 0 = unlimited
    config: SchedulerConfig = field(default_factory=SchedulerConfig)
    accounts: dict[str, _Account] = field(default_factory=dict)

    def watch(self, addresses: Iterable[str]) -> None:
        """Follow these addresses (new ones are due at once)."""
        for address in addresses:
            self.accounts.setdefault(address, _Account())

    def saw_trade(self, address: str, now: float) -> bool:
        """A watched account traded: refresh it at once. False if it is not watched."""
        account = self.accounts.get(address)
        if account is None:
            return False
        if account.traded_at is None or account.traded_at < account.last_refresh:
            account.traded_at = now
        started = account.refresh_started
        if started is not None and now >= started and account.traded_during is None:
            # The answer in flight may predate this trade: it must not settle it.
            account.traded_during = now
        return True

    def refreshing(self, addresses: Iterable[str], now: float) -> None:
        """A refresh of these accounts starts now (trades from now on stay due after it)."""
        for address in addresses:
            account = self.accounts.get(address)
            if account is not None:
                account.refresh_started, account.traded_during = now, None

    def abandoned(self, addresses: Iterable[str]) -> None:
        """The refresh of these accounts failed: they keep the trades they had."""
        for address in addresses:
            account = self.accounts.get(address)
            if account is not None:
                account.refresh_started, account.traded_during = None, None

    def pending_trade(self, address: str) -> float | None:
        """When the account's first trade not yet covered by a refresh was seen, if any."""
        account = self.accounts.get(address)
        return None if account is None else account.traded_at

    def set_risk(self, risk: Mapping[str, tuple[float | None, float]]) -> None:
        """Nearest distance to liquidation (%) and notional (USD) per account, from the book."""
        for address, (distance, notional) in risk.items():
            account = self.accounts.get(address)
            if account is not None:
                account.distance_pct, account.notional_usd = distance, notional

    def refreshed(self, addresses: Iterable[str], now: float) -> None:
        """These accounts were refreshed (their trades before now are accounted for)."""
        for address in addresses:
            account = self.accounts.get(address)
            if account is not None:
                account.last_refresh = now
                if account.traded_at is not None and account.traded_at <= now:
                    during = account.traded_during
                    account.traded_at = during if during is not None and during > now else None
                account.refresh_started, account.traded_during = None, None

    def target_s(self, account: _Account) -> float:
        """Target interval of one account from its distance to liquidation."""
        return self.config.targets[tier(account.distance_pct)]

    def priority(self, account: _Account) -> float:
        """Order of accounts seen trading: notional (USD) x closeness to liquidation, closeness
        being 1 / distance (%, at least 0.1); an account with no liquidation price counts 100 %."""
        distance = account.distance_pct if account.distance_pct is not None else 100.0
        return account.notional_usd / max(distance, 0.1)

    def stretch(self) -> float:
        """Factor by which every target interval grows so the sweep fits its budget share."""
        if self.budget_per_min <= 0 or not self.accounts:
            return 1.0
        counts = [0, 0, 0, 0]  # accounts per tier: one pass, no call per account's target
        for account in self.accounts.values():
            counts[tier(account.distance_pct)] += 1
        per_s = sum(n / t for n, t in zip(counts, self.config.targets, strict=True))
        affordable = self.budget_per_min * (1 - self.config.reserve) / 60 / self.cost_weight
        return max(1.0, per_s / affordable)

    def next_batch(self, now: float, available_weight: float, limit: int = 256) -> list[str]:
        """Accounts to refresh now: traded first, then the most overdue by risk-based target.

        available_weight is what the budget allows now; the sweep may use it only beyond the
        reserve, trade-triggered refreshes may use all of it.
        """
        unlimited = self.budget_per_min <= 0
        affordable = limit if unlimited else int(available_weight // self.cost_weight)
        traded = sorted(
            (-self.priority(a), a.traded_at, addr)
            for addr, a in self.accounts.items()
            if a.traded_at is not None
        )
        batch = [addr for _, _, addr in traded][: min(limit, affordable)]
        sweep_weight = available_weight - (
            0 if unlimited else self.budget_per_min * self.config.reserve
        )
        sweep = limit if unlimited else int(sweep_weight // self.cost_weight)
        room = min(limit, sweep) - len(batch)
        if room <= 0:
            return batch
        stretch = self.stretch()
        # Over every account, on the event loop (50,000 with --discover): targets looked up by
        # tier, stretched once, and the overdue ones alone divided for their order.
        stretched = [t * stretch for t in self.config.targets]
        overdue = []
        for address, account in self.accounts.items():
            if account.traded_at is not None:
                continue
            target = stretched[tier(account.distance_pct)]
            waited = now - account.last_refresh
            if waited >= target:
                overdue.append((-waited / target, -account.notional_usd, address))
        overdue.sort()
        return batch + [address for _, _, address in overdue[:room]]

    def staleness(self, now: float) -> dict[str, float]:
        """Seconds since each account's last refresh (inf: never)."""
        return {addr: now - a.last_refresh for addr, a in self.accounts.items()}

    def stalest(self, now: float, n: int = 10) -> Sequence[tuple[str, float]]:
        """The n accounts refreshed longest ago."""
        return heapq.nlargest(n, self.staleness(now).items(), key=lambda kv: kv[1])
