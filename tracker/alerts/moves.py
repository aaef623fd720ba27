"""Whale-move alerts (pure): position changes, from the tape or a refresh, folded into bursts.

Bursts. Changes of one account and coin (on one dex) in one direction (buys, or sells) less than
`cooldown_s` seconds after the burst's first change are one burst, whichever order or fills they
come from; a change the other way starts a burst of its own, so an open and the close that
follows within the minute are two alerts, not one that says nothing. Its kind is the move from the
size before its first change to the size after its latest (`position_open`, `_increase`,
`_reduce`, `_close`, `_flip`), its notional the sum of |size change| x price over its changes. It
raises one alert, when its notional first reaches the threshold, so an order filled in many small
trades alerts at the trade that crosses it, not a cooldown later; later changes of the burst only
update it. The id is `position_move:{venue}:{address}:{dex}:{coin}:{first change, epoch ms}`, and
the burst is stored after every batch (table `position_bursts`), so a burst that straddles a
restart goes on under the same id and never alerts twice.

Tape and refresh. A tape change alerts at once (details `source` "tape"). A refresh change of a
coin whose latest burst came from the tape and was not yet checked:
- older than the burst's latest trade (the REST answer lagged the tape): ignored, still unchecked;
- agreeing (the refresh's size is the tape's): confirms the burst, raises nothing;
- disagreeing: the burst takes the refresh's size. If the burst had alerted, the difference between
  what was told and the refresh's size is a move of its own, raised if it reaches the threshold,
  with details `corrects` naming the tape's alert. If it had not, the whole burst is judged again
  on the refresh's size and raises the move the tape missed if it now reaches the threshold.
Any other refresh change (polling mode, or a move the tape never saw) forms bursts like the tape.
A change older than its coin's latest stored one (a trade replayed after a reconnect) is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, localcontext

from tracker.addresses import short_address
from tracker.alerts.rules import usd
from tracker.jsonable import trimmed
from tracker.plain import plain
from tracker.records import AccountReport, Alert
from tracker.records.events import PositionChange, move_kind

BurstKey = tuple[str, str, str, str]  # venue, address, dex, coin


@dataclass(frozen=True, slots=True, kw_only=True)
class Burst:
    """The latest burst of changes of one account and coin, as stored between batches."""

    start: datetime
    last: datetime
    size_before: Decimal  # signed coins before the first change
    size_after: Decimal  # signed coins after the latest change
    notional_usd: Decimal  # sum of |size change| * price
    size_traded: Decimal  # sum of |size change|
    changes: int
    source: str  # tape or refresh: where size_after came from
    alert_id: str | None  # set once the burst has alerted
    confirmed: bool  # a refresh has checked a tape size

    @property
    def price(self) -> Decimal:
        """The burst's average price (USD per coin, 12 significant digits)."""
        if not self.size_traded:
            return Decimal(0)
        with localcontext() as ctx:
            ctx.prec = 12
            return self.notional_usd / self.size_traded


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveRules:
    """Thresholds of whale-move alerts and the names to show."""

    threshold_usd: Decimal
    cooldown_s: float
    labels: Mapping[str, str]  # watchlist label, else leaderboard name, by address


@dataclass(frozen=True, slots=True)
class Moves:
    """Alerts raised by a batch of changes and the bursts to store."""

    alerts: list[Alert]
    bursts: dict[BurstKey, Burst]


def key_of(change: PositionChange) -> BurstKey:
    """The burst key of a change."""
    return (change.venue, change.address, change.dex, change.coin)


def move_alerts(
    changes: Iterable[PositionChange], bursts: Mapping[BurstKey, Burst], rules: MoveRules
) -> Moves:
    """Fold changes (in time order) into bursts; the alerts raised and every burst touched."""
    alerts: list[Alert] = []
    touched: dict[BurstKey, Burst] = {}
    for change in sorted(changes, key=lambda c: c.ts):
        key = key_of(change)
        before = touched.get(key, bursts.get(key))
        burst, alert = _apply(before, change, rules)
        if burst is not None:
            touched[key] = burst
        if alert is not None:
            alerts.append(alert)
    return Moves(alerts, touched)


def _apply(
    burst: Burst | None, change: PositionChange, rules: MoveRules
) -> tuple[Burst | None, Alert | None]:
    if change.source == "refresh" and burst and burst.source == "tape" and not burst.confirmed:
        return _reconcile(burst, change, rules)
    if burst is not None and change.ts < burst.last:
        return None, None  # older than what the burst holds (a replayed trade): already counted
    if burst is not None and _continues(burst, change, rules.cooldown_s):
        merged = replace(
            burst,
            last=max(burst.last, change.ts),
            size_after=change.size_after,
            notional_usd=burst.notional_usd + change.notional_usd,
            size_traded=burst.size_traded + abs(change.size_change),
            changes=burst.changes + 1,
            source=change.source,
            confirmed=change.source == "refresh",
        )
    else:
        merged = Burst(
            start=change.ts,
            last=change.ts,
            size_before=change.size_before,
            size_after=change.size_after,
            notional_usd=change.notional_usd,
            size_traded=abs(change.size_change),
            changes=1,
            source=change.source,
            alert_id=None,
            confirmed=change.source == "refresh",
        )
    return _maybe_alert(merged, change, rules)


