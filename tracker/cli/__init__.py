"""The `tracker` command: typer commands only, each a parse, Settings, one library call into
`tracker.app` (or the read side in `tracker.output`) and a render. May import every layer.
`console` is the console-script entry point (`tracker = "tracker.cli:console"`), `main` the
same for in-process callers (it ends in SystemExit).
"""

from tracker.cli.commands import app, console, main

__all__ = ["app", "console", "main"]
