"""Contract artifacts for the chain tests, built from node_modules and cached outside the repo.

Aave v3 (BUSL-1.1) is compiled from `@aave-dao/aave-v3-origin` by `compile_aave.mjs` (solc-js) once
per content hash and cached in CHAIN_HARNESS_CACHE (default ~/.cache/tracker-tests/chain). The cache
lives outside git on purpose: Aave's licence forbids committing the compiled code, and
`npm ci` wipes node_modules, so a cache there would be rebuilt on every run.
"""

import functools
import hashlib
import json
import logging
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import CompileError
from .npm import REPO_ROOT, node_binary, package_version

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
COMPILE_SCRIPT = HERE / "compile_aave.mjs"
COMPILE_TIMEOUT_S = 600  # ~17 s on a 2-core box; generous for a loaded CI runner
# Packages whose sources or compiler end up in the artifacts: a version change busts the cache.
_COMPILE_INPUTS = (
    "@aave-dao/aave-v3-origin",
    "@bgd-labs/solidity-utils",
    "@openzeppelin/contracts",
    "@openzeppelin/contracts-upgradeable",
    "solc",
)

Artifact = dict[str, Any]  # {"abi": [...], "bytecode": "<hex>", "linkReferences": {...}}


def cache_dir() -> Path:
    """Where compiled artifacts are kept between runs (CHAIN_HARNESS_CACHE overrides)."""
    override = os.environ.get("CHAIN_HARNESS_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tracker-tests" / "chain"


def _cache_key() -> str:
    digest = hashlib.sha256()
    for name in _COMPILE_INPUTS:
        digest.update(f"{name}@{package_version(name)}\n".encode())
    for path in [COMPILE_SCRIPT, *sorted((HERE / "contracts").glob("*.sol"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Serialise compiles across processes (pytest-xdist workers), where flock exists."""
    try:
        import fcntl
    except ImportError:  # Windows: a duplicate compile is wasted time, not a wrong result
        yield
        return
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _compile(target: Path) -> None:
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [node_binary(), str(COMPILE_SCRIPT), str(tmp)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=COMPILE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CompileError(f"solc-js compile exceeded {COMPILE_TIMEOUT_S} s") from exc
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise CompileError(f"compile_aave.mjs failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    os.replace(tmp, target)  # atomic: readers never see a half-written file
    log.info("compiled Aave artifacts in %.1f s -> %s", time.monotonic() - started, target)


@functools.cache  # parsed once per process; callers must not mutate the result
def aave_artifacts() -> dict[str, Artifact]:
    """Aave v3.6 + mock contracts by name, compiling them first if the cache has no copy."""
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"aave-v3-origin-{_cache_key()}.json"
    if not target.is_file():
        with _exclusive(directory / ".compile.lock"):
            if not target.is_file():  # another worker may have finished while we waited
                _compile(target)
    contracts: dict[str, Artifact] = json.loads(target.read_text(encoding="utf-8"))["contracts"]
    return contracts


def link(artifact: Artifact, libraries: Mapping[str, str]) -> str:
    """Creation bytecode with every library placeholder replaced by its deployed address."""
    code: str = artifact["bytecode"]
    for refs in artifact["linkReferences"].values():
        for lib, spots in refs.items():
            address = libraries[lib].lower().removeprefix("0x")
            for spot in spots:
                start = 2 * spot["start"]  # offsets are in bytes, the string is hex
                code = code[:start] + address + code[start + 2 * spot["length"] :]
    return "0x" + code


def library_order(artifacts: Mapping[str, Artifact], roots: list[str]) -> list[str]:
    """Libraries `roots` link against, dependencies first (FlashLoanLogic needs BorrowLogic)."""
    order: list[str] = []

    def visit(name: str) -> None:
        for refs in artifacts[name]["linkReferences"].values():
            for lib in refs:
                if lib not in order:
                    visit(lib)
                    order.append(lib)

    for root in roots:
        visit(root)
    return order
