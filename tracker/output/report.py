"""`tracker report`: one self-contained HTML page for a watchlist, openable offline.

The page holds every chart as an embedded PNG (base64) and the tables as HTML: latest accounts,
latest positions, liquidation episodes, and the liquidation maps of the watchlist's largest
coins. No script, stylesheet, font or image is fetched from anywhere. The store is read in one
read-only visit; drawing happens after it is closed.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from tracker import resources
from tracker.errors import BadInput
from tracker.output import charts, liqmap
from tracker.output.terminal import fmt, fmt_px
from tracker.store import Store, open_store
from tracker.watchlists import WatchedAddress

MAX_LIQMAPS = 4
MAX_LIQUIDATIONS = 50
_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1250px; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
.wide { overflow-x: auto; }
th { background: #f4f4f4; } td.t, th.t { text-align: left; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.note { color: #666; font-size: 0.9em; }
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """What the report holds and where it is."""

    path: Path
    size_bytes: int
    accounts: int
    charts: int
    liqmaps: int
    missing: tuple[str, ...]  # watched addresses with no snapshot yet


def write_report(db: Path, out_dir: Path, watched: Sequence[WatchedAddress]) -> Report:
    """Read everything for the watched addresses, draw it, write out_dir/index.html."""
    if not watched:
        raise BadInput("the chosen watchlists hold no Hyperliquid address")
    labels = {w.address: w.label for w in watched}
    addresses = list(labels)
    with open_store(db, read_only=True) as store:
        tables = {
            name: _rows(store, f"chart_report_{name}", {"addresses": addresses})
            for name in ("accounts", "positions")
        }
        tables["liquidations"] = _rows(
            store,
            "chart_report_liquidations",
            {"addresses": addresses, "limit": MAX_LIQUIDATIONS},
        )
        shown = {r["address"] for r in tables["accounts"]}
        series = [charts.chart_series(store, a, label=labels[a]) for a in addresses if a in shown]
        maps = [
            liqmap.read_liqmap(store, coin, addresses=addresses)
            for coin in liqmap.held_coins(store, addresses)[:MAX_LIQMAPS]
        ]
    missing = tuple(a for a in addresses if a not in shown)
    page = _page(watched, tables, series, maps, missing)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    path, data = out_dir / "index.html", page.encode()
    charts.write_file(path, data)
    return Report(
        path=path,
        size_bytes=len(data),
        accounts=len(shown),
        charts=len(series),
        liqmaps=len(maps),
        missing=missing,
    )


def _page(
    watched: Sequence[WatchedAddress],
    tables: dict[str, list[dict[str, Any]]],
    series: Sequence[charts.ChartSeries],
    maps: Sequence[liqmap.LiqMap],
    missing: Sequence[str],
) -> str:
    lists = sorted({w.watchlist for w in watched})
    newest = max((r["ts"] for r in tables["accounts"]), default=None)
    labels = {w.address: w.label for w in watched}
    as_of = f"latest snapshot {newest:%Y-%m-%d %H:%M:%S} UTC" if newest else "no snapshot yet"
    parts = [
        f"<h1>tracker report: {_e(', '.join(lists))}</h1>",
        f'<p class="note">{len(watched)} watched addresses; {as_of}. Prices and values in '
        "USD; liquidation prices are computed by the tracker (the venue's beside them).</p>",
        "<h2>Accounts</h2>",
        _table(tables["accounts"], _ACCOUNT_COLUMNS, labels),
    ]
    if missing:
        parts.append(f'<p class="note">No snapshot yet: {_e(", ".join(missing))}</p>')
    parts += ["<h2>Positions</h2>", _table(tables["positions"], _POSITION_COLUMNS, labels)]
    parts += ["<h2>Liquidations</h2>", _table(tables["liquidations"], _EPISODE_COLUMNS, labels)]
    parts.append("<h2>Liquidation maps (watched positions only)</h2>")
    parts += [_image(liqmap.liqmap_figure(m), f"{m.coin} liquidation map") for m in maps]
    parts.append("<h2>Accounts over time</h2>")
    parts += [_image(charts.chart_figure(s), f"chart of {s.label} {s.address}") for s in series]
    title = f"tracker report: {', '.join(lists)}"
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


Column = tuple[str, str, Callable[[Any], str]]  # heading, row key, formatter


def _money(value: Any) -> str:
    return fmt(value, 0)


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


def _time(value: Any) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def _pct(value: Any) -> str:
    return fmt(value, 2)


_ACCOUNT_COLUMNS: list[Column] = [
    ("value $", "account_value_usd", _money),
    ("notional $", "notional_usd", _money),
    ("margin used $", "margin_used_usd", _money),
    ("shock to liq %", "shock_to_liq_pct", _pct),
    ("positions", "positions", _text),
    ("as of (UTC)", "ts", _time),
]
_POSITION_COLUMNS: list[Column] = [
    ("coin", "coin", _text),
    ("side", "side", _text),
    ("size", "size", lambda v: fmt(v, 4)),
    ("entry", "entry_px", fmt_px),
    ("mark", "mark_px", fmt_px),
    ("notional $", "notional_usd", _money),
    ("uPnL $", "unrealized_pnl_usd", _money),
    ("lev", "leverage", lambda v: f"{v}x"),
    ("mode", "margin_mode", _text),
    ("liq px", "liquidation_px", fmt_px),
    ("venue liq", "venue_liquidation_px", fmt_px),
    ("to liq %", "distance_to_liq_pct", _pct),
]
_EPISODE_COLUMNS: list[Column] = [
    ("start (UTC)", "start_ts", _time),
    ("coin", "coin", _text),
    ("side", "side", _text),
    ("notional $", "notional_usd", _money),
    ("fills", "fills", _text),
    ("method", "method", _text),
    ("mark", "mark_px", fmt_px),
]


def _table(rows: list[dict[str, Any]], columns: list[Column], labels: dict[str, str]) -> str:
    if not rows:
        return '<p class="note">none</p>'
    head = '<th class="t">label</th><th class="t">address</th>' + "".join(
        f"<th>{_e(h)}</th>" for h, _, _ in columns
    )
    body = []
    for row in rows:
        cells = [labels.get(row["address"], ""), row["address"]]
        text = "".join(f'<td class="t">{_e(c)}</td>' for c in cells)
        text += "".join(f"<td>{_e(show(row[key]))}</td>" for _, key, show in columns)
        body.append(f"<tr>{text}</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="wide">{table}</div>'


def _image(fig: Figure, alt: str) -> str:
    data = base64.b64encode(charts.figure_bytes(fig, "png")).decode("ascii")
    return f'<p><img alt="{_e(alt)}" src="data:image/png;base64,{data}"></p>'


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _rows(store: Store, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = store.con.execute(resources.sql("reads", name), params)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
