"""`tracker liqmap`: notional of watched positions that would be liquidated at each price level.

Only watched positions: what the tracker follows, not a model of the whole market. Each
position's liquidation price (ours, from the latest snapshot of its account) falls in one of N
equal price buckets around the mark: longs below it, shorts above. The cumulative curves move
away from the mark: at a price below it, the notional of longs liquidated if the mark fell
there; above it, of shorts liquidated if it rose there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from itertools import accumulate, pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from tracker import resources
from tracker.errors import BadInput
from tracker.jsonable import jsonable
from tracker.output.terminal import fmt, fmt_px
from tracker.store import Store, open_store

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from tracker.output.charts import Picture

DEFAULT_BUCKETS = 40
MIN_RANGE = Decimal("0.02")  # the buckets span at least ±2 % around the mark
MAX_RANGE = Decimal("0.5")  # and at most ±50 %; liquidation prices further out are totalled apart
CAVEAT = "watched positions only (not a model of the whole market)"
BAR_WIDTH = 28
_LONG, _SHORT = "#1f77b4", "#ff7f0e"
_LONG_CUM, _SHORT_CUM = "#0b3d91", "#a0522d"  # darker, so the curves stand out from the bars


@dataclass(frozen=True, slots=True, kw_only=True)
class LiqPosition:
    """One watched position as of its account's latest snapshot (USD)."""

    address: str
    ts: datetime
    side: str  # long / short
    notional_usd: Decimal
    mark_px: Decimal
    liquidation_px: Decimal | None  # ours


@dataclass(frozen=True, slots=True, kw_only=True)
class LiqMap:
    """Liquidation notional per price bucket (ascending prices, USD)."""

    coin: str
    mark_px: Decimal  # the coin's newest stored mark (markets), else the newest position's
    as_of: datetime  # the newest snapshot among them
    range_pct: Decimal  # the buckets span mark × (1 ± range_pct / 100)
    edges: tuple[Decimal, ...]  # N + 1 bucket edges
    long_usd: tuple[Decimal, ...]  # notional of longs liquidated within each bucket
    short_usd: tuple[Decimal, ...]
    long_cum_usd: tuple[Decimal, ...]  # longs liquidated if the mark falls to the bucket's low
    short_cum_usd: tuple[Decimal, ...]  # shorts liquidated if the mark rises to the bucket's high
    positions: int  # with a liquidation price inside the range
    accounts: int  # distinct addresses among all the coin's positions
    without_liq_px: int  # positions that cannot be liquidated by a price move (no liq px)
    beyond_long_usd: Decimal  # longs whose liquidation price lies outside the range
    beyond_short_usd: Decimal

    def centres(self) -> list[Decimal]:
        """Middle price of each bucket (USD)."""
        return [(a + b) / 2 for a, b in pairwise(self.edges)]


def build_liqmap(
    coin: str, positions: Sequence[LiqPosition], buckets: int, mark: Decimal | None = None
) -> LiqMap:
    """Bucket the positions' liquidation prices around mark (default: the newest position's)."""
    if buckets < 2:
        raise BadInput(f"--buckets must be at least 2, got {buckets}")
    if not positions:
        raise BadInput(f"no watched positions in {coin}")
    newest = sorted(positions, key=lambda p: (p.ts, p.address), reverse=True)[0]
    mark = newest.mark_px if mark is None else mark
    priced = [p for p in positions if p.liquidation_px is not None]
    width = _range(mark, [p.liquidation_px for p in priced if p.liquidation_px is not None])
    low, step = mark * (1 - width), mark * width * 2 / buckets
    longs, shorts = [Decimal(0)] * buckets, [Decimal(0)] * buckets
    beyond = {"long": Decimal(0), "short": Decimal(0)}
    inside = 0
    for p in priced:
        assert p.liquidation_px is not None
        index = int(((p.liquidation_px - low) / step).to_integral_value(ROUND_FLOOR))
        if index == buckets and p.liquidation_px == low + step * buckets:
            index -= 1  # the top edge belongs to the last bucket
        if not 0 <= index < buckets:
            beyond[p.side] += p.notional_usd
            continue
        inside += 1
        (longs if p.side == "long" else shorts)[index] += p.notional_usd
    return LiqMap(
        coin=coin,
        mark_px=mark,
        as_of=newest.ts,
        range_pct=width * 100,
        edges=tuple(low + step * i for i in range(buckets + 1)),
        long_usd=tuple(longs),
        short_usd=tuple(shorts),
        long_cum_usd=tuple(reversed(list(accumulate(reversed(longs))))),
        short_cum_usd=tuple(accumulate(shorts)),
        positions=inside,
        accounts=len({p.address for p in positions}),
        without_liq_px=len(positions) - len(priced),
        beyond_long_usd=beyond["long"],
        beyond_short_usd=beyond["short"],
    )


