"""Start-up: a command imports only what it uses (bench/startup.py measures the time).

Checked in a fresh interpreter through sys.modules, not with a clock: `import tracker.cli`,
`tracker --help` and `tracker query --list` load none of the network, numeric, chain, drawing or
database libraries, nor the daemon and the live engine; nor does reading the settings load pydantic.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "aiohttp",
    "numpy",
    "web3",
    "eth_abi",
    "matplotlib",
    "duckdb",
    "asyncio",
    "tomlkit",
    "pydantic",  # typer 0.29+ imports it to coerce options: pyproject keeps typer below
    "tracker.app",
    "tracker.app.live.engine",
    "tracker.app.daemon",
    "tracker.risk.live",
    "tracker.sources",
    "tracker.store.db",
)

PROBE = """
import json, sys
argv = {argv!r}
if argv:
    sys.argv = argv
    from tracker.cli import main
    try:
        main()
    except SystemExit:
        pass
else:
    import tracker.cli
sys.stdout.flush()
sys.stderr.write("LOADED " + json.dumps(sorted(sys.modules)) + "\\n")
"""


def loaded(argv: list[str], tmp_path: Path) -> set[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "TRACKER_ENV_FILE": str(tmp_path / "none.env"),
        "TRACKER_DB": str(tmp_path / "tracker.duckdb"),
        "COLUMNS": "120",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED "))
    modules = set(json.loads(line.removeprefix("LOADED ")))
    assert "tracker.cli" in modules  # the probe did import the CLI
    return modules


@pytest.mark.parametrize(
    "argv",
    [[], ["tracker", "--help"], ["tracker", "query", "--list"]],
    ids=["import tracker.cli", "tracker --help", "tracker query --list"],
)
def test_a_light_command_imports_nothing_heavy(argv: list[str], tmp_path: Path):
    modules = loaded(argv, tmp_path)
    assert sorted(m for m in HEAVY if m in modules) == []


def test_reading_the_settings_imports_no_pydantic(tmp_path: Path):
    """Every setting read and checked: tracker/config.py is hand-rolled for start-up."""
    probe = (
        "import sys\n"
        "from tracker.config import Settings\n"
        "Settings.from_env()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))"
    )
    env = {"PATH": "/usr/bin:/bin", "TRACKER_ENV_FILE": str(tmp_path / "none.env")}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "[]"


def test_the_probe_sees_a_heavy_import(tmp_path: Path):
    """The check can fail: a command that needs DuckDB loads it."""
    modules = loaded(["tracker", "query", "select 42"], tmp_path)
    assert "duckdb" in modules and "tracker.store.db" in modules
