"""The Hyperliquid source against the fake venue: parsing, retries, weights, skipped accounts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
import pytest

from tests.fakes import seed
from tracker.app.poller import HyperliquidPoller
from tracker.errors import VenueResponseError, VenueUnavailable
from tracker.net.http import RetryPolicy, retry_after_s
from tracker.net.limiter import WeightLimiter
from tracker.sources.hyperliquid.client import HyperliquidClient, parse_clearinghouse_state

TS = datetime(2026, 1, 31, tzinfo=UTC)


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


def _client(session, url, *, budget=0, retries=3, timeout=2.0):
    return HyperliquidClient(
        session,
        url,
        limiter=WeightLimiter(budget),
        policy=RetryPolicy(retries=retries, timeout_s=timeout, base_delay_s=0.01),
    )


async def test_poll_reads_every_dex_and_spot(hl_fake, session):
    poller = HyperliquidPoller(_client(session, hl_fake.url))
    result = await poller.poll([seed.HIP3_FLX, seed.CROSS_SHORT_SOL], TS)
    assert not result.failed
    flx, sol = result.reports
    assert {a.dex for a in flx.accounts} == {"", "flx"}
    assert [p.coin for p in flx.positions if p.dex == "flx"] == ["flx:CRCL"]
    assert flx.spot, "ccxt spot balances are seeded for the flx account"
    assert {p.coin for p in sol.positions} == {"SOL", "ETH"}
    assert {m.dex for m in result.markets} == {"", "flx"}


async def test_schema_drift_skips_only_that_account(hl_fake, session):
    def drop_margin_summary(body):  # the drift hook sees answers only: pick the HYPE account
        coins = [e["position"]["coin"] for e in body.get("assetPositions", [])]
        if coins == ["HYPE"]:
            body.pop("marginSummary", None)
        return body

    hl_fake.faults.drift(drop_margin_summary, types={"clearinghouseState"})
    poller = HyperliquidPoller(_client(session, hl_fake.url))
    result = await poller.poll([seed.ISOLATED_SHORT_HYPE, seed.CROSS_SHORT_SOL], TS)
    bad, good = result.reports
    assert bad.errors and "marginSummary" in bad.errors[0] and not bad.accounts
    assert good.positions and not good.errors


async def test_numbers_where_strings_are_expected_still_parse(hl_fake, session):
    def numbers(body):
        for entry in body.get("assetPositions", []):
            entry["position"]["szi"] = float(entry["position"]["szi"])
        return body

    hl_fake.faults.drift(numbers, types={"clearinghouseState"})
    poller = HyperliquidPoller(_client(session, hl_fake.url))
    (report,) = (await poller.poll([seed.ISOLATED_SHORT_HYPE], TS)).reports
    assert not report.errors and str(report.positions[0].size) == "4.0"


async def test_retry_after_is_honoured(hl_fake, session):
    hl_fake.faults.fail_next(1, status=429, retry_after=0.4, types={"clearinghouseState"})
    client = _client(session, hl_fake.url)
    started = asyncio.get_running_loop().time()
    raw = await client.fetch_clearinghouse_state(seed.CROSS_SHORT_SOL)
    assert asyncio.get_running_loop().time() - started >= 0.4
    assert parse_clearinghouse_state(raw, seed.CROSS_SHORT_SOL).positions


async def test_gives_up_after_retries_with_context(hl_fake, session):
    hl_fake.faults.every_nth(1, "500", types={"clearinghouseState"})
    client = _client(session, hl_fake.url, retries=2)
    with pytest.raises(VenueUnavailable, match="3 attempts: HTTP 500") as info:
        await client.fetch_clearinghouse_state(seed.CROSS_SHORT_SOL)
    assert info.value.address == seed.CROSS_SHORT_SOL
    assert info.value.request == "clearinghouseState"


async def test_timeouts_and_resets_are_retried(hl_fake, session):
    hl_fake.faults.fail_next(1, kind="stall", types={"clearinghouseState"})
    hl_fake.faults.fail_next(1, kind="reset", types={"clearinghouseState"})
    hl_fake.faults.stall_seconds = 2.0
    client = _client(session, hl_fake.url, timeout=0.3)
    raw = await client.fetch_clearinghouse_state(seed.CROSS_SHORT_SOL)
    assert raw["assetPositions"]


async def test_client_errors_are_not_retried(hl_fake, session):
    client = _client(session, hl_fake.url)
    with pytest.raises(VenueResponseError, match="HTTP 422"):
        await client.info({"type": "noSuchRequest"})
    assert len(hl_fake.requests) == 1


async def test_weights_charged_match_the_venue_count(hl_fake, session):
    client = _client(session, hl_fake.url, budget=100_000)
    poller = HyperliquidPoller(client)
    await poller.poll([seed.CROSS_SHORT_SOL, seed.ISOLATED_SHORT_HYPE], TS)
    assert client.limiter.total_weight == hl_fake.weight_used()
    # perpDexs 20 + metaAndAssetCtxs 20 x 2 dexes + (2 dexes + spot) x 2 accounts x 2
    assert client.limiter.total_weight == 20 + 40 + 12


async def test_limiter_never_exceeds_budget_in_any_window():
    now = [0.0]

    async def sleep(seconds: float) -> None:  # virtual time: waiting moves the clock
        now[0] += seconds

    limiter = WeightLimiter(100, window_s=60.0, clock=lambda: now[0], sleep=sleep)
    spent: list[tuple[float, int]] = []
    for i in range(30):
        await limiter.acquire(20)
        spent.append((now[0], 20))
        now[0] += 0.5 * (i % 3)  # requests arrive unevenly
    for t0, _ in spent:
        assert sum(w for t, w in spent if t0 <= t < t0 + 60.0) <= 100
    assert limiter.max_in_window == 100
    assert limiter.total_weight == 600
    assert spent[-1][0] >= 60.0 * 5  # 600 weight at 100 a minute needs five more windows
    assert limiter.waited_s > 0


def virtual_limiter(budget: int) -> tuple[WeightLimiter, list[float]]:
    """A limiter on virtual time: waiting moves the clock (now[0]) and yields to other tasks."""
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)

    return WeightLimiter(budget, window_s=60.0, clock=lambda: now[0], sleep=sleep), now


async def test_retries_go_ahead_of_the_queue():
    limiter, _ = virtual_limiter(40)
    order: list[str] = []

    async def request(name: str, priority: bool = False) -> None:
        await limiter.acquire(20, priority=priority)
        order.append(name)

    await limiter.acquire(40)  # the window is full: everyone waits for it to roll over
    queued = [asyncio.create_task(request(f"q{i}")) for i in range(3)]
    await asyncio.sleep(0)
    retry = asyncio.create_task(request("retry", priority=True))
    await asyncio.gather(*queued, retry)
    assert order.index("retry") <= 1  # not behind the whole queue
    assert limiter.max_in_window <= 40


async def test_slow_answers_never_overrun_the_budget_as_the_venue_counts_it(hl_fake, session):
    # The venue counts a request when it reaches it; the fake stamps at its answer. A slow
    # clearinghouseState stamped at its send would leave the limiter's window early and let the
    # spot requests behind it land in the same venue window: 3 x 2 + 3 x 2 = 12 > 8.
    hl_fake.faults.delay(0.4, types={"clearinghouseState"})
    client = HyperliquidClient(
        session,
        hl_fake.url,
        limiter=WeightLimiter(8, window_s=1.0),
        policy=RetryPolicy(retries=0, timeout_s=5.0),
    )
    started = len(hl_fake.requests)
    for _ in range(3):
        await asyncio.gather(
            *(client.fetch_clearinghouse_state(seed.CROSS_SHORT_SOL) for _ in range(3)),
            *(client.fetch_spot_state(seed.CROSS_SHORT_SOL) for _ in range(3)),
        )
    seen = hl_fake.requests[started:]
    assert len(seen) == 18 and sum(r.weight for r in seen) == 36
    worst = max(sum(r.weight for r in seen if t0.time <= r.time < t0.time + 1.0) for t0 in seen)
    assert worst <= 8, f"the venue counted {worst} weight in one window against a budget of 8"
    assert client.limiter.total_weight == 36


async def test_an_answer_in_flight_holds_its_largest_surcharge_until_it_costs_less():
    limiter, now = virtual_limiter(150)
    admitted: list[str] = []
    answered = asyncio.Event()

    async def fills_page() -> None:  # 20 + up to 100 for 2,000 fills; 50 fills came back
        async with limiter.spend(120) as spent:
            admitted.append("fills")
            await answered.wait()
            spent.weight = 20 + 50 // 20

    async def small(name: str) -> None:
        async with limiter.spend(40):
            admitted.append(name)

    page = asyncio.create_task(fills_page())
    await asyncio.sleep(0)
    first = asyncio.create_task(small("state"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert admitted == ["fills"] and limiter.used_in_window() == 120  # 160 would not fit
    assert now[0] == 0.0  # nothing to expire: it waits for the answer, not for the minute
    answered.set()
    await asyncio.gather(page, first)
    assert admitted == ["fills", "state"] and now[0] == 0.0
    assert limiter.used_in_window() == 62 and limiter.total_weight == 62
    assert limiter.max_in_window == 120


async def test_urgent_tasks_go_ahead_of_the_queue():
    from tracker.net.limiter import URGENT

    limiter, _ = virtual_limiter(40)
    order: list[str] = []

    async def request(name: str, urgent: bool = False) -> None:
        if urgent:  # what live mode does in the task refreshing an account seen trading
            URGENT.set(True)
        await limiter.acquire(20)
        order.append(name)

    await limiter.acquire(40)
    queued = [asyncio.create_task(request(f"q{i}")) for i in range(4)]
    await asyncio.sleep(0)
    trade = asyncio.create_task(request("trade", urgent=True))
    await asyncio.gather(*queued, trade)
    assert order.index("trade") <= 1 and not URGENT.get()  # the flag stayed in its task


def test_retry_after_parsing():
    assert retry_after_s("3") == 3.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_s("soon") is None
    assert retry_after_s(None) is None
