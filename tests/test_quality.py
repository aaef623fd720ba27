"""Standing checks: lint, strict typing, and every command documented in the README."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tracker.cli.commands import app

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, check=False
    )


def test_ruff_lint_and_format():
    lint = _run("ruff", "check", "tracker", "tests", "bench")
    assert lint.returncode == 0, lint.stdout
    fmt = _run("ruff", "format", "--check", "tracker", "tests", "bench")
    assert fmt.returncode == 0, fmt.stdout


def test_mypy_strict():
    result = _run("mypy")
    assert result.returncode == 0, result.stdout


def _commands() -> list[str]:
    names = []
    for command in app.registered_commands:
        names.append(command.name or command.callback.__name__)  # type: ignore[union-attr]
    for group in app.registered_groups:
        sub = group.typer_instance
        names.extend(
            f"{group.name} {c.name or c.callback.__name__}"  # type: ignore[union-attr]
            for c in sub.registered_commands
        )
    return names


def test_every_command_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text()
    commands = _commands()
    assert "watch" in commands and "query" in commands
    for name in commands:
        assert re.search(rf"tracker {re.escape(name)}\b", readme), f"README lacks 'tracker {name}'"


def test_every_env_variable_is_in_env_example_and_readme():
    source = "\n".join(p.read_text() for p in (REPO / "tracker").rglob("*.py"))
    used = set(re.findall(r'"(TRACKER_[A-Z0-9_]+)"', source)) - {"TRACKER_ENV_FILE"}
    example = (REPO / ".env.example").read_text()
    readme = (REPO / "README.md").read_text()
    assert used, "settings read TRACKER_* variables"
    for name in sorted(used):
        assert name in example, f".env.example lacks {name}"
        assert name in readme, f"README lacks {name}"


def test_ci_runs_exactly_the_readme_test_command():
    ci = [
        line
        for line in (REPO / ".ci/run").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd "))
    ]
    assert len(ci) == 1
    assert f"```sh\n{ci[0]}\n```" in (REPO / "README.md").read_text()
