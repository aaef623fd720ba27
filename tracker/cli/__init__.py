"""The `tracker` command: typer commands only, each a parse, Settings, one library call into
`tracker.app` (or the read side in `tracker.output`) and a render. May import every layer.
`main` is the console-script entry point (`tracker = "tracker.cli:main"`).
"""

from tracker.cli.commands import app, main

__all__ = ["app", "main"]
