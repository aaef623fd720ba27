"""The benchmark scripts still start: docs/benchmarks.md and docs/hardening.md quote their figures.

Each script imports everything it uses at the top, so `--help` fails on a broken import (as
bench/book.py once did). No figure is timed or asserted here; bench/ measures, tests do not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((REPO / "bench").glob("*.py"))


def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_bench_script_is_covered() -> None:
    assert {s.name for s in SCRIPTS} >= {"book.py", "live.py", "snapshot.py", "soak.py"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_bench_script_imports_and_answers_help(script: Path) -> None:
    done = run(script, "--help")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("usage: "), done.stdout[:500]
    assert "Traceback" not in done.stderr


def test_book_bench_runs_and_agrees_with_the_exact_path() -> None:
    done = run(REPO / "bench" / "book.py", "--accounts", "60", "--updates", "3", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    doc = json.loads(done.stdout)
    assert doc["machine"]["cores"] >= 1 and "numpy" in doc["machine"]
    [result] = doc["results"]
    assert result["accounts"] == 60 and result["updates"] == 3 and result["positions"] >= 60
    agreement = result["agreement"]
    assert agreement["accounts"] == 60 and agreement["none_mismatches"] == 0
    assert agreement["liq_px_max_rel_err"] < 1e-9  # the float64 book against exact Decimal
