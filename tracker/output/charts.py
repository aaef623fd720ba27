"""`tracker chart`: an account's value, unrealized PnL and per-coin liquidation prices over time.

Two halves: `chart_series` reads plain series from the store (what tests compare with SQL), and
`chart_figure` draws them with matplotlib's object API on the Agg canvas (no pyplot, so never a
GUI backend and no global figure state). `save_figure` writes PNG or SVG deterministically: fixed
size and dpi, no timestamps or software versions in the metadata, fixed SVG ids.

Slightly over our ~400 lines: the series, the figure and its deterministic saving are one
chart's code path, tested together against SQL and against fixed bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from math import ceil, log10
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import Formatter

from tracker import resources
from tracker.atomic import write_atomic
from tracker.errors import BadInput
from tracker.plain import plain
from tracker.store import Store, open_store

DPI = 100
WIDTH_IN = 12.0
MAX_COIN_PANELS = 6
STYLE: dict[Any, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titlelocation": "left",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8,
    "svg.hashsalt": "tracker",  # stable element ids, so the same data gives the same SVG
    "svg.fonttype": "path",
}
_EVENT_MARKERS = {"open": "^", "increase": "P", "reduce": "v", "close": "s", "flip": "D"}
_SIDE_COLOURS = {"buy": "#2ca02c", "sell": "#d62728"}


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionEvent:
    """One order's effect on a position (from the position_events view); prices in USD."""

    ts: datetime
    kind: str  # open, increase, reduce, close, flip
    side: str  # buy / sell
    size: Decimal
    avg_px: Decimal
    notional_usd: Decimal
    liquidation: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationEpisode:
    """One liquidation episode of the account in a coin (from the liquidations table)."""

    start: datetime
    end: datetime
    side: str | None
    notional_usd: Decimal | None
    mark_px: Decimal | None
    method: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CoinSeries:
    """Per snapshot: the coin's mark and liquidation prices (ours, the venue's) in USD."""

    coin: str
    ts: tuple[datetime, ...]
    side: tuple[str, ...]
    mark_px: tuple[Decimal, ...]
    liquidation_px: tuple[Decimal | None, ...]
    venue_liquidation_px: tuple[Decimal | None, ...]
    max_notional_usd: Decimal
    events: tuple[PositionEvent, ...]
    liquidations: tuple[LiquidationEpisode, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartSeries:
    """Everything `tracker chart` draws, as plain values read from the store."""

    address: str
    label: str | None
    start: datetime  # events and episodes are shown from here (--since, else the first snapshot)
    ts: tuple[datetime, ...]
    account_value_usd: tuple[Decimal, ...]  # every dex summed
    unrealized_pnl_usd: tuple[Decimal, ...]  # every position summed
    coins: tuple[CoinSeries, ...]  # drawn, largest notional first
    more_coins: tuple[str, ...]  # held too, but over the panel limit


@dataclass(frozen=True, slots=True, kw_only=True)
class Picture:
    """A written image: its path, size in bytes and pixels."""

    path: Path
    size_bytes: int
    width_px: int
    height_px: int


def chart_series(
    store: Store,
    address: str,
    *,
    coin: str | None = None,
    since: datetime | None = None,
    label: str | None = None,
    max_coins: int = MAX_COIN_PANELS,
) -> ChartSeries:
    """Read the account series and, per coin, marks, liquidation prices, events and episodes."""
    wanted = _resolve_coin(store, address, coin) if coin is not None else None
    account = _rows(store, "chart_account", {"address": address, "since": since})
    if not account:
        when = f" since {since.isoformat()}" if since else ""
        raise BadInput(f"no snapshots of {address}{when} in the database (run 'tracker snapshot')")
    start = since or account[0][0]
    params = {"address": address, "since": start, "coin": wanted}
    positions = _by_coin(_rows(store, "chart_positions", {**params, "since": since}))
    events = _by_coin(_rows(store, "chart_events", params))
    episodes = _by_coin(_rows(store, "chart_liquidations", params))
    coins = [
        _coin_series(c, positions.get(c, []), events.get(c, []), episodes.get(c, []))
        for c in sorted(set(positions) | set(events) | set(episodes))
    ]
    if wanted is not None and not coins:
        raise BadInput(f"no {wanted} positions, events or liquidations of {address} since {start}")
    coins.sort(key=lambda c: (-c.max_notional_usd, c.coin))
    return ChartSeries(
        address=address,
        label=label,
        start=start,
        ts=tuple(r[0] for r in account),
        account_value_usd=tuple(r[1] for r in account),
        unrealized_pnl_usd=tuple(r[2] for r in account),
        coins=tuple(coins[:max_coins]),
        more_coins=tuple(c.coin for c in coins[max_coins:]),
    )


def write_chart(
    db: Path,
    address: str,
    out: Path,
    *,
    coin: str | None = None,
    since: datetime | None = None,
    label: str | None = None,
) -> tuple[ChartSeries, Picture]:
    """Read the series (store open read-only, closed before drawing) and write the chart to out."""
    image_format(out)
    with open_store(db, read_only=True) as store:
        series = chart_series(store, address, coin=coin, since=since, label=label)
    return series, save_figure(chart_figure(series), out)


def chart_figure(series: ChartSeries) -> Figure:
    """Account value, unrealized PnL, then one price panel per coin, on one UTC time axis."""
    with matplotlib.rc_context(STYLE):
        heights = [2.4, 2.0] + [3.0] * len(series.coins)
        fig = new_figure(1.0 + sum(heights))
        grid = fig.subplots(len(heights), 1, sharex=True, squeeze=False, height_ratios=heights)
        axes: list[Axes] = list(grid[:, 0])
        _account_panel(axes[0], series)
        _pnl_panel(axes[1], series)
        for ax, coin in zip(axes[2:], series.coins, strict=True):
            _coin_panel(ax, coin)
        utc_time_axis(axes[-1])
        who = f"{plain(series.label)} — {series.address}" if series.label else series.address
        # parse_math off: a label is text; "$...$" in it must not be typeset as math (or fail).
        fig.suptitle(who, fontsize=12, fontweight="bold", x=0.01, ha="left", parse_math=False)
        note = f"{len(series.ts)} snapshots, {_span(series.ts)}; times UTC; prices and values USD"
        if series.more_coins:
            note += f"; not drawn (use --coin): {', '.join(series.more_coins)}"
        fig.supxlabel(note, x=0.01, ha="left", fontsize=8, color="dimgray")
    return fig


def new_figure(height_in: float) -> Figure:
    """A figure of the standard width on the Agg canvas (never a GUI backend)."""
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def image_format(out: Path) -> str:
    """'png' or 'svg' from the file name; BadInput for anything else or a missing folder."""
    kind = out.suffix.lower().lstrip(".")
    if kind not in ("png", "svg"):
        raise BadInput(f"--out must end in .png or .svg, got {out.name!r}")
    if not out.parent.is_dir():
        raise BadInput(f"cannot write {out}: folder {out.parent} does not exist")
    return kind


def save_figure(fig: Figure, out: Path) -> Picture:
    """Write fig as PNG or SVG (by the suffix of out)."""
    data = figure_bytes(fig, image_format(out))
    write_file(out, data)
    width, height = fig.get_size_inches() * DPI
    return Picture(path=out, size_bytes=len(data), width_px=round(width), height_px=round(height))


def write_file(out: Path, data: bytes) -> None:
    """Write data atomically (beside out, then renamed): a reader never sees half a file."""
    try:
        write_atomic(out, data)
    except OSError as exc:
        raise BadInput(f"cannot write {out}: {exc.strerror or exc}") from None


def figure_bytes(fig: Figure, kind: str) -> bytes:
    """The figure as PNG or SVG bytes, without timestamps or software versions (deterministic)."""
    metadata: dict[str, str | None] = (
        {"Software": None} if kind == "png" else {"Creator": None, "Date": None}
    )
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buffer, format=kind, dpi=DPI, metadata=metadata)
    return buffer.getvalue()


