"""Delivering alerts: the `Sink` contract, `SinkError`, and `deliver` with one deadline.

`deliver` runs the sinks concurrently and each sink's alerts in order, all under one deadline
of `timeout_s`, and reports every (alert, sink) pair as a `Delivery`. A sink that fails or hangs
costs its own deliveries only: `deliver` never raises for it and returns by the deadline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from tracker.errors import SinkError
from tracker.records import Alert

log = logging.getLogger(__name__)


class Sink(Protocol):
    """Somewhere alerts go: the console, a file, a webhook, a chat."""

    name: str

    async def send(self, alert: Alert) -> None:
        """Deliver one alert or raise SinkError."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """The outcome of sending one alert to one sink."""

    alert_id: str
    sink: str
    ok: bool
    error: str | None  # redacted reason when not ok
    at: datetime  # UTC, when the attempt ended


async def deliver(
    alerts: Sequence[Alert],
    sinks: Sequence[Sink],
    *,
    timeout_s: float,
    max_concurrency: int = 8,
) -> list[Delivery]:
    """Send every alert to every sink within timeout_s seconds; deliveries in (alert, sink) order.

    At most max_concurrency sends run at once. Alerts to one sink go one after the other, in order.
    """
    deadline = asyncio.get_running_loop().time() + timeout_s
    limit = asyncio.Semaphore(max_concurrency)
    results: dict[tuple[int, int], Delivery] = {}

    async def run(j: int, sink: Sink) -> None:
        for i, alert in enumerate(alerts):
            results[i, j] = await _send_one(alert, sink, deadline, limit, timeout_s)

    async with asyncio.TaskGroup() as group:
        for j, sink in enumerate(sinks):
            group.create_task(run(j, sink))
    return [results[i, j] for i in range(len(alerts)) for j in range(len(sinks))]


async def _send_one(
    alert: Alert, sink: Sink, deadline: float, limit: asyncio.Semaphore, timeout_s: float
) -> Delivery:
    error: str | None = None
    if asyncio.get_running_loop().time() >= deadline:
        error = f"not attempted: the {timeout_s:g}s deadline had passed"
    else:
        try:
            async with asyncio.timeout_at(deadline), limit:
                await sink.send(alert)
        except TimeoutError:
            error = f"timed out at the {timeout_s:g}s deadline"
        except SinkError as exc:
            error = exc.reason
        except Exception as exc:  # a broken sink must not stop the others
            # Only the type: the message of an arbitrary exception may hold a URL with a token.
            error = f"unexpected {type(exc).__name__}"
    if error is not None:
        log.warning("alert %s to %s failed: %s", alert.id, sink.name, error)
    return Delivery(
        alert_id=alert.id, sink=sink.name, ok=error is None, error=error, at=datetime.now(UTC)
    )
