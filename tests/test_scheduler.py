"""The budgeted refresh scheduler on a virtual clock."""

from __future__ import annotations

from tracker.app.live.scheduler import RefreshScheduler, SchedulerConfig

ADDRESSES = [f"0x{i:040x}" for i in range(100)]


def simulate(scheduler: RefreshScheduler, seconds: int, trades: dict[int, str] | None = None):
    """Drive the scheduler second by second against a sliding 60 s budget."""
    spent: list[tuple[float, float]] = []
    refreshes: dict[str, list[float]] = {a: [] for a in scheduler.accounts}
    pending: dict[str, float] = {}
    delays: list[float] = []
    for t in range(seconds):
        now = float(t)
        if trades and t in trades:
            scheduler.saw_trade(trades[t], now)
            pending.setdefault(trades[t], now)
        used = sum(w for at, w in spent if at > now - 60)
        available = scheduler.budget_per_min - used if scheduler.budget_per_min else 1e9
        batch = scheduler.next_batch(now, available)
        for address in batch:
            spent.append((now, scheduler.cost_weight))
            refreshes[address].append(now)
            if address in pending:
                delays.append(now - pending.pop(address))
        scheduler.refreshed(batch, now)
    assert not pending, "every trade was followed by a refresh"
    return spent, refreshes, delays


def test_never_exceeds_the_budget_in_any_minute():
    scheduler = RefreshScheduler(cost_weight=4, budget_per_min=1200)
    scheduler.watch(ADDRESSES * 1)
    spent, refreshes, _ = simulate(scheduler, 600)
    for t0 in range(600):
        assert sum(w for at, w in spent if t0 <= at < t0 + 60) <= 1200
    assert all(refreshes[a] for a in ADDRESSES)  # everyone refreshed


def test_trades_are_refreshed_at_once_even_when_the_sweep_is_saturated():
    many = [f"0x{i:040x}" for i in range(2000)]  # 2000 accounts cannot all be fresh at 1200/min
    scheduler = RefreshScheduler(cost_weight=4, budget_per_min=1200)
    scheduler.watch(many)
    trades = {t: many[(t * 37) % 2000] for t in range(100, 590, 7)}
    _, _, delays = simulate(scheduler, 600, trades)
    assert delays and max(delays) == 0.0  # refreshed in the same tick the trade was seen
    assert scheduler.stretch() > 1  # the sweep was stretched to fit


def test_riskier_accounts_are_refreshed_more_often():
    scheduler = RefreshScheduler(
        cost_weight=4, budget_per_min=1200, config=SchedulerConfig(urgent_s=5, max_staleness_s=120)
    )
    scheduler.watch(ADDRESSES)
    risky, safe = ADDRESSES[0], ADDRESSES[1]
    scheduler.set_risk({risky: (1.5, 1e6), safe: (40.0, 1e6)})
    _, refreshes, _ = simulate(scheduler, 600)
    assert len(refreshes[risky]) >= 100  # about every 5 s
    assert len(refreshes[safe]) <= 6  # about every 120 s
    staleness = scheduler.staleness(600.0)
    assert staleness[risky] <= 6 and staleness[safe] <= 121


def test_unlimited_budget_refreshes_everyone_due():
    scheduler = RefreshScheduler(cost_weight=4, budget_per_min=0)
    scheduler.watch(ADDRESSES[:10])
    assert sorted(scheduler.next_batch(0.0, 0.0)) == sorted(ADDRESSES[:10])


def test_a_trade_during_a_refresh_in_flight_stays_due_after_it():
    """The REST answer may predate a trade seen while it was out: it must not settle that trade."""
    scheduler = RefreshScheduler(cost_weight=4, budget_per_min=1200)
    whale = ADDRESSES[0]
    scheduler.watch([whale])
    scheduler.refreshed([whale], 0.0)
    scheduler.saw_trade(whale, 10.0)
    assert scheduler.next_batch(10.0, 1200) == [whale]
    scheduler.refreshing([whale], 10.1)
    scheduler.saw_trade(whale, 10.5)  # lands while the request is out
    scheduler.refreshed([whale], 10.1)  # the answer reflects the state at 10.1 at best
    assert scheduler.pending_trade(whale) == 10.5
    assert scheduler.next_batch(11.0, 1200) == [whale]
    scheduler.refreshing([whale], 11.0)
    scheduler.refreshed([whale], 11.0)  # no trade meanwhile: settled
    assert scheduler.pending_trade(whale) is None
    assert scheduler.next_batch(11.5, 1200) == []


def test_a_failed_refresh_keeps_the_first_trade_due():
    scheduler = RefreshScheduler(cost_weight=4, budget_per_min=1200)
    whale = ADDRESSES[0]
    scheduler.watch([whale])
    scheduler.refreshed([whale], 0.0)
    scheduler.saw_trade(whale, 10.0)
    scheduler.refreshing([whale], 10.1)
    scheduler.saw_trade(whale, 10.5)
    scheduler.abandoned([whale])
    assert scheduler.pending_trade(whale) == 10.0
    assert scheduler.next_batch(11.0, 1200) == [whale]


def test_accounts_seen_trading_are_refreshed_by_notional_times_closeness_to_liquidation():
    scheduler = RefreshScheduler(cost_weight=4, budget_per_min=1200)
    small_near, big_far, big_near, no_liq = ADDRESSES[:4]
    scheduler.watch([small_near, big_far, big_near, no_liq])
    scheduler.set_risk(
        {
            small_near: (1.0, 1e6),  # 1e6
            big_far: (50.0, 2e7),  # 4e5
            big_near: (2.0, 2e7),  # 1e7
            no_liq: (None, 5e7),  # 5e5
        }
    )
    for t, address in enumerate([small_near, big_far, big_near, no_liq]):
        scheduler.saw_trade(address, float(t))
    assert scheduler.next_batch(10.0, available_weight=4 * 4) == [
        big_near,
        small_near,
        no_liq,
        big_far,
    ]
    assert scheduler.next_batch(10.0, available_weight=4 * 2) == [big_near, small_near]
