"""Scripted faults of the fake venue: error statuses, garbage, stalls, resets, delays, drift.

Rules can be limited to request types (`types={"clearinghouseState"}`); a rule without `types`
matches every request. Per request the server asks `Faults.pick(type)` once: one-shot rules
(`fail_next`) win over periodic ones (`every_nth`); every periodic rule counts each matching
request, whether or not another fault fired for it. Fired faults are logged in `Faults.fired`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

FaultKind = Literal["429", "500", "502", "garbage", "stall", "reset"]
Body = bytes | str | dict[str, Any] | list[Any] | None
Drift = Callable[[Any], Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """What to do instead of a normal answer: `kind` is "status", "garbage", "stall" or "reset"."""

    kind: Literal["status", "garbage", "stall", "reset"]
    status: int = 200
    retry_after: float | None = None
    body: bytes | None = None
    stall_seconds: float | None = None
    label: str = ""


@dataclass(slots=True, kw_only=True)
class _Rule:
    types: frozenset[str] | None

    def matches(self, request_type: str) -> bool:
        return self.types is None or request_type in self.types


@dataclass(slots=True, kw_only=True)
class _Countdown(_Rule):
    remaining: int
    fault: Fault


@dataclass(slots=True, kw_only=True)
class _Periodic(_Rule):
    every: int
    seen: int = 0
    fault: Fault


@dataclass(slots=True, kw_only=True)
class _Delay(_Rule):
    seconds: float


@dataclass(slots=True, kw_only=True)
class _DriftRule(_Rule):
    fn: Drift


class Faults:
    """Fault script of one fake server; `stall_seconds` is how long a "stall" holds an answer."""

    def __init__(self, stall_seconds: float = 30.0) -> None:
        self.stall_seconds = stall_seconds
        self.fired: list[tuple[str, str]] = []
        self._countdowns: list[_Countdown] = []
        self._periodic: list[_Periodic] = []
        self._delays: list[_Delay] = []
        self._drifts: list[_DriftRule] = []

    @property
    def active(self) -> bool:
        """True when any rule is installed (the server skips all fault work otherwise)."""
        return bool(self._countdowns or self._periodic or self._delays or self._drifts)

    def fail_next(
        self,
        n: int = 1,
        status: int = 429,
        retry_after: float | None = None,
        body: Body = None,
        *,
        kind: FaultKind | None = None,
        types: Iterable[str] | None = None,
    ) -> None:
        """Answer the next `n` matching requests with `status` (or with fault `kind`)."""
        fault = _fault(kind, status, retry_after, body, None)
        self._countdowns.append(_Countdown(types=_types(types), remaining=n, fault=fault))

    def every_nth(
        self,
        n: int,
        kind: FaultKind,
        *,
        types: Iterable[str] | None = None,
        retry_after: float | None = None,
        body: Body = None,
        stall_seconds: float | None = None,
    ) -> None:
        """Apply fault `kind` to the n-th, 2n-th, ... matching request from now on."""
        if n < 1:
            raise ValueError("n must be >= 1")
        fault = _fault(kind, 0, retry_after, body, stall_seconds)
        self._periodic.append(_Periodic(types=_types(types), every=n, fault=fault))

    def delay(self, seconds: float, *, types: Iterable[str] | None = None) -> None:
        """Hold every matching answer `seconds` (replaces an earlier delay for the same types)."""
        key = _types(types)
        self._delays = [d for d in self._delays if d.types != key]
        if seconds > 0:
            self._delays.append(_Delay(types=key, seconds=seconds))

    def drift(self, fn: Drift, *, types: Iterable[str] | None = None) -> None:
        """Pass matching response bodies through `fn` (mutate in place or return a replacement)."""
        self._drifts.append(_DriftRule(types=_types(types), fn=fn))

    def clear(self) -> None:
        """Remove every rule (the `fired` log is kept)."""
        self._countdowns.clear()
        self._periodic.clear()
        self._delays.clear()
        self._drifts.clear()

    def pick(self, request_type: str) -> tuple[float, Fault | None]:
        """Delay (seconds) and fault for one incoming request; advances the counters."""
        delay = sum(d.seconds for d in self._delays if d.matches(request_type))
        chosen: Fault | None = None
        for rule in self._countdowns:
            if rule.remaining > 0 and rule.matches(request_type):
                rule.remaining -= 1
                chosen = rule.fault
                break
        self._countdowns = [r for r in self._countdowns if r.remaining > 0]
        for periodic in self._periodic:
            if periodic.matches(request_type):
                periodic.seen += 1
                if chosen is None and periodic.seen % periodic.every == 0:
                    chosen = periodic.fault
        if chosen is not None:
            self.fired.append((request_type, chosen.label))
        return delay, chosen

    def drifts(self, request_type: str) -> list[Drift]:
        """Drift hooks that apply to `request_type`, in installation order."""
        return [d.fn for d in self._drifts if d.matches(request_type)]


def encode_body(body: Body) -> bytes:
    """Bytes for a scripted body; None becomes JSON `null` (what the venue sent on its 500)."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return orjson.dumps(body)


def _fault(
    kind: FaultKind | None,
    status: int,
    retry_after: float | None,
    body: Body,
    stall_seconds: float | None,
) -> Fault:
    if kind is None or kind in ("429", "500", "502"):
        code = int(kind) if kind is not None else status
        return Fault(
            kind="status",
            status=code,
            retry_after=retry_after,
            body=encode_body(body),
            label=str(code),
        )
    if kind not in ("garbage", "stall", "reset"):
        raise ValueError(f"unknown fault kind {kind!r}")
    raw = None if body is None else encode_body(body)
    return Fault(kind=kind, body=raw, stall_seconds=stall_seconds, label=kind)


def _types(types: Iterable[str] | None) -> frozenset[str] | None:
    if isinstance(types, str):
        return frozenset((types,))
    return None if types is None else frozenset(types)
