"""`tracker entity`: one actor's addresses across venues, from the watchlists' `entity` field."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from tracker.cli.common import out, settings_for
from tracker.config import environment
from tracker.plain import plain

if TYPE_CHECKING:
    from tracker.watchlists import WatchedAddress

app = typer.Typer(
    name="entity",
    help="One actor's addresses across venues (watchlist `entity`).",
    no_args_is_help=False,
)


def _entries() -> list[WatchedAddress]:
    """Every watchlist's entries, merged as every command merges them."""
    from tracker import watchlists

    return watchlists.merge(watchlists.load_all(watchlists.watchlists_dir(environment())))


@app.command("list")
def list_entities() -> None:
    """Entities named in the watchlists, with their number of addresses."""
    from tracker.output import entity

    for name, count in entity.entities(_entries()).items():
        shown = f"{plain(name)}  ({count} address{'es' if count != 1 else ''})"
        out.print(shown, highlight=False, markup=False)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Entity name, as in the watchlists (any case).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: Annotated[Path | None, typer.Option("--db", help="DuckDB file.")] = None,
) -> None:
    """Total notional, net exposure per asset and the nearest liquidation across venues."""
    from tracker.output import entity

    members = entity.entity_addresses(_entries(), name)
    view = entity.entity_view(settings_for(db).db_path, name, members)
    if as_json:
        sys.stdout.write(orjson.dumps(view, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    _render(view)


def _dec(value: Any) -> Any:
    from decimal import Decimal

    return None if value is None else Decimal(str(value))


def _render(view: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    from tracker.output.terminal import danger_style, fmt, fmt_px

    out.print(
        Text.assemble(
            ("entity ", "bold"),
            (plain(view["entity"]), "magenta"),
            f"  {len(view['addresses'])} addresses, as of {view['as_of']}",
        )
    )
    summary = Table(show_header=False, pad_edge=False)
    summary.add_row("total notional $", fmt(_dec(view["total_notional_usd"]), 0))
    for venue, value in view["notional_usd_by_venue"].items():
        summary.add_row(f"  {venue}", fmt(_dec(value), 0))
    summary.add_row("account value $", fmt(_dec(view["account_value_usd"]), 0))
    out.print(summary)
    exposure = Table(title="Net exposure", title_justify="left", pad_edge=False)
    exposure.add_column("asset")
    exposure.add_column("USD", justify="right")
    for asset, value in view["net_exposure_usd"].items():
        exposure.add_row(asset, fmt(_dec(value), 0))
    out.print(exposure)
    nearest = view["nearest_liquidation"]
    if nearest:
        distance = _dec(nearest["distance_to_liq_pct"])
        out.print(
            Text.assemble(
                "nearest liquidation: ",
                (f"{nearest['venue']} {nearest['coin']} {nearest['side']}", "bold"),
                f" of {nearest['address']} at {fmt_px(_dec(nearest['liquidation_px']))} (mark "
                f"{fmt_px(_dec(nearest['mark_px']))}), ",
                (f"{fmt(distance, 2)}% away", danger_style(distance)),
            )
        )
    else:
        out.print("no position with a liquidation price", style="dim")
