"""Keep secrets out of logs: API keys inside RPC URLs, webhook URLs, bot tokens."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# A path segment or query value this long and made of key-ish characters is treated as a secret
# (Infura/Alchemy keys, Discord/Slack webhook tokens, Telegram bot tokens).
_SECRETISH = re.compile(r"^[A-Za-z0-9_\-:.]{16,}$")
_TELEGRAM = re.compile(r"bot\d+:[A-Za-z0-9_\-]+")


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