class Thousands(Formatter):
    """Tick labels with thousands separators and just enough decimals for the tick step."""

    def __init__(self) -> None:
        self.places = 0

    def set_locs(self, locs: list[float]) -> None:
        super().set_locs(locs)
        steps = [abs(b - a) for a, b in pairwise(locs) if b != a]
        step = min(steps) if steps else 1.0
        self.places = min(8, max(0, ceil(-log10(step)))) if step < 1 else 0

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:,.{self.places}f}"


def utc_time_axis(ax: Axes) -> None:
    """Concise UTC date labels on the shared time axis."""
    locator = mdates.AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call]
    )
    ax.set_xlabel("time (UTC)")


def days(ts: Sequence[datetime]) -> list[float]:
    """Times as matplotlib date numbers (days since 1970 UTC): the x values drawn."""
    return [float(d) for d in mdates.date2num(list(ts))]  # type: ignore[no-untyped-call]


def floats(values: Sequence[Decimal | None]) -> list[float]:
    """Decimals as floats for drawing; None as NaN (a gap in the line)."""
    return [float("nan") if v is None else float(v) for v in values]


def _account_panel(ax: Axes, series: ChartSeries) -> None:
    ax.plot(
        days(series.ts), floats(series.account_value_usd), marker=_marker(series.ts), color="C0"
    )
    ax.set_title("Account value (all dexes)")
    ax.set_ylabel("USD")
    ax.yaxis.set_major_formatter(Thousands())


