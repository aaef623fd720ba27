"""Modelled accounts: render a `clearinghouseState` from cash + positions at current marks.

Formulas follow shared/reference/hyperliquid.md §1.2 and §3 (venue pages trading/margining,
trading/margin-tiers, trading/liquidations); every value is exact `Decimal` arithmetic and is
rendered as a decimal string the way the venue prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

MarginMode = Literal["cross", "isolated"]
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Tier:
    """One margin tier: notional lower bound (USD), maintenance rate and deduction (USD)."""

    lower_bound: Decimal
    mmr: Decimal
    deduction: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelPosition:
    """A position held by a modelled account; `size` is signed (short < 0)."""

    coin: str
    size: Decimal
    entry_px: Decimal
    leverage: int
    margin_mode: MarginMode = "cross"
    isolated_margin: Decimal | None = None  # USD allocated at entry; default size*entry/leverage

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> ModelPosition:
        """From a dict {coin, size, entry_px, leverage, margin_mode?, isolated_margin?}."""
        iso = raw.get("isolated_margin")
        mode = raw.get("margin_mode", "cross")
        if mode not in ("cross", "isolated"):
            raise ValueError(f"margin_mode must be 'cross' or 'isolated', got {mode!r}")
        return cls(
            coin=str(raw["coin"]),
            size=dec(raw["size"]),
            entry_px=dec(raw["entry_px"]),
            leverage=int(raw["leverage"]),
            margin_mode=mode,
            isolated_margin=None if iso is None else dec(iso),
        )

    def __post_init__(self) -> None:
        """Reject what the venue would never show: zero size, leverage below 1."""
        if self.size == 0:
            raise ValueError(f"{self.coin}: a modelled position needs a non-zero size")
        if self.leverage < 1:
            raise ValueError(f"{self.coin}: leverage must be >= 1, got {self.leverage}")

    def allocated_margin(self) -> Decimal:
        """Isolated margin in USD deposited at entry (equity of the position at mark == entry)."""
        if self.isolated_margin is not None:
            return self.isolated_margin
        return abs(self.size) * self.entry_px / self.leverage


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelAccount:
    """Cross cash (USD, = crossMarginSummary.totalRawUsd) and positions on one perp dex."""

    cash_usd: Decimal
    positions: tuple[ModelPosition, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetInfo:
    """What the renderer needs to know about a coin: mark (USD), max leverage and tiers."""

    mark: Decimal
    max_leverage: int
    tiers: tuple[Tier, ...]


def dec(value: Any) -> Decimal:
    """Exact Decimal from str/int/Decimal (floats go through str to avoid binary noise)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("bool is not a number")
    return Decimal(str(value))


def fmt(value: Decimal, places: int = 6) -> str:
    """Venue-style decimal string: rounded to `places`, trailing zeros cut, at least one decimal."""
    text = format(value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN).normalize(), "f")
    if "." not in text:
        text += ".0"
    return "0.0" if text == "-0.0" else text


def fmt_px(value: Decimal) -> str:
    """Price string: 12 significant digits but never fewer than 8 decimals (matches recordings)."""
    return fmt(value, max(8, 11 - value.adjusted()))


def build_tiers(meta: Mapping[str, Any], asset: Mapping[str, Any]) -> tuple[Tier, ...]:
    """Margin tiers of one universe entry; tables < 50 are single-tier at that leverage."""
    max_lev = int(asset["maxLeverage"])
    table_id = asset.get("marginTableId")
    tables = {int(tid): table for tid, table in meta.get("marginTables") or []}
    if table_id is not None and int(table_id) in tables:
        raw = [
            (dec(t["lowerBound"]), int(t["maxLeverage"]))
            for t in tables[int(table_id)]["marginTiers"]
        ]
    else:
        lev = int(table_id) if table_id is not None and int(table_id) < 50 else max_lev
        raw = [(ZERO, lev)]
    tiers: list[Tier] = []
    for lower, lev in raw:
        mmr = ONE / (2 * lev)
        deduction = tiers[-1].deduction + lower * (mmr - tiers[-1].mmr) if tiers else ZERO
        tiers.append(Tier(lower_bound=lower, mmr=mmr, deduction=deduction))
    return tuple(tiers)


def tier_for(tiers: tuple[Tier, ...], notional: Decimal) -> Tier:
    """The tier whose notional range contains `notional` (USD)."""
    chosen = tiers[0]
    for tier in tiers:
        if notional >= tier.lower_bound:
            chosen = tier
    return chosen


def maintenance_margin(tiers: tuple[Tier, ...], notional: Decimal) -> Decimal:
    """Maintenance margin (USD) = notional * mmr(tier) - deduction(tier) [D-tiers]."""
    tier = tier_for(tiers, notional)
    return notional * tier.mmr - tier.deduction


