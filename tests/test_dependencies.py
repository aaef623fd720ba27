"""Dependencies: the locks pin every dependency with hashes, this environment is exactly the dev
lock, and pip-audit finds no known vulnerability in the pins.

Two locks, written by `bash .ci/lock` (uv pip compile with hashes) from pyproject.toml:
- requirements.lock: the runtime closure plus the build backend, installed by the README's first
  command (`pip install --no-deps --require-hashes -r requirements.lock`);
- requirements-dev.lock: the same pins plus the dev tools, the SDK used as the benchmark baseline
  and the DuckDB CLI, installed by the test command and `.ci/run`.
`--no-deps` makes pip install exactly the lock and resolve nothing, so a release on the registry
the day a machine is set up changes nothing. Refresh after a dependency change: `bash .ci/lock`
(`--upgrade` or `--upgrade-package NAME` to move pins).

The audit asks PyPI (pip-audit's default vulnerability service: the JSON API per release) and
fails on any known vulnerability, and on any pin it could not audit: pip-audit itself reports
"No known vulnerabilities found" with exit 0 when it could audit nothing at all. When no pin at
all could be audited (no network, or a registry mirror without the per-release JSON API), the
test is skipped, saying so.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution, distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"
DEV_LOCK = REPO / "requirements-dev.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")
# Seeded by `python3 -m venv` itself, not by any install step of ours.
_VENV_SEED = {"setuptools"}


def read_lock(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """Canonical name -> (version, sha256 hashes) of a hashed lock file."""
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    name = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if pin := _PIN.match(stripped):
            name = canonicalize_name(pin[1])
            assert name not in pins, f"{path.name}: {name} pinned twice"
            pins[name] = (pin[2], frozenset())
        else:
            assert name and stripped.startswith("--hash="), f"{path.name}: not a pin: {line!r}"
        hashes = frozenset(_HASH.findall(stripped))
        pins[name] = (pins[name][0], pins[name][1] | hashes)
    return pins


def project() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]  # type: ignore[no-any-return]


def requirements(extra: str | None = None) -> list[Requirement]:
    """pyproject's runtime dependencies, or those of one optional extra."""
    meta = project()
    raw = meta["dependencies"] if extra is None else meta["optional-dependencies"][extra]  # type: ignore[index]
    return [Requirement(r) for r in raw]  # type: ignore[union-attr]


def installed_closure(roots: list[Requirement]) -> set[str]:
    """Canonical names of every installed distribution the roots need, transitively."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        todo.extend(Requirement(r) for r in distribution(req.name).requires or ())
    return seen


def test_every_pin_is_exact_and_hashed() -> None:
    for path in (LOCK, DEV_LOCK):
        pins = read_lock(path)
        assert len(pins) > 20, f"{path.name} looks empty"
        unhashed = [name for name, (_, hashes) in pins.items() if not hashes]
        assert not unhashed, f"{path.name}: pins without a hash: {unhashed}"


def test_the_runtime_lock_is_the_dev_lock_restricted() -> None:
    runtime, dev = read_lock(LOCK), read_lock(DEV_LOCK)
    differ = {name: pin for name, pin in runtime.items() if dev.get(name) != pin}
    assert not differ, f"pinned otherwise (or hashed otherwise) in requirements-dev.lock: {differ}"
    assert "pytest" not in runtime and "pip-audit" not in runtime  # runtime only
    assert {"hatchling", "editables"} <= set(runtime), "the editable build needs its backend"


def test_the_locks_pin_every_dependency_within_pyproject() -> None:
    runtime, dev = read_lock(LOCK), read_lock(DEV_LOCK)
    everything = requirements() + requirements("dev")
    checks = ((runtime, requirements(), LOCK.name), (dev, everything, DEV_LOCK.name))
    for lock, reqs, name_of_lock in checks:
        for req in reqs:
            name = canonicalize_name(req.name)
            assert name in lock, f"{req.name} is a dependency but not in {name_of_lock}"
            assert req.specifier.contains(lock[name][0], prereleases=True), (
                f"{name_of_lock} pins {name}=={lock[name][0]}, outside pyproject's {req}"
            )
    # The runtime closure, as this environment's metadata resolves it, is all in the runtime lock.
    missing = installed_closure(requirements()) - set(runtime)
    assert not missing, f"runtime dependencies missing from requirements.lock: {sorted(missing)}"


def test_this_environment_is_exactly_the_dev_lock() -> None:
    """What the test command installed is the lock, version for version, and nothing else."""
    dev = read_lock(DEV_LOCK)
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    wrong = {n: (v, installed.get(n)) for n, (v, _) in dev.items() if installed.get(n) != v}
    assert not wrong, (
        f"installed versions differ from requirements-dev.lock (lock, installed): {wrong}"
    )
    extra = set(installed) - set(dev) - _VENV_SEED - {"tracker"}
    assert not extra, f"installed but not locked: {sorted(extra)}"


def test_no_known_vulnerability_in_the_locked_dependencies(tmp_path: Path) -> None:
    try:
        distribution("pip-audit")
    except PackageNotFoundError:
        pytest.fail("pip-audit is not installed: run the README's test command")
    report = tmp_path / "audit.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--requirement",
            str(DEV_LOCK),
            "--no-deps",  # the lock is already the full closure (and carries hashes)
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