def _pnl_panel(ax: Axes, series: ChartSeries) -> None:
    pnl, x = floats(series.unrealized_pnl_usd), days(series.ts)
    ax.plot(x, pnl, marker=_marker(series.ts), color="black", linewidth=1)
    ax.fill_between(x, pnl, 0, where=[v >= 0 for v in pnl], color="#2ca02c", alpha=0.3)
    ax.fill_between(x, pnl, 0, where=[v < 0 for v in pnl], color="#d62728", alpha=0.3)
    ax.axhline(0, color="gray", linewidth=0.8)
    ax.set_title("Unrealized PnL (all positions)")
    ax.set_ylabel("USD")
    ax.yaxis.set_major_formatter(Thousands())


def _coin_panel(ax: Axes, coin: CoinSeries) -> None:
    marker, x = _marker(coin.ts), days(coin.ts)
    ax.plot(x, floats(coin.mark_px), color="C0", marker=marker, label="mark")
    ax.plot(
        x,
        floats(coin.liquidation_px),
        color="#d62728",
        linestyle="--",
        marker=marker,
        label="liquidation px (ours)",
    )
    ax.plot(
        x,
        floats(coin.venue_liquidation_px),
        color="#ff7f0e",
        linestyle=":",
        linewidth=2,
        label="liquidation px (venue)",
    )
    for kind, shape in _EVENT_MARKERS.items():
        shown = [e for e in coin.events if e.kind == kind]
        if shown:
            ax.scatter(
                days([e.ts for e in shown]),
                floats([e.avg_px for e in shown]),
                marker=shape,
                s=40 if len(coin.events) <= 200 else 10,  # dense histories stay readable
                c=[_SIDE_COLOURS.get(e.side, "gray") for e in shown],
                edgecolors=["black" if e.liquidation else "none" for e in shown],
                zorder=3,
                label=kind,
            )
    for episode in coin.liquidations:
        start, end = days([episode.start, episode.end])
        ax.axvspan(start, end, color="#d62728", alpha=0.15)
        ax.axvline(start, color="#d62728", linewidth=1)
        if episode.mark_px is not None:
            ax.scatter([start], [float(episode.mark_px)], marker="X", s=90, c="#d62728")
            money = f"${episode.notional_usd:,.0f} " if episode.notional_usd is not None else ""
            ax.annotate(
                f"liquidated {episode.side or ''} {money}({episode.method})".replace("  ", " "),
                (start, float(episode.mark_px)),
                textcoords="offset points",
                xytext=(6, 6),
                fontsize=8,
                color="#d62728",
            )
    latest = f", now {coin.side[-1]}" if coin.ts else ""
    ax.set_title(f"{coin.coin}: mark vs liquidation price{latest}")
    ax.set_ylabel("price (USD)")
    ax.yaxis.set_major_formatter(Thousands())
    ax.legend(handles=_legend_handles(ax, coin), loc="upper left", bbox_to_anchor=(1.005, 1))


