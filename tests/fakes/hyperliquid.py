"""The fake venue of the tests: the package's replay server (tracker/replay) seeded from the
shared fixtures, and a CLI to serve it by hand.

`FakeHyperliquid` is `tracker.replay.server.ReplayServer` (state, scripting, answers, faults, the
WebSocket and the leaderboard) plus `seeded()`, which loads ../shared/fixtures (seed.py; the
snapshot and directory formats are in loaders.py). Fixtures stay out of the wheel, so this part
stays here.

Standalone: `python -m tests.fakes.hyperliquid --port 8080 [--state FILE.json] [--dir DIR]`
(see `main`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

import orjson

from tracker.replay.server import ReplayServer, reset_connection

from . import loaders, seed

__all__ = ["FakeHyperliquid", "main", "reset_connection"]


class FakeHyperliquid(ReplayServer):
    """The replay server with the shared fixtures at hand; `url` is its base URL while running."""

    @classmethod
    def seeded(cls, *, normalise: bool = False, stall_seconds: float = 30.0) -> FakeHyperliquid:
        """A fake holding the shared fixtures (addresses in `seed.SEEDED_ACCOUNTS`)."""
        fake = cls(stall_seconds=stall_seconds)
        seed.seed_from_fixtures(fake, normalise=normalise)
        return fake


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeHyperliquid(stall_seconds=args.stall_seconds)
    if not args.empty:
        seed.seed_from_fixtures(fake, normalise=args.normalise)
    for directory in args.dir:
        loaders.load_directory(fake, directory, normalise=args.normalise)
    if args.state is not None:
        loaders.load_snapshot(fake, orjson.loads(args.state.read_bytes()), normalise=args.normalise)
    url = await fake.start(args.host, args.port)
    print(f"fake Hyperliquid on {url}/info ({len(fake.users())} accounts)")
    if not args.empty:
        for user, what in seed.SEEDED_ACCOUNTS.items():
            print(f"  {user}  {what}")
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    """CLI: serve the fake until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.hyperliquid", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--state", type=Path, help="JSON snapshot file (format: tests/fakes/loaders.py)"
    )
    parser.add_argument(
        "--dir", type=Path, action="append", default=[], help="directory of recorded answers"
    )
    parser.add_argument("--empty", action="store_true", help="do not seed the shared fixtures")
    parser.add_argument(
        "--normalise", action="store_true", help="turn stringified integers into numbers"
    )
    parser.add_argument("--stall-seconds", type=float, default=30.0)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
