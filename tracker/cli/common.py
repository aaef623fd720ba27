"""What every command module shares: the consoles, the --db option, Settings for a command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tracker.config import Settings

out = Console()
err = Console(stderr=True)


DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db", help="DuckDB file (default: $TRACKER_DB or ~/.local/share/tracker/tracker.duckdb)."
    ),
]


def settings_for(db: Path | None) -> Settings:
    """Settings from the environment, with --db taking precedence (logging: the root callback)."""
    settings = Settings.from_env()
    if db is not None:
        from dataclasses import replace

        settings = replace(settings, db_path=db.expanduser())
    return settings
