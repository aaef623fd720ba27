"""What every command module shares: the consoles, the --db option, Settings for a command."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from tracker.config import Settings

if TYPE_CHECKING:
    from rich.console import Console


class _LazyConsole:
    """A rich Console made on first use: importing rich costs a command that prints JSON, or
    nothing, about 16 ms of start-up."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def made(self) -> Console:
        """The Console itself, made now if not yet."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.made(), name)


out = cast("Console", _LazyConsole(stderr=False))
err = cast("Console", _LazyConsole(stderr=True))


def real(console: Console) -> Console:
    """The rich Console behind `out` or `err`, for rich objects that need the Console itself: a
    `Live` enters its console as a context manager, which a stand-in forwarding attributes
    cannot be (Python looks special methods up on the type)."""
    return console.made() if isinstance(console, _LazyConsole) else console


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
