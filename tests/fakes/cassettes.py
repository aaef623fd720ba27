"""Read response bodies out of vcrpy cassettes (YAML, read with PyYAML's safe loader)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# The C loader when libyaml is there (the wheels ship it), else the pure-Python one: same result.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def response_bodies(path: Path) -> list[str]:
    """The `response.body.string` texts of a cassette, in interaction order."""
    with path.open("rb") as handle:
        doc = yaml.load(handle, Loader=_LOADER)
    bodies: list[str] = []
    for interaction in doc.get("interactions") or []:
        body = interaction["response"]["body"]["string"]
        bodies.append(body.decode("utf-8") if isinstance(body, bytes) else body)
    return bodies
