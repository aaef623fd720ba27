"""Keep secrets out of logs: API keys inside RPC URLs, webhook URLs, bot tokens.

A configured secret is held as a `Secret`, so a repr, a log line or an f-string shows stars; the
value itself comes only from an explicit `.reveal()` (or `revealed` for an optional one).
"""

from __future__ import annotations

import re
from typing import final
from urllib.parse import urlsplit, urlunsplit

HIDDEN = "**********"

# A path segment or query value this long and made of key-ish characters is treated as a secret
# (Infura/Alchemy keys, Discord/Slack webhook tokens, Telegram bot tokens).
_SECRETISH = re.compile(r"^[A-Za-z0-9_\-:.]{16,}$")
_TELEGRAM = re.compile(r"bot\d+:[A-Za-z0-9_\-]+")


@final
class Secret:
    """A configured value never shown: repr, str and f-strings give stars, `.reveal()` the value.

    pydantic's SecretStr without pydantic (tracker/config.py says why); equal when the values are.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself, for the one call that sends or checks it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({HIDDEN!r})"

    def __str__(self) -> str:
        return HIDDEN

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def revealed(secret: Secret | None) -> str | None:
    """The value of an optional secret; None when it is not set."""
    return None if secret is None else secret.reveal()


def redact_url(url: str) -> str:
    """Return url with credentials, key-like path segments and query values replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if not parts.scheme or not parts.netloc:
        # Not a URL (a scheme mistyped or left out): its key-like segments are secrets all the same.
        host, *rest = url.split("/")
        return "/".join(
            [
                "***"
                if _TELEGRAM.search(host) or (_SECRETISH.match(host) and "." not in host)
                else host,
                *("***" if _SECRETISH.match(seg) or _TELEGRAM.search(seg) else seg for seg in rest),
            ]
        )
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if parts.username or parts.password:
        host = f"***@{host}"
    segments = [
        "***" if _SECRETISH.match(seg) or _TELEGRAM.fullmatch(seg) else seg
        for seg in parts.path.split("/")
    ]
    query = "&".join(
        f"{kv.split('=', 1)[0]}=***" if "=" in kv else kv for kv in parts.query.split("&") if kv
    )
    return urlunsplit((parts.scheme, host, "/".join(segments), query, ""))


def secret_parts(value: str) -> list[str]:
    """The parts of a configured value that are secret: a URL's credentials, key-like path
    segments and query values; a bare token whole."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return [value]
    if not parts.scheme or not parts.netloc:
        return [value]
    found = [p for p in (parts.username, parts.password) if p]
    found += [
        seg for seg in parts.path.split("/") if _SECRETISH.match(seg) or _TELEGRAM.fullmatch(seg)
    ]
    found += [
        kv.split("=", 1)[1] for kv in parts.query.split("&") if "=" in kv and kv.split("=", 1)[1]
    ]
    return found


def redact_text(text: str, secrets: list[str]) -> str:
    """Replace every occurrence of each known secret in text by ***."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "***")
    return _TELEGRAM.sub("bot***", text)
