"""Logging for every command: one handler on stderr, secrets redacted, at TRACKER_LOG_LEVEL.

`tracker`'s root callback calls `configure` before any command or sub-command runs, so none can
skip it (`chart`, `export`, `report`, `entity` and `watchlist` once did, and logged unfiltered at
Python's default level). Every record passes through `SecretFilter` first: the secret parts of the
configured URLs and tokens are replaced by `***` wherever they appear in a message.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping

from tracker.config import Settings, environment
from tracker.errors import ConfigError
from tracker.redact import redact_text, redact_url, secret_parts

log = logging.getLogger(__name__)

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SecretFilter(logging.Filter):
    """Replaces every known secret in a record's message by `***` (the record keeps no args)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage(), self.secrets)
        record.args = None
        return True


def configure(command: str | None = None) -> None:
    """Send every log record to stderr, secrets redacted, at TRACKER_LOG_LEVEL (WARNING)."""
    try:
        settings: Settings | None = Settings.from_env()
    except ConfigError:
        settings = None  # the command that needs settings says what is wrong, in one line
    if settings is not None:
        level, secrets = settings.log_level, settings.secrets()
    else:  # still the variable's level when it is valid, and every URL and token kept out
        env = environment()
        wanted = (env.get("TRACKER_LOG_LEVEL") or "").upper()
        level = wanted if wanted in LEVELS else "WARNING"
        secrets = [part for value in _secret_values(env) for part in secret_parts(value)]
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(SecretFilter(secrets))
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if settings is not None:
        log.debug(
            "tracker %s: database %s, Hyperliquid %s, Ethereum RPC %s",
            command or "-",
            settings.db_path,
            redact_url(settings.hl_api_url),
            redact_url(settings.eth_rpc_url.reveal()) if settings.eth_rpc_url else "none",
        )


def _secret_values(env: Mapping[str, str]) -> list[str]:
    return [
        value
        for name, value in env.items()
        if name.startswith("TRACKER_") and name.endswith(("_URL", "_TOKEN")) and value
    ]
