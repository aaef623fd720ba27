"""Address validation and normalisation, done once at the edge."""

from __future__ import annotations

import re

from tracker.errors import BadAddress

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
# More hex digits than an address holds: possibly a private key (64) pasted by mistake.
_LONG_HEX = re.compile(r"^(0x)?[0-9a-fA-F]{41,}$")


def normalise_address(text: str) -> str:
    """Return the lower-case form of an EVM/Hyperliquid address, or raise BadAddress."""
    candidate = text.strip()
    if not _ADDRESS.match(candidate):
        if _LONG_HEX.match(candidate):
            # Never echo it: a 64-digit value may be a private key (or a transaction hash).
            digits = len(candidate.removeprefix("0x"))
            raise BadAddress(
                f"not an address: {digits} hex digits, not shown (expected 0x followed by 40 "
                "hex digits; tracker is read-only and never needs a private key)"
            )
        shown = candidate if len(candidate) <= 60 else candidate[:57] + "..."
        raise BadAddress(f"not an address: {shown!r} (expected 0x followed by 40 hex digits)")
    return candidate.lower()


def is_address(text: str) -> bool:
    """True when text is 0x followed by 40 hex digits (any letter case)."""
    return bool(_ADDRESS.match(text.strip()))


def short_address(address: str) -> str:
    """0xb317…83ae: enough to tell addresses apart by eye; --json carries the whole one."""
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address
