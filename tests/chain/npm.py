"""Find the dev-only npm packages (package.json at the repo root) that the chain tests run on."""

import json
import os
import platform
import shutil
import sys
from pathlib import Path

from .errors import ToolMissing

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_HINT = "run `npm ci --no-audit --no-fund` in the repo root"

# npm names the per-platform anvil packages after Go-style arch names.
_ANVIL_PLATFORMS = {
    ("linux", "x86_64"): "linux-amd64",
    ("linux", "aarch64"): "linux-arm64",
    ("darwin", "x86_64"): "darwin-amd64",
    ("darwin", "arm64"): "darwin-arm64",
    ("win32", "AMD64"): "win32-amd64",
}


def node_modules() -> Path:
    """The repo's node_modules directory, or ToolMissing if npm has not installed it."""
    path = REPO_ROOT / "node_modules"
    if not path.is_dir():
        raise ToolMissing(f"{path} is missing: {INSTALL_HINT}")
    return path


def package_dir(name: str) -> Path:
    """Directory of the installed npm package `name` (e.g. "@aave-dao/aave-v3-origin")."""
    path = node_modules() / name
    if not (path / "package.json").is_file():
        raise ToolMissing(f"npm package {name} is not installed: {INSTALL_HINT}")
    return path


def package_version(name: str) -> str:
    """Installed version of an npm package, read from its package.json."""
    meta = json.loads((package_dir(name) / "package.json").read_text(encoding="utf-8"))
    return str(meta["version"])


def anvil_binary() -> Path:
    """The native anvil binary; the npm shim in node_modules/.bin needs node, so it is bypassed.

    npm 11 skips install scripts, but the binary still arrives as an optional dependency.
    ANVIL_BIN overrides the lookup (e.g. a foundryup install).
    """
    override = os.environ.get("ANVIL_BIN")
    if override:
        return Path(override)
    suffix = _ANVIL_PLATFORMS.get((sys.platform, platform.machine()))
    if suffix is None:
        raise ToolMissing(f"no @foundry-rs/anvil build for {sys.platform}/{platform.machine()}")
    exe = "anvil.exe" if sys.platform == "win32" else "anvil"
    path = package_dir(f"@foundry-rs/anvil-{suffix}") / "bin" / exe
    if not path.is_file():
        raise ToolMissing(f"{path} is missing: {INSTALL_HINT}")
    return path


def node_binary() -> str:
    """Path of the `node` executable (used to run solc-js)."""
    node = shutil.which("node")
    if node is None:
        raise ToolMissing("`node` is not on PATH; the Aave artifacts are compiled with solc-js")
    return node