def _range(mark: Decimal, prices: Sequence[Decimal]) -> Decimal:
    """Half-width of the bucketed range as a fraction of the mark: the furthest price + 5 %,
    rounded up to a whole percent, within [MIN_RANGE, MAX_RANGE]."""
    furthest = max((abs(px / mark - 1) for px in prices), default=Decimal("0.1"))
    rounded = (furthest * Decimal("1.05") * 100).to_integral_value(ROUND_CEILING) / 100
    return min(MAX_RANGE, max(MIN_RANGE, rounded))


def liqmap_json(m: LiqMap) -> dict[str, Any]:
    """The map as JSON (decimals as strings): buckets by ascending price, edges and notionals."""
    doc: dict[str, Any] = jsonable(
        {
            "coin": m.coin,
            "mark_px": m.mark_px,
            "as_of": m.as_of,
            "range_pct": m.range_pct,
            "buckets": [
                {
                    "price_low": m.edges[i],
                    "price_high": m.edges[i + 1],
                    "long_usd": m.long_usd[i],
                    "short_usd": m.short_usd[i],
                    "long_cum_usd": m.long_cum_usd[i],
                    "short_cum_usd": m.short_cum_usd[i],
                }
                for i in range(len(m.long_usd))
            ],
            "positions": m.positions,
            "accounts": m.accounts,
            "without_liq_px": m.without_liq_px,
            "beyond_long_usd": m.beyond_long_usd,
            "beyond_short_usd": m.beyond_short_usd,
            "caveat": CAVEAT,
        }
    )
    return doc


def held_coins(store: Store, addresses: Sequence[str] | None = None) -> list[str]:
    """Coins in the latest positions (of these addresses, else of all), largest notional first."""
    params = {"addresses": None if addresses is None else list(addresses)}
    rows = store.con.execute(resources.sql("reads", "liqmap_coins"), params).fetchall()
    return [r[0] for r in rows]


def read_liqmap(
    store: Store,
    coin: str,
    buckets: int = DEFAULT_BUCKETS,
    addresses: Sequence[str] | None = None,
) -> LiqMap:
    """The liquidation map of coin from the latest positions (of these addresses, else all)."""
    held = held_coins(store, addresses)
    name = coin if coin in held else next((c for c in held if c.lower() == coin.lower()), None)
    if name is None:
        listed = ", ".join(held[:20]) if held else "none stored"
        raise BadInput(f"no watched positions in {coin} (latest positions hold: {listed})")
    params = {"coin": name, "addresses": None if addresses is None else list(addresses)}
    rows = store.con.execute(resources.sql("reads", "liqmap_positions"), params)
    positions = [
        LiqPosition(
            address=r[0], ts=r[2], side=r[3], notional_usd=r[5], mark_px=r[6], liquidation_px=r[7]
        )
        for r in rows.fetchall()
    ]
    newest = store.con.execute(resources.sql("reads", "liqmap_mark"), {"coin": name}).fetchone()
    return build_liqmap(name, positions, buckets, newest[0] if newest else None)


def load_liqmap(db: Path, coin: str, buckets: int = DEFAULT_BUCKETS) -> LiqMap:
    """Open the store read-only just long enough to read the map."""
    with open_store(db, read_only=True) as store:
        return read_liqmap(store, coin, buckets)


def write_liqmap(
    db: Path, coin: str, out: Path, buckets: int = DEFAULT_BUCKETS
) -> tuple[LiqMap, Picture]:
    """Read the map (store closed before drawing) and write it as PNG or SVG."""
    from tracker.output import charts

    charts.image_format(out)
    liqmap = load_liqmap(db, coin, buckets)
    return liqmap, charts.save_figure(liqmap_figure(liqmap), out)