def _continues(burst: Burst, change: PositionChange, cooldown_s: float) -> bool:
    """True when change is more of the burst: the same direction, within the cooldown."""
    net = burst.size_after - burst.size_before
    within = (change.ts - burst.start).total_seconds() < cooldown_s
    return within and net != 0 and (net > 0) == (change.size_change > 0)


def _maybe_alert(
    burst: Burst, change: PositionChange, rules: MoveRules
) -> tuple[Burst, Alert | None]:
    kind = move_kind(burst.size_before, burst.size_after)
    if burst.alert_id is not None or kind is None or burst.notional_usd < rules.threshold_usd:
        return burst, None
    alert_id = f"position_move:{_where(change)}:{_ms(burst.start)}"
    alert = _alert(
        alert_id,
        change,
        rules,
        size_before=burst.size_before,
        size_after=burst.size_after,
        notional_usd=burst.notional_usd,
        price=burst.price,
        start=burst.start,
        changes=burst.changes,
    )
    return replace(burst, alert_id=alert_id), alert


def _reconcile(
    burst: Burst, change: PositionChange, rules: MoveRules
) -> tuple[Burst | None, Alert | None]:
    if change.ts < burst.last:
        return None, None  # the venue's state predates the tape's latest trade: it cannot judge
    checked = replace(burst, confirmed=True, source="refresh", size_after=change.size_after)
    if change.size_after == burst.size_after:
        return checked, None
    if burst.alert_id is None:
        # Nothing was told: judge the whole burst on the venue's size.
        traded = abs(change.size_after - burst.size_before)
        judged = replace(checked, notional_usd=traded * change.price, size_traded=traded)
        return _maybe_alert(judged, change, rules)
    told = burst.size_after
    notional = abs(change.size_after - told) * change.price
    if move_kind(told, change.size_after) is None or notional < rules.threshold_usd:
        return checked, None
    alert = _alert(
        f"position_move:{_where(change)}:{_ms(burst.start)}:correction:{_ms(change.ts)}",
        change,
        rules,
        size_before=told,
        size_after=change.size_after,
        notional_usd=notional,
        price=change.price,
        start=change.ts,
        changes=1,
        corrects=burst.alert_id,
    )
    return checked, alert


def _where(change: PositionChange) -> str:
    return f"{change.venue}:{change.address}:{change.dex}:{change.coin}"


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _alert(
    alert_id: str,
    change: PositionChange,
    rules: MoveRules,
    *,
    size_before: Decimal,
    size_after: Decimal,
    notional_usd: Decimal,
    price: Decimal,
    start: datetime,
    changes: int,
    corrects: str | None = None,
) -> Alert:
    kind = move_kind(size_before, size_after)
    assert kind is not None
    size_change = trimmed(size_after - size_before)
    side = "long" if (size_after if size_after != 0 else size_before) > 0 else "short"
    label = rules.labels.get(change.address)
    who = (
        f"{plain(label)} ({short_address(change.address)})"
        if label
        else short_address(change.address)
    )
    coin = f"{change.dex}:{change.coin}" if change.dex and ":" not in change.coin else change.coin
    note = f", corrects {corrects}" if corrects else ""
    return Alert(
        id=alert_id,
        kind=f"position_{kind}",
        ts=start,
        venue=change.venue,
        address=change.address,
        label=label,
        coin=change.coin,
        notional_usd=trimmed(notional_usd),
        severity="warning",
        message=(
            f"WHALE {kind.upper()} {who} {coin} {side} {size_change:+,f} "
            f"({usd(notional_usd)}) at {price:,.2f} (from the {change.source}, {changes} "
            f"change{'s' if changes != 1 else ''}{note}) {start:%Y-%m-%d %H:%M:%S} UTC"
        ),
        details=json.dumps(
            {
                "side": side,
                "size_change": str(size_change),
                "size_before": str(trimmed(size_before)),
                "size_after": str(trimmed(size_after)),
                "price": str(trimmed(price)),
                "dex": change.dex,
                "source": change.source,
                "changes": changes,
                "corrects": corrects,
            },
            sort_keys=True,
        ),
    )


def refresh_changes(
    reports: Iterable[AccountReport],
    previous: Mapping[str, Mapping[tuple[str, str], Decimal]],
    seen: set[tuple[str, str]],
    marks: Mapping[tuple[str, str], Decimal],
) -> list[PositionChange]:
    """Every size change between the stored positions and a refresh (source "refresh").

    Only dexes of an account that were stored before count (`seen`: address, dex): a first read
    is not a move. A change is priced at the new position's mark, a close at `marks` (dex, coin);
    a close without a mark is left out.
    """
    changes = []
    for report in reports:
        if report.errors:
            continue
        old = previous.get(report.address, {})
        for account in report.accounts:
            if (report.address, account.dex) not in seen:
                continue
            ts = account.venue_time or report.ts
            new = {
                p.coin: (p.size if p.side == "long" else -p.size, p.mark_px)
                for p in account.positions
            }
            coins = {c for (d, c) in old if d == account.dex} | set(new)
            for coin in sorted(coins):
                before = old.get((account.dex, coin), Decimal(0))
                after, mark = new.get(coin, (Decimal(0), marks.get((account.dex, coin))))
                if before == after or mark is None:
                    continue
                changes.append(
                    PositionChange(
                        venue=account.venue,
                        address=report.address,
                        dex=account.dex,
                        coin=coin,
                        ts=ts,
                        size_before=before,
                        size_after=after,
                        price=mark,
                        source="refresh",
                        ref=str(_ms(report.ts)),
                    )
                )
    return changes
