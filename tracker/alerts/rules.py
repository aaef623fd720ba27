"""Alert rules (pure): large liquidations, near-liquidation warnings, ADL.

Every alert has an id that the same event always maps to, so storing it with ON CONFLICT DO
NOTHING makes re-polls, restarts and overlapping sources harmless. Near-liquidation warnings are
edge-triggered: a position arms a level when its distance to liquidation falls below it (one alert)
and re-arms only after recovering past `REARM_FACTOR` times the widest level.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tracker.addresses import short_address
from tracker.plain import plain
from tracker.records import (
    AccountReport,
    AccountSnapshot,
    Alert,
    Fill,
    LiquidationEpisode,
    Position,
)
from tracker.risk.episodes import is_large
from tracker.venues import AAVE_V3

REARM_FACTOR = Decimal("1.5")


def usd(value: Decimal | None) -> str:
    """$222.65M, $1.20K, $950."""
    if value is None:
        return "$?"
    amount = abs(value)
    for unit, size in (("B", Decimal(10) ** 9), ("M", Decimal(10) ** 6), ("K", Decimal(10) ** 3)):
        if amount >= size:
            return f"${amount / size:,.2f}{unit}"
    return f"${amount:,.0f}"


def _who(address: str, labels: Mapping[str, str]) -> str:
    label = labels.get(address)
    return f"{plain(label)} ({short_address(address)})" if label else short_address(address)


def _details(**values: object) -> str:
    return json.dumps(
        {k: (str(v) if isinstance(v, Decimal | datetime) else v) for k, v in values.items()},
        sort_keys=True,
    )


def large_liquidation_alerts(
    episodes: Iterable[LiquidationEpisode],
    threshold_usd: Decimal,
    labels: Mapping[str, str],
    *,
    basis: str = "position",
) -> list[Alert]:
    """One alert per episode whose figure on `basis` (LiquidationEpisode.at_stake_usd) is at or
    above the threshold. Its notional is what was liquidated so far; the message also names the
    position at stake while part of it is still open."""
    alerts = []
    for ep in episodes:
        if ep.notional_usd is None or not is_large(ep, threshold_usd, basis):
            continue
        side = f" {ep.side}" if ep.side else ""
        at = f" at {ep.mark_px:,.2f}" if ep.mark_px is not None else ""
        position = ep.position_usd
        of = (
            f" of a {usd(position)} position"
            if position is not None and usd(position) != usd(ep.notional_usd)
            else ""
        )
        alerts.append(
            Alert(
                id=f"large_liquidation:{ep.episode_id}",
                kind="large_liquidation",
                ts=ep.start,
                venue=ep.venue,
                address=ep.address,
                label=labels.get(ep.address),
                coin=ep.coin,
                notional_usd=ep.notional_usd,
                severity="critical",
                message=(
                    f"LARGE LIQUIDATION {_who(ep.address, labels)} {ep.coin}{side} "
                    f"{usd(ep.notional_usd)}{of}{at} ({ep.method}, {ep.fills} fills) "
                    f"{ep.start:%Y-%m-%d %H:%M} UTC"
                ),
                details=_details(
                    episode_id=ep.episode_id,
                    side=ep.side,
                    fills=ep.fills,
                    method=ep.method,
                    mark_px=ep.mark_px,
                    end=ep.end,
                    watched=ep.watched,
                    sources=list(ep.sources),
                    position_usd=position,
                ),
            )
        )
    return alerts


def adl_alerts(fills: Iterable[Fill], labels: Mapping[str, str]) -> list[Alert]:
    """One alert per auto-deleveraging fill of a watched account."""
    alerts = []
    for f in fills:
        if not f.direction or "deleverag" not in f.direction.lower():
            continue
        alerts.append(
            Alert(
                id=f"adl:{f.venue}:{f.address}:{f.coin}:{f.time_ms}:{f.fill_key}",
                kind="adl",
                ts=f.ts,
                venue=f.venue,
                address=f.address,
                label=labels.get(f.address),
                coin=f.coin,
                notional_usd=f.notional_usd,
                severity="critical",
                message=(
                    f"AUTO-DELEVERAGED {_who(f.address, labels)} {f.coin} {f.size} at {f.px} "
                    f"({usd(f.notional_usd)}) {f.ts:%Y-%m-%d %H:%M} UTC"
                ),
                details=_details(px=f.px, size=f.size, side=f.side, hash=f.hash),
            )
        )
    return alerts


@dataclass(frozen=True, slots=True)
class Armed:
    """A near-liquidation condition that has already alerted."""

    level_pct: Decimal
    since: datetime


@dataclass(frozen=True, slots=True)
class NearLiquidation:
    """New alerts and the alert state to keep (key -> Armed, None = forget)."""

    alerts: list[Alert]
    state: dict[str, Armed | None]


def _position_alert(
    p: Position,
    alert_id: str,
    level: Decimal,
    critical: bool,
    labels: Mapping[str, str],
    ts: datetime,
) -> Alert:
    return Alert(
        id=alert_id,
        kind="near_liquidation",
        ts=ts,
        venue=p.venue,
        address=p.address,
        label=labels.get(p.address),
        coin=p.coin,
        notional_usd=p.notional_usd,
        severity="critical" if critical else "warning",
        message=(
            f"NEAR LIQUIDATION {_who(p.address, labels)} {p.coin} {p.side} "
            f"{usd(p.notional_usd)}: {p.distance_to_liq_pct:.2f}% from liquidation at "
            f"{p.liquidation_px:,.2f} (mark {p.mark_px:,.2f})"
        ),
        details=_details(
            level_pct=level,
            distance_to_liq_pct=p.distance_to_liq_pct,
            liquidation_px=p.liquidation_px,
            mark_px=p.mark_px,
            dex=p.dex,
            size=p.size,
        ),
    )


def _account_alert(
    a: AccountSnapshot,
    alert_id: str,
    level: Decimal,
    critical: bool,
    labels: Mapping[str, str],
    ts: datetime,
) -> Alert:
    shock = abs(a.shock_to_liq_pct or Decimal(0))
    return Alert(
        id=alert_id,
        kind="account_near_liquidation",
        ts=ts,
        venue=a.venue,
        address=a.address,
        label=labels.get(a.address),
        coin=None,
        notional_usd=a.notional_usd,
        severity="critical" if critical else "warning",
        message=(
            f"ACCOUNT NEAR LIQUIDATION {_who(a.address, labels)}"
            f"{' dex ' + a.dex if a.dex else ''}: a {shock:.2f}% move of every mark "
            f"together reaches maintenance margin ({usd(a.notional_usd)} notional)"
        ),
        details=_details(
            level_pct=level,
            shock_to_liq_pct=a.shock_to_liq_pct,
            dex=a.dex,
            account_value_usd=a.account_value_usd,
        ),
    )


def near_liquidation(
    reports: Sequence[AccountReport],
    armed: Mapping[str, Armed],
    levels: Sequence[Decimal],
    labels: Mapping[str, str],
    ts: datetime,
) -> NearLiquidation:
    """Warnings for positions and cross accounts closer to liquidation than a level (in %)."""
    ordered = sorted(levels, reverse=True)
    rearm = ordered[0] * REARM_FACTOR
    alerts: list[Alert] = []
    state: dict[str, Armed | None] = {}
    seen: set[str] = set()
    stamp = int(ts.timestamp() * 1000)

    def crossed(key: str, distance: Decimal | None) -> Decimal | None:
        """The level newly crossed below, if any; updates the state to keep."""
        seen.add(key)
        level = min((lv for lv in ordered if distance is not None and distance < lv), default=None)
        current = armed.get(key)
        if level is not None and (current is None or level < current.level_pct):
            state[key] = Armed(level, ts)
            return level
        if current is not None and (distance is None or distance > rearm):
            state[key] = None
        return None

    for report in reports:
        for p in report.positions:
            key = f"near_liquidation:{p.venue}:{p.address}:{p.dex}:{p.coin}"
            if (level := crossed(key, p.distance_to_liq_pct)) is not None:
                alerts.append(
                    _position_alert(
                        p, f"{key}:{level}:{stamp}", level, level <= ordered[-1], labels, ts
                    )
                )
        for a in report.accounts:
            if a.shock_to_liq_pct is None:
                continue
            key = f"account_near_liquidation:{a.venue}:{a.address}:{a.dex}"
            if (level := crossed(key, abs(a.shock_to_liq_pct))) is not None:
                alerts.append(
                    _account_alert(
                        a, f"{key}:{level}:{stamp}", level, level <= ordered[-1], labels, ts
                    )
                )
    polled = {r.address for r in reports if not r.errors}
    for key in armed:
        parts = key.split(":")
        if key not in seen and len(parts) > 2 and parts[2] in polled:
            state[key] = None  # the position closed or the account is flat: forget it
    return NearLiquidation(alerts=alerts, state=state)


def aave_liquidation_alerts(
    calls: Iterable[Mapping[str, object]], labels: Mapping[str, str]
) -> list[Alert]:
    """One alert per large Aave v3 LiquidationCall (rows of sql/reads/large_aave_calls)."""
    alerts = []
    for c in calls:
        user = str(c["user"])
        notional = c["collateral_usd"]
        assert isinstance(notional, Decimal)
        ts = c["block_ts"]
        assert isinstance(ts, datetime)
        alerts.append(
            Alert(
                id=f"large_liquidation:aave-v3:{c['chain_id']}:{c['tx_hash']}:{c['log_index']}",
                kind="large_liquidation",
                ts=ts,
                venue=AAVE_V3,
                address=user,
                label=labels.get(user),
                coin=str(c["collateral_symbol"]),
                notional_usd=notional,
                severity="critical",
                message=(
                    f"LARGE LIQUIDATION {_who(user, labels)} Aave v3 {c['collateral_symbol']} "
                    f"collateral {usd(notional)} seized against {c['debt_symbol']} debt "
                    f"{ts:%Y-%m-%d %H:%M} UTC"
                ),
                details=_details(
                    tx_hash=c["tx_hash"],
                    log_index=c["log_index"],
                    chain_id=c["chain_id"],
                    debt_usd=c["debt_usd"],
                    collateral_price_usd=c["collateral_price_usd"],
                    liquidator=c["liquidator"],
                ),
            )
        )
    return alerts
