"""Address validation and normalisation, done once at the edge."""

from __future__ import annotations

import re

from tracker.errors import BadAddress

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def normalise_address(text: str) -> str:
    """Return the lower-case form of an EVM/Hyperliquid address, or raise BadAddress."""
    candidate = text.strip()
    if not _ADDRESS.match(candidate):
        shown = candidate if len(candidate) <= 60 else candidate[:57] + "..."
        raise BadAddress(f"not an address: {shown!r} (expected 0x followed by 40 hex digits)")
    return candidate.lower()


def is_address(text: str) -> bool:
    """True when text is 0x followed by 40 hex digits (any letter case)."""
    return bool(_ADDRESS.match(text.strip()))
