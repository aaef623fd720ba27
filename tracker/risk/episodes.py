"""Liquidation episodes from ground truth: liquidation fills and ledger updates (pure).

One economic liquidation shows up as many fills: positions over $100k are sent to the book in 20 %
slices with a 30 s cooldown, then the backstop liquidator may take the rest, and each of those
trades appears on the liquidated account's fills and, for the backstop, on the liquidator's too.
Here they become one episode per account and coin: fills carrying a `liquidation` object whose
`liquidatedUser` is the fill's owner (the account's own side) or which a liquidator vault took as
backstop, deduplicated by trade (`tid`) so one trade seen from both sides counts once, and split
where two consecutive fills are more than `gap_s` apart. A ledger `liquidation` update confirms the
episode it overlaps (source `ledger`, account-wide `liquidatedNtlPos`) or, where no fill was seen,
stands as an episode of its own. Fills of makers who merely traded against a liquidation are
ignored: they are not the liquidated position.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal

from tracker.records import Fill, LedgerEntry, LiquidationEpisode, Side

ZERO = Decimal(0)


def victim_fills(
    fills: Iterable[Fill], liquidators: frozenset[str]
) -> dict[tuple[str, str], list[Fill]]:
    """Liquidation fills that describe the liquidated position, by (liquidated account, coin)."""
    chosen: dict[tuple[str, str, str, int, str], Fill] = {}
    for fill in fills:
        if fill.liquidation_method is None:
            continue
        victim = fill.liquidated_user or fill.address
        own = fill.address == victim
        backstop = fill.address in liquidators and fill.liquidation_method == "backstop"
        if not (own or backstop):
            continue
        key = (fill.venue, victim, fill.coin, fill.time_ms, fill.fill_key)
        if key not in chosen or own:  # the account's own fill carries its PnL: prefer it
            chosen[key] = fill
    grouped: dict[tuple[str, str], list[Fill]] = {}
    for (_, victim, coin, _, _), fill in chosen.items():
        grouped.setdefault((victim, coin), []).append(fill)
    return grouped


def _side(fill: Fill, victim: str) -> Side | None:
    if fill.address == victim:
        if fill.start_position is not None and fill.start_position != 0:
            return "long" if fill.start_position > 0 else "short"
        return "long" if fill.side == "sell" else "short"
    # The liquidator takes the position over: buying means it took a long, selling a short.
    return "long" if fill.side == "buy" else "short"


def _episode(victim: str, coin: str, fills: Sequence[Fill], watched: bool) -> LiquidationEpisode:
    own = [f for f in fills if f.address == victim]
    methods = tuple(sorted({f.liquidation_method for f in fills if f.liquidation_method}))
    loss = sum(((f.closed_pnl_usd or ZERO) - (f.fee or ZERO) for f in own), ZERO) if own else None
    notional = sum((f.notional_usd for f in fills), ZERO)
    sources = ["fills"] if own else []
    if len(own) < len(fills):
        sources.append("liquidator")
    return LiquidationEpisode(
        venue=fills[0].venue,
        address=victim,
        coin=coin,
        side=_side(fills[0], victim),
        start=fills[0].ts,
        end=fills[-1].ts,
        fills=len(fills),
        size=sum((f.size for f in fills), ZERO),
        notional_usd=notional,
        methods=methods,
        mark_px=fills[0].liquidation_mark_px,
        realized_loss_usd=loss,
        ledger_notional_usd=None,
        sources=tuple(sources),
        watched=watched,
        position_usd=max(notional, _start_usd(own)),
    )


def is_large(episode: LiquidationEpisode, threshold_usd: Decimal, basis: str) -> bool:
    """Whether the episode's figure on `basis` (LiquidationEpisode.at_stake_usd) reaches the
    large-liquidation threshold: the rule of both the stored `large` flag and the alert."""
    stake = episode.at_stake_usd(basis)
    return stake is not None and stake >= threshold_usd


def _start_usd(own: Sequence[Fill]) -> Decimal:
    """What the account's position was worth when its first own liquidation fill began: the
    fill's startPosition at the liquidation's mark (its price when the mark is missing); zero
    when no own fill says."""
    for fill in own:
        if fill.start_position:
            px = fill.liquidation_mark_px or fill.px
            return abs(fill.start_position) * px
    return ZERO


def build_episodes(
    fills: Iterable[Fill],
    ledger: Iterable[LedgerEntry],
    *,
    liquidators: frozenset[str],
    watched: frozenset[str],
    gap_s: float,
) -> list[LiquidationEpisode]:
    """Episodes from liquidation fills and ledger liquidation updates, largest first."""
    gap = timedelta(seconds=gap_s)
    episodes: list[LiquidationEpisode] = []
    for (victim, coin), group in victim_fills(fills, liquidators).items():
        group.sort(key=lambda f: (f.time_ms, f.fill_key))
        run: list[Fill] = [group[0]]
        for fill in group[1:]:
            if fill.ts - run[-1].ts > gap:
                episodes.append(_episode(victim, coin, run, victim in watched))
                run = []
            run.append(fill)
        episodes.append(_episode(victim, coin, run, victim in watched))
    episodes = _attach_ledger(episodes, ledger, gap, watched)
    return sorted(episodes, key=lambda e: (-(e.notional_usd or ZERO), e.start))


def _ledger_coins(entry: LedgerEntry) -> list[str]:
    try:
        positions = json.loads(entry.liquidated_positions or "[]")
    except json.JSONDecodeError:
        return []
    return [p["coin"] for p in positions if isinstance(p, dict) and isinstance(p.get("coin"), str)]


def _attach_ledger(
    episodes: list[LiquidationEpisode],
    ledger: Iterable[LedgerEntry],
    gap: timedelta,
    watched: frozenset[str],
) -> list[LiquidationEpisode]:
    from dataclasses import replace

    out = list(episodes)
    for entry in ledger:
        if entry.kind != "liquidation":
            continue
        coins = _ledger_coins(entry)
        matched = False
        for i, ep in enumerate(out):
            near = ep.start - gap <= entry.ts <= ep.end + gap
            if ep.address == entry.address and near and (not coins or ep.coin in coins):
                out[i] = replace(
                    ep,
                    sources=tuple(sorted({*ep.sources, "ledger"})),
                    ledger_notional_usd=entry.liquidated_notional_usd,
                )
                matched = True
        if not matched:
            coin = coins[0] if len(coins) == 1 else "*"
            out.append(
                LiquidationEpisode(
                    venue=entry.venue,
                    address=entry.address,
                    coin=coin,
                    side=None,
                    start=entry.ts,
                    end=entry.ts,
                    fills=0,
                    size=None,
                    notional_usd=entry.liquidated_notional_usd,
                    methods=("ledger",),
                    mark_px=None,
                    realized_loss_usd=None,
                    ledger_notional_usd=entry.liquidated_notional_usd,
                    sources=("ledger",),
                    watched=entry.address in watched,
                )
            )
    return out
