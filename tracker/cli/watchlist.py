"""`tracker watchlist`: list, show, add and remove watched addresses (parse -> one call -> render).

Errors are `WatchlistError` (a `BadInput`); the main CLI turns them into one line and exit 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from tracker.config import environment
from tracker.plain import plain

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from tracker.watchlists import Watchlist

app = typer.Typer(
    name="watchlist",
    help="Watchlists: labelled addresses with sources and confidence tiers (TOML files).",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=False,
)

DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="Watchlists folder (default: $TRACKER_WATCHLISTS_DIR, else ./watchlists, "
        "else the one shipped with tracker).",
    ),
]
NameArgument = Annotated[
    str, typer.Argument(help="Watchlist name (a file NAME.toml in the folder) or a .toml path.")
]


def _folder(directory: Path | None) -> Path:
    from tracker import watchlists

    env = environment()  # read even with --dir: a private key in it is refused by every command
    return watchlists.watchlists_dir(env) if directory is None else directory.expanduser()


def _console() -> Console:
    # Made per call, not at import: rich reads the terminal width when a Console is created.
    from rich.console import Console

    return Console(highlight=False)


@app.command("list")
def list_(directory: DirOption = None) -> None:
    """List the watchlists in the folder: name, entries, description."""
    from rich.table import Table
    from rich.text import Text

    from tracker import watchlists

    folder = _folder(directory)
    found = watchlists.load_all(folder)
    if not found:
        _console().print(f"no watchlists in {folder}", markup=False, soft_wrap=True)
        return
    table = Table("name", "entries", "description", title=Text(str(folder)), title_justify="left")
    for watchlist in found:
        table.add_row(
            Text(watchlist.name), str(len(watchlist.entries)), Text(watchlist.description or "")
        )
    _console().print(table)


@app.command()
def show(
    name: NameArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    directory: DirOption = None,
) -> None:
    """Show every entry of watchlist NAME."""
    from tracker import watchlists

    watchlist = watchlists.load(watchlists.resolve(name, _folder(directory)))
    if as_json:
        sys.stdout.write(
            orjson.dumps(watchlist_json(watchlist), option=orjson.OPT_INDENT_2).decode()
        )
        sys.stdout.write("\n")
        return
    _console().print(watchlist_table(watchlist))


@app.command()
def add(
    name: NameArgument,
    address: Annotated[str, typer.Argument(help="Address to watch, 0x + 40 hex digits.")],
    label: Annotated[str, typer.Option("--label", help="Who or what it is.")],
    venue: Annotated[
        list[str] | None,
        typer.Option(
            "--venue", help="hyperliquid or ethereum; repeat for both (default hyperliquid)."
        ),
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag; repeatable.")] = None,
    entity: Annotated[
        str | None, typer.Option("--entity", help="Actor this address belongs to.")
    ] = None,
    confidence: Annotated[
        str | None, typer.Option("--confidence", help="Attribution tier: A, B, B- or C.")
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="Where the attribution comes from (URL); repeatable."),
    ] = None,
    directory: DirOption = None,
) -> None:
    """Add ADDRESS to watchlist NAME (the file is created if missing)."""
    from tracker import watchlists

    path = watchlists.resolve(name, _folder(directory))
    watchlist = watchlists.add(
        path,
        address=address,
        label=label,
        venues=venue or (),
        tags=tag or (),
        entity=entity,
        confidence=confidence,
        sources=source or (),
    )
    entry = watchlist.entries[-1]
    _console().print(
        f"added {entry.address} ({plain(entry.label)}) to {path}: {len(watchlist.entries)} entries",
        markup=False,
        soft_wrap=True,
    )


@app.command()
def remove(
    name: NameArgument,
    address: Annotated[str, typer.Argument(help="Address to stop watching.")],
    directory: DirOption = None,
) -> None:
    """Remove ADDRESS (and the comment directly above it) from watchlist NAME."""
    from tracker import watchlists

    path = watchlists.resolve(name, _folder(directory))
    watchlist = watchlists.remove(path, address)
    _console().print(
        f"removed {address.strip().lower()} from {path}: {len(watchlist.entries)} entries",
        markup=False,
        soft_wrap=True,
    )


def watchlist_json(watchlist: Watchlist) -> dict[str, Any]:
    """The JSON document of `tracker watchlist show --json`."""
    return {
        "name": watchlist.name,
        "path": str(watchlist.path),
        "description": watchlist.description,
        "interval_s": watchlist.interval_s,
        "entries": [
            {
                "address": e.address,
                "label": e.label,
                "venues": list(e.venues),
                "tags": list(e.tags),
                "entity": e.entity,
                "confidence": e.confidence,
                "sources": list(e.sources),
            }
            for e in watchlist.entries
        ],
    }


def watchlist_table(watchlist: Watchlist) -> Table:
    """A rich table of the entries of one watchlist."""
    from rich.table import Table
    from rich.text import Text

    title = f"{watchlist.name}: {len(watchlist.entries)} entries"
    if watchlist.interval_s is not None:
        title += f", every {watchlist.interval_s:g}s"
    caption = Text(watchlist.description) if watchlist.description else None
    table = Table(title=Text(title), title_justify="left", caption=caption)
    table.add_column("address", no_wrap=True, min_width=42)
    for column in ("label", "venues", "tags", "entity"):
        table.add_column(column)
    table.add_column("confidence", justify="center")
    table.add_column("sources", justify="right")
    for e in watchlist.entries:
        # Text, not str: a label such as "[bold]" must not be read as rich markup.
        table.add_row(
            e.address,
            Text(plain(e.label)),
            ", ".join(e.venues),
            Text(plain(", ".join(e.tags))),
            Text(plain(e.entity or "")),
            e.confidence or "",
            str(len(e.sources)),
        )
    return table
