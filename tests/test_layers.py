"""The import rule: layers as folders, arrows only point down.

    cli -> app -> web -> output | alerts -> store -> records | net -> base
           app -> sources -> records | net;   output, alerts -> risk -> records
           app -> replay -> base   (the demo's venue: wire shapes of its own, no tracker parsing)

Every import of a `tracker` module anywhere in tracker/ (module level or inside a function) is
checked. A module may import its own layer and the layers its row allows below it; `base` is the
modules at the top of the package (errors, config, addresses, resources, logs, redact, atomic,
times, percentiles, venues, jsonable, watchlists), which everyone may import and which import
only each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tracker"

# layer -> the layers it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "base": set(),
    "records": {"base"},
    "net": {"base"},
    "risk": {"records", "base"},
    "sources": {"records", "net", "base"},
    "store": {"records", "net", "base"},
    "alerts": {"store", "risk", "records", "net", "base"},
    "output": {"store", "risk", "records", "net", "base"},
    "web": {"output", "alerts", "store", "risk", "records", "net", "base"},
    "replay": {"base"},
    "app": {
        "replay",
        "web",
        "output",
        "alerts",
        "store",
        "sources",
        "risk",
        "records",
        "net",
        "base",
    },
    "cli": {
        "app",
        "replay",
        "web",
        "output",
        "alerts",
        "store",
        "sources",
        "risk",
        "records",
        "net",
        "base",
    },
    "main": {"cli"},
}
FOLDERS = set(ALLOWED) - {"base", "main"}  # the layers that are folders of tracker/


def layer_of(module: str) -> str:
    """The layer of a dotted module name under `tracker`."""
    parts = module.split(".")
    assert parts[0] == "tracker", module
    if len(parts) == 1:
        return "base"  # the package itself (its __version__)
    if parts[1] in FOLDERS:
        return parts[1]
    if parts[1] == "__main__":
        return "main"
    return "base"


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(text: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """Every `tracker...` module a source text imports, at any depth (functions included)."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names if a.name.startswith("tracker"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target == "tracker" or target.startswith("tracker."):
                # `from tracker.x import y` may name a module y: its layer is that of tracker.x.y
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    where = PACKAGE.parent / sub.replace(".", "/")
                    is_module = where.with_suffix(".py").exists() or where.is_dir()
                    found.append((node.lineno, sub if is_module else target))
    return found


def wrong_way(text: str, module: str, is_package: bool = False) -> list[str]:
    """The imports of one module that point up or sideways, as 'line: target (layer)'."""
    here = layer_of(module)
    bad = []
    for line, target in imported(text, module, is_package):
        there = layer_of(target)
        if there != here and there not in ALLOWED[here]:
            bad.append(f"{line}: ({here}) imports {target} ({there})")
    return bad


def violations() -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        rel = path.relative_to(PACKAGE.parent)
        found = wrong_way(path.read_text(), module, path.name == "__init__.py")
        bad.extend(f"{rel}:{entry}" for entry in found)
    return bad


def test_arrows_only_point_down():
    assert violations() == []


def test_every_layer_folder_says_what_it_owns_and_may_import():
    for folder in sorted(FOLDERS):
        init = PACKAGE / folder / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc, f"{init} has no docstring"
        assert "import" in doc, f"{init}'s docstring does not say what it may import"


def test_the_rule_catches_a_wrong_way_import():
    """The walk sees imports inside functions and relative ones; upward ones are reported."""
    probe = (
        "from tracker.records import Fill\n"
        "from tracker import errors\n"
        "def f():\n"
        "    from tracker.app.runner import Watched\n"
        "    import tracker.cli.commands\n"
        "    from ..output import terminal\n"
    )
    assert wrong_way(probe, "tracker.store.probe") == [
        "4: (store) imports tracker.app.runner (app)",
        "5: (store) imports tracker.cli.commands (cli)",
        "6: (store) imports tracker.output.terminal (output)",
    ]
    assert wrong_way(probe.replace("tracker.cli.commands", "tracker.net"), "tracker.cli.x") == []


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_the_layers_form_no_cycle(layer: str):
    seen: set[str] = set()
    todo = [layer]
    while todo:
        for below in ALLOWED[todo.pop()]:
            assert below != layer, f"{layer} can reach itself"
            if below not in seen:
                seen.add(below)
                todo.append(below)
