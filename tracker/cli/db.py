"""`tracker db`: the DuckDB file itself (its storage format)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracker.cli.common import out, settings_for

app = typer.Typer(
    name="db",
    help="The DuckDB file itself.",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command("compat")
def compat(
    db: Annotated[Path | None, typer.Option("--db", help="DuckDB file.")] = None,
) -> None:
    """Rewrite the database in the storage format DuckDB 1.x clients read; keep the original."""
    from tracker.store.compat import rewrite_compatible

    done = rewrite_compatible(settings_for(db).db_path)
    if done.backup is None:
        out.print(
            f"{done.path} is in DuckDB's {done.after} storage format already: nothing to do",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return
    out.print(
        f"rewrote {done.path} from DuckDB's {done.before} storage format to {done.after}, "
        f"which DuckDB 1.x clients read; the original is kept as {done.backup}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
