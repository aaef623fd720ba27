"""Text from strangers (leaderboard names, labels) made plain: one line, no control characters.

Control and format characters and line separators (Unicode Cc, Cf, Zl, Zp: newlines, terminal
escapes, bidi overrides, zero-width joiners) are written as visible escapes (`\\x1b`, `\\u202e`),
so a name can neither move a terminal's cursor, colour it, nor break a line of a log or a chat
message. Markup of a particular renderer (rich, Discord, Slack, HTML, CSV formulas) is that
renderer's to neutralise.
"""

from __future__ import annotations

import unicodedata

_ESCAPED = ("Cc", "Cf", "Zl", "Zp")  # controls, format characters, line and paragraph separators


def plain(text: str) -> str:
    """text with every control and format character written as a visible escape."""
    if text.isprintable():
        return text
    return "".join(
        ch.encode("unicode_escape").decode() if unicodedata.category(ch) in _ESCAPED else ch
        for ch in text
    )


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs such a cell (OWASP)


def csv_cell(text: str) -> str:
    """text for a CSV cell: one a spreadsheet would run as a formula is quoted by a leading '."""
    return "'" + text if text.startswith(FORMULA_START) else text