def _legend_handles(ax: Axes, coin: CoinSeries) -> list[Any]:
    handles: list[Any] = list(ax.lines[:3]) if coin.ts else []
    kinds = {e.kind for e in coin.events}
    for kind, shape in _EVENT_MARKERS.items():
        if kind in kinds:
            handles.append(_proxy(shape, "gray", kind))
    if coin.events:
        handles += [_proxy("o", colour, side) for side, colour in _SIDE_COLOURS.items()]
    if any(e.liquidation for e in coin.events):
        handles.append(_proxy("o", "white", "liquidation fill", edge="black"))
    if coin.liquidations:
        handles.append(_proxy("X", "#d62728", "liquidation episode"))
    return handles


def _proxy(shape: str, colour: str, label: str, edge: str = "none") -> Line2D:
    return Line2D(
        [], [], marker=shape, linestyle="", color=colour, markeredgecolor=edge, label=label
    )


def _marker(ts: Sequence[datetime]) -> str | None:
    return "o" if len(ts) <= 60 else None  # points stay visible on short histories


def _span(ts: Sequence[datetime]) -> str:
    first, last = ts[0], ts[-1]
    return f"{first:%Y-%m-%d %H:%M:%S} to {last:%Y-%m-%d %H:%M:%S}"


def _coin_series(
    coin: str,
    positions: list[tuple[Any, ...]],
    events: list[tuple[Any, ...]],
    episodes: list[tuple[Any, ...]],
) -> CoinSeries:
    return CoinSeries(
        coin=coin,
        ts=tuple(r[0] for r in positions),
        side=tuple(r[1] for r in positions),
        mark_px=tuple(r[4] for r in positions),
        liquidation_px=tuple(r[5] for r in positions),
        venue_liquidation_px=tuple(r[6] for r in positions),
        max_notional_usd=max(
            [r[3] for r in positions] + [r[5] for r in events] + [Decimal(0)], default=Decimal(0)
        ),
        events=tuple(
            PositionEvent(
                ts=r[0],
                kind=r[1],
                side=r[2],
                size=r[3],
                avg_px=r[4],
                notional_usd=r[5],
                liquidation=bool(r[6]),
            )
            for r in events
        ),
        liquidations=tuple(
            LiquidationEpisode(
                start=r[0], end=r[1], side=r[2], notional_usd=r[3], mark_px=r[4], method=r[5]
            )
            for r in episodes
        ),
    )


def _by_coin(rows: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    """Rows whose first column is the coin, grouped by it (order kept), coin dropped."""
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row[1:])
    return grouped


def _resolve_coin(store: Store, address: str, coin: str) -> str:
    known: list[str] = [r[0] for r in _rows(store, "chart_coins", {"address": address})]
    if coin in known:
        return coin
    folded = [k for k in known if k.lower() == coin.lower()]
    if len(folded) == 1:
        return folded[0]
    held = ", ".join(known) if known else "none stored"
    raise BadInput(f"no {coin} data for {address} (coins: {held})")


def _rows(store: Store, name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = store.con.execute(resources.sql("reads", name), params).fetchall()
    return rows
