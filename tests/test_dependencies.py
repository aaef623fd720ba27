"""Dependencies: requirements.lock pins every runtime dependency, and pip-audit finds no known
vulnerability in those pins.

The lock is the transitive closure of pyproject's runtime dependencies as installed in the
environment that ran this, one exact `name==version` per line (no dev tools). Regenerate it
after a dependency change:

    .venv/bin/python -m tests.test_dependencies > requirements.lock

The audit asks PyPI (pip-audit's default vulnerability service: the JSON API per release) and
fails on any known vulnerability, and on any pin it could not audit: pip-audit itself reports
"No known vulnerabilities found" with exit 0 when it could audit nothing at all. When no pin at
all could be audited (no network, or a registry mirror without the per-release JSON API), the
test is skipped, saying so.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"
HEADER = (
    "# Runtime dependencies of tracker, pinned as tested (transitive, no dev tools).\n"
    "# Regenerate: .venv/bin/python -m tests.test_dependencies > requirements.lock\n"
    "# Audited by tests/test_dependencies.py (pip-audit -r requirements.lock).\n"
)


def runtime_requirements() -> list[Requirement]:
    """The [project] dependencies of pyproject.toml."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]]


def installed_closure() -> dict[str, str]:
    """Canonical name -> installed version of every runtime dependency, transitively."""
    pinned: dict[str, str] = {}
    todo = runtime_requirements()
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in pinned:
            continue
        dist = distribution(req.name)
        pinned[name] = dist.version
        todo.extend(Requirement(r) for r in dist.requires or ())
    return dict(sorted(pinned.items()))


def lock_text() -> str:
    return HEADER + "".join(f"{name}=={version}\n" for name, version in installed_closure().items())


def read_lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version, f"not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def test_the_lock_pins_every_runtime_dependency_within_pyproject() -> None:
    pins = read_lock()
    for req in runtime_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is a dependency but not in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside pyproject's {req}"
        )
    assert "pytest" not in pins and "pip-audit" not in pins  # runtime only


def test_no_known_vulnerability_in_the_locked_dependencies(tmp_path: Path) -> None:
    try:
        distribution("pip-audit")
    except PackageNotFoundError:
        pytest.fail("pip-audit is not installed: pip install -e '.[dev]'")
    report = tmp_path / "audit.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--requirement",
            str(LOCK),
            "--no-deps",  # the lock is already the full closure
            "--disable-pip",  # audit the pins; do not install them into a scratch venv
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--output",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if not report.exists():
        pytest.fail(f"pip-audit failed ({done.returncode}): {done.stderr[-2000:]}")
    deps = json.loads(report.read_text())["dependencies"]
    vulnerable = {
        f"{d['name']}=={d['version']}": [v["id"] for v in d["vulns"]]
        for d in deps
        if d.get("vulns")
    }
    assert not vulnerable, f"known vulnerabilities: {vulnerable}"
    skipped = {d["name"]: d["skip_reason"] for d in deps if "skip_reason" in d}
    if skipped and len(skipped) == len(deps):
        pytest.skip(
            f"no pin could be audited ({next(iter(skipped.values()))}): the vulnerability "
            "service is unreachable from here"
        )
    assert not skipped, f"not audited: {skipped}"
    assert done.returncode == 0, done.stderr[-2000:]


if __name__ == "__main__":
    sys.stdout.write(lock_text())
