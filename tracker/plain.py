"""A stranger's text (leaderboard names, labels in alerts) made safe for one terminal line."""

from __future__ import annotations

import unicodedata


def plain(text: str) -> str:
    """Control and format characters (ESC, BEL, newlines, bidi overrides) shown as escapes."""
    return "".join(
        ch.encode("unicode_escape").decode() if unicodedata.category(ch) in ("Cc", "Cf") else ch
        for ch in text
    )