def liquidation_px(
    *, size: Decimal, mark: Decimal, margin: Decimal, other_mm: Decimal, tiers: tuple[Tier, ...]
) -> Decimal | None:
    """Liquidation price [D-liq] using the tier in force at that price; None when <= 0."""
    side = ONE if size > 0 else -ONE
    qty = abs(size)
    fallback: Decimal | None = None
    current = tier_for(tiers, qty * mark)
    for k, tier in enumerate(tiers):
        mm_k = qty * mark * tier.mmr - tier.deduction + other_mm
        px = mark - side * (margin - mm_k) / qty / (ONE - side * tier.mmr)
        upper = tiers[k + 1].lower_bound if k + 1 < len(tiers) else None
        if qty * px >= tier.lower_bound and (upper is None or qty * px < upper):
            return px if px > 0 else None
        if tier is current:
            fallback = px
    return fallback if fallback is not None and fallback > 0 else None


def render_clearinghouse_state(
    account: ModelAccount, assets: Mapping[str, AssetInfo], now_ms: int
) -> dict[str, Any]:
    """Render the venue's `clearinghouseState` answer for `account` at the given marks."""
    cross_ntl = cross_margin = cross_mm = cross_szi_mark = ZERO
    iso_raw = iso_margin = iso_ntl = ZERO
    for pos in account.positions:
        info = assets[pos.coin]
        value = abs(pos.size) * info.mark
        if pos.margin_mode == "cross":
            cross_ntl += value
            cross_margin += value / pos.leverage
            cross_mm += maintenance_margin(info.tiers, value)
            cross_szi_mark += pos.size * info.mark
        else:
            raw = pos.allocated_margin() - pos.size * pos.entry_px
            iso_raw += raw
            iso_margin += raw + pos.size * info.mark
            iso_ntl += value
    cross_value = account.cash_usd + cross_szi_mark
    rendered = [
        _render_position(p, assets[p.coin], cross_value, cross_mm) for p in account.positions
    ]
    return {
        "marginSummary": _summary(
            cross_value + iso_margin,
            cross_ntl + iso_ntl,
            account.cash_usd + iso_raw,
            cross_margin + iso_margin,
        ),
        "crossMarginSummary": _summary(cross_value, cross_ntl, account.cash_usd, cross_margin),
        "crossMaintenanceMarginUsed": fmt(cross_mm),
        # The venue's exact withdrawable rule is unconfirmed (reference §7.4); this approximation
        # is within 0.4 % of the two recorded cross accounts with positions.
        "withdrawable": fmt(max(ZERO, cross_value - cross_margin)),
        "assetPositions": [{"type": "oneWay", "position": p} for p in rendered],
        "time": now_ms,
    }


def _summary(
    account_value: Decimal, ntl: Decimal, raw_usd: Decimal, margin_used: Decimal
) -> dict[str, str]:
    return {
        "accountValue": fmt(account_value),
        "totalNtlPos": fmt(ntl),
        "totalRawUsd": fmt(raw_usd),
        "totalMarginUsed": fmt(margin_used),
    }


def _render_position(
    pos: ModelPosition, info: AssetInfo, cross_value: Decimal, cross_mm: Decimal
) -> dict[str, Any]:
    value = abs(pos.size) * info.mark
    upnl = pos.size * (info.mark - pos.entry_px)
    mm = maintenance_margin(info.tiers, value)
    leverage: dict[str, Any] = {"type": pos.margin_mode, "value": pos.leverage}
    if pos.margin_mode == "cross":
        margin_used = value / pos.leverage
        liq = liquidation_px(
            size=pos.size,
            mark=info.mark,
            margin=cross_value,
            other_mm=cross_mm - mm,
            tiers=info.tiers,
        )
    else:
        raw = pos.allocated_margin() - pos.size * pos.entry_px
        leverage["rawUsd"] = fmt(raw)
        margin_used = raw + pos.size * info.mark
        liq = liquidation_px(
            size=pos.size, mark=info.mark, margin=margin_used, other_mm=ZERO, tiers=info.tiers
        )
    initial = abs(pos.size) * pos.entry_px / pos.leverage
    return {
        "coin": pos.coin,
        "szi": fmt(pos.size, 10),
        "leverage": leverage,
        "entryPx": fmt(pos.entry_px, 10),
        "positionValue": fmt(value),
        "unrealizedPnl": fmt(upnl),
        "returnOnEquity": fmt(upnl / initial if initial else ZERO, 10),
        "liquidationPx": None if liq is None else fmt_px(liq),
        "marginUsed": fmt(margin_used),
        "maxLeverage": info.max_leverage,
        "cumFunding": {"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"},
    }
