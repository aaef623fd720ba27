"""Shared fixtures: the fake Hyperliquid server, temporary DuckDB files, the CLI as a subprocess."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.alert_receiver import alert_receiver  # noqa: F401  (fixture)
from tests.chain.fixtures import aave, aave_market, anvil, chain  # noqa: F401  (fixtures)
from tests.fakes.fixtures import hl_fake  # noqa: F401  (fixture)

# The tests stop the CLI with SIGINT, as Ctrl-C does. A suite started as a background job of a
# shell without job control (`pytest &`, nohup) inherits SIGINT ignored, and so would every CLI
# it starts: `tracker watch` would then never stop. Ignoring is only inherited; a handler is not.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class CliResult:
    """Exit code and output of one `tracker` run."""

    code: int
    stdout: str
    stderr: str


def tracker_env(api_url: str, db: Path, **extra: str) -> dict[str, str]:
    """A clean environment pointing the tracker at a local venue and a temporary DB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(
        {
            "TRACKER_HL_API_URL": api_url,
            "TRACKER_DB": str(db),
            "TRACKER_HTTP_RETRIES": "2",
            "TRACKER_HTTP_TIMEOUT": "5",
            "TRACKER_FOLLOW_LIQUIDATORS": "0",  # on in the liquidation tests, which count on it
            "TRACKER_ENV_FILE": str(db.parent / "no.env"),
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
    )
    env.update(extra)
    return env


async def start_cli(
    *args: str, env: Mapping[str, str], quiet: bool = False
) -> asyncio.subprocess.Process:
    """Start `python -m tracker ARGS` as a real process: output piped, or dropped when quiet."""
    output = asyncio.subprocess.DEVNULL if quiet else asyncio.subprocess.PIPE
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tracker",
        *args,
        env=dict(env),
        cwd=str(REPO),
        stdout=output,
        stderr=output,
    )


async def run_cli(*args: str, env: Mapping[str, str], timeout: float = 60) -> CliResult:
    """Run `python -m tracker ARGS` as a real process (the fake keeps serving meanwhile)."""
    proc = await start_cli(*args, env=env)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return CliResult(proc.returncode, out.decode(), err.decode())


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Path of a DuckDB file that does not exist yet."""
    return tmp_path / "tracker.duckdb"