def liqmap_figure(m: LiqMap) -> Figure:
    """Bars of liquidation notional per bucket, cumulative curves, the mark."""
    import matplotlib

    from tracker.output import charts

    with matplotlib.rc_context(charts.STYLE):
        fig = charts.new_figure(6.5)
        ax = fig.subplots()
        centres, width = charts.floats(m.centres()), float(m.edges[1] - m.edges[0]) * 0.9
        longs = charts.floats(m.long_usd)
        ax.bar(centres, longs, width, color=_LONG, label="longs liquidated")
        ax.bar(  # stacked: a bucket can hold both (a stale long above the mark, say)
            centres,
            charts.floats(m.short_usd),
            width,
            bottom=longs,
            color=_SHORT,
            label="shorts liquidated",
        )
        ax.axvline(
            float(m.mark_px), color="black", linestyle="--", label=f"mark {fmt_px(m.mark_px)}"
        )
        ax.set_xlabel("price (USD)")
        ax.set_ylabel("notional liquidated in the bucket (USD)")
        cum = ax.twinx()
        below = [i for i, c in enumerate(m.centres()) if c <= m.mark_px]
        above = [i for i, c in enumerate(m.centres()) if c > m.mark_px]
        for index, values, colour, label in (
            (below, m.long_cum_usd, _LONG_CUM, "longs, cumulative from the mark"),
            (above, m.short_cum_usd, _SHORT_CUM, "shorts, cumulative from the mark"),
        ):
            cum.plot(
                [centres[i] for i in index],
                charts.floats([values[i] for i in index]),
                color=colour,
                drawstyle="steps-mid",
                linewidth=2,
                label=label,
            )
        cum.set_ylabel("cumulative notional liquidated (USD)")
        cum.set_ylim(bottom=0)
        cum.grid(False)
        for axis in (ax.yaxis, cum.yaxis, ax.xaxis):
            axis.set_major_formatter(charts.Thousands())
        handles = ax.get_legend_handles_labels()[0] + cum.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.08, 1))
        ax.set_title(f"{m.coin} liquidation map: {CAVEAT}", fontsize=11, fontweight="bold")
        fig.supxlabel(summary(m), x=0.01, ha="left", fontsize=8, color="dimgray")
    return fig


def summary(m: LiqMap) -> str:
    """One line: what the map counts and what it leaves out."""
    text = (
        f"as of {m.as_of:%Y-%m-%d %H:%M:%S} UTC; {m.positions} positions of {m.accounts} "
        f"accounts within ±{m.range_pct:.0f}% of the mark; liquidation prices are the tracker's"
    )
    if m.without_liq_px:
        text += f"; {m.without_liq_px} without a liquidation price"
    if m.beyond_long_usd or m.beyond_short_usd:
        text += (
            f"; beyond the range: longs ${fmt(m.beyond_long_usd, 0)}, "
            f"shorts ${fmt(m.beyond_short_usd, 0)}"
        )
    return text


def liqmap_table(m: LiqMap, width: int = 120) -> Table:
    """The map as terminal bars (fitted to width characters): one line per bucket, highest price
    first, the mark marked, totals below."""
    rows = [
        (f"{fmt_px(m.edges[i])} – {fmt_px(m.edges[i + 1])}", m.long_usd[i], m.short_usd[i])
        for i in reversed(range(len(m.long_usd)))
    ]
    longs, shorts = fmt(sum(m.long_usd, Decimal(0)), 0), fmt(sum(m.short_usd, Decimal(0)), 0)
    text = max(len(r[0]) for r in rows) + len(longs) + len(shorts) + 14  # + borders, padding
    bars = max(4, min(BAR_WIDTH, (width - text) // 2))
    peak = max([*m.long_usd, *m.short_usd, Decimal(1)])
    table = Table(
        title=f"{m.coin} liquidation map: {CAVEAT}",
        title_justify="left",
        caption=summary(m),
        caption_justify="left",
        pad_edge=False,
        show_footer=True,
    )
    table.add_column("price (USD)", footer="total in range", justify="right", no_wrap=True)
    table.add_column("longs $", footer=longs, justify="right", no_wrap=True)
    table.add_column("", width=bars, no_wrap=True)
    table.add_column("shorts $", footer=shorts, justify="right", no_wrap=True)
    table.add_column("", width=bars, no_wrap=True)
    marked = False
    for (prices, long_usd, short_usd), low in zip(rows, reversed(m.edges[:-1]), strict=True):
        if not marked and low < m.mark_px:
            table.add_row(Text(f"mark {fmt_px(m.mark_px)} ▶", "bold"), "", "", "", "")
            marked = True
        table.add_row(
            prices,
            fmt(long_usd, 0) if long_usd else "",
            _bar(long_usd / peak * bars, _LONG),
            fmt(short_usd, 0) if short_usd else "",
            _bar(short_usd / peak * bars, _SHORT),
        )
    return table


def _bar(cells: Decimal, colour: str) -> Text:
    whole = int(cells)
    return Text("█" * whole if whole else ("▏" if cells else ""), style=colour)
