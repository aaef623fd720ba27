"""Read response bodies out of vcrpy cassettes without PyYAML.

vcrpy writes `response: body: string: <scalar>` as a YAML single- or double-quoted flow scalar,
folded over several lines when long; this reads exactly that subset (folding, `''`, and the
double-quoted escapes including `\\U0001F640`), which is all the shared cassettes use.
"""

from __future__ import annotations

import re
from pathlib import Path

_KEY = "string: "
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.DOTALL)
_BODY = {'"': re.compile(r'(?:[^"\\]|\\.)*"'), "'": re.compile(r"(?:[^']|'')*'")}
_SIMPLE = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
    "L": "\u2028", "P": "\u2029",
}  # fmt: skip


def response_bodies(path: Path) -> list[str]:
    """The `response.body.string` texts of a cassette, in interaction order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    bodies: list[str] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        if stripped.startswith(_KEY) and stripped[len(_KEY) :][:1] in ("'", '"'):
            text, i = _quoted(lines, i, stripped[len(_KEY) :])
            bodies.append(text)
        else:
            i += 1
    return bodies


def _quoted(lines: list[str], i: int, first: str) -> tuple[str, int]:
    """Decode the quoted scalar starting at `first` (on line i); returns it and the next line."""
    quote = first[0]
    parts = [first[1:]]
    while (end := _closing(parts[-1], quote)) < 0:
        i += 1
        parts.append(lines[i])
    parts[-1] = parts[-1][:end]
    folded = _fold(parts, escapable=quote == '"')
    if quote == "'":
        return folded.replace("''", "'"), i + 1
    return _ESCAPE.sub(_unescape, folded), i + 1


def _closing(line: str, quote: str) -> int:
    """Index of the closing quote in `line`, or -1."""
    match = _BODY[quote].match(line)
    return -1 if match is None else match.end() - 1


def _fold(parts: list[str], *, escapable: bool) -> str:
    """YAML line folding: a break is a space, n empty lines are n newlines, `\\` joins."""
    text = parts[0]
    k = 1
    while k < len(parts):
        escaped = escapable and (len(text) - len(text.rstrip("\\"))) % 2 == 1
        text = text[:-1] if escaped else text.rstrip(" \t")
        empties = 0
        while k < len(parts) - 1 and not parts[k].strip():
            empties += 1
            k += 1
        joiner = "\n" * empties if empties or escaped else " "
        text += joiner + parts[k].lstrip(" \t")
        k += 1
    return text


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] in "xuU" and len(code) > 1:
        return chr(int(code[1:], 16))
    return _SIMPLE.get(code, code)
