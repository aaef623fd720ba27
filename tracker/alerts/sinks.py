"""Alert sinks: the console, a JSONL file, a generic webhook, Discord, Slack and Telegram.

Every HTTP sink shares the caller's `aiohttp.ClientSession` and posts through `post_alert`
(timeouts, bounded retries, Retry-After). Failures raise `SinkError` with a redacted reason:
webhook URLs and bot tokens never reach a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import aiohttp

from tracker.alerts._http import Answer, post_alert
from tracker.alerts.delivery import Delivery, Sink, deliver
from tracker.alerts.text import alert_json, alert_text
from tracker.config import Settings
from tracker.errors import ConfigError, SinkError
from tracker.net.http import RetryPolicy
from tracker.plain import plain
from tracker.records import Alert
from tracker.redact import redact_text, revealed

__all__ = [
    "ConsoleSink",
    "Delivery",
    "DiscordSink",
    "JsonlSink",
    "Sink",
    "SinkError",
    "SlackSink",
    "TelegramSink",
    "WebhookSink",
    "build_sinks",
    "deliver",
]

DISCORD_MAX_CHARS = 2000  # https://discord.com/developers/docs/resources/webhook#execute-webhook
TELEGRAM_MAX_CHARS = 4096  # https://core.telegram.org/bots/api#sendmessage

DEFAULT_POLICY = RetryPolicy()  # frozen, so one shared default is safe

alerts_log = logging.getLogger("tracker.alerts")


class ConsoleSink:
    """Logs one line per alert to `tracker.alerts`: WARNING for warning/critical, INFO for info."""

    name = "console"

    async def send(self, alert: Alert) -> None:
        """Log the alert as one line."""
        level = logging.INFO if alert.severity == "info" else logging.WARNING
        # labels may be leaderboard names (strangers' text): no terminal escapes reach stderr
        text = plain(alert_text(alert))
        alerts_log.log(level, "%s %s [%s]", alert.severity.upper(), text, alert.id)


class JsonlSink:
    """Appends one JSON object per alert (the webhook body) to a file, fsync'd, parents created.

    Appends are serialised by a lock, so concurrent sends in one process never interleave.
    """

    name = "jsonl"

    def __init__(self, path: Path) -> None:
        self.path = path
        # A thread lock, not an asyncio one: a write cut off by a deadline keeps running in its
        # thread and must still finish before the next one starts.
        self._lock = threading.Lock()

    async def send(self, alert: Alert) -> None:
        """Append the alert as one line and fsync the file."""
        line = json.dumps(alert_json(alert), ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            await asyncio.to_thread(self._append, line.encode())
        except OSError as exc:
            raise SinkError(
                self.name, f"{self.path}: {exc.strerror or type(exc).__name__}"
            ) from None

    def _append(self, data: bytes) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())


class _HttpSink:
    """What every HTTP sink shares: the session, the retry policy and the secrets to redact."""

    name: str

    def __init__(
        self, session: aiohttp.ClientSession, policy: RetryPolicy, secrets: Sequence[str]
    ) -> None:
        self._session = session
        self._policy = policy
        self._secrets = [s for s in secrets if s]

    async def _post(self, url: str, body: dict[str, object], alert: Alert) -> Answer:
        return await post_alert(
            self._session,
            url,
            body,
            sink=self.name,
            policy=self._policy,
            secrets=self._secrets,
            # Lets a receiver drop the duplicate a retry after a lost answer can cause.
            headers={"Idempotency-Key": alert.id},
        )

    def _fail(self, reason: str) -> SinkError:
        return SinkError(self.name, redact_text(reason, self._secrets))


class _UrlSink(_HttpSink):
    """An HTTP sink whose whole address, token included, is one URL."""

    def __init__(
        self,
        url: str,
        session: aiohttp.ClientSession,
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        secrets: Sequence[str] = (),
    ) -> None:
        super().__init__(session, policy, (url, *secrets))
        self._url = url


class WebhookSink(_UrlSink):
    """POSTs the documented alert object (`text.alert_json`) to any URL."""

    name = "webhook"

    async def send(self, alert: Alert) -> None:
        """POST the alert object."""
        await self._post(self._url, alert_json(alert), alert)


class DiscordSink(_UrlSink):
    """Posts the alert text to a Discord webhook: mentions disabled, markdown escaped."""

    name = "discord"

    async def send(self, alert: Alert) -> None:
        """POST {"content", "allowed_mentions"}."""
        text = _truncate(_discord_escape(alert_text(alert)), DISCORD_MAX_CHARS)
        await self._post(self._url, {"content": text, "allowed_mentions": {"parse": []}}, alert)


class SlackSink(_UrlSink):
    """Posts the alert text to a Slack incoming webhook."""

    name = "slack"

    async def send(self, alert: Alert) -> None:
        """POST {"text", "mrkdwn": false}, Slack's three control characters escaped."""
        body = {"text": _slack_escape(alert_text(alert)), "mrkdwn": False}
        await self._post(self._url, body, alert)


class TelegramSink(_HttpSink):
    """Sends the alert text to a Telegram chat through the Bot API's sendMessage."""

    name = "telegram"

    def __init__(
        self,
        token: str,
        chat_id: str,
        api_url: str,
        session: aiohttp.ClientSession,
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        secrets: Sequence[str] = (),
    ) -> None:
        super().__init__(session, policy, (token, *secrets))
        self._url = f"{api_url.rstrip('/')}/bot{token}/sendMessage"
        self._chat_id = chat_id

    async def send(self, alert: Alert) -> None:
        """POST {"chat_id", "text", "disable_web_page_preview"}; an answer without ok fails."""
        body = {
            "chat_id": self._chat_id,
            # Plain text (no parse_mode); "@name" would still mention that user: broken.
            "text": _truncate(alert_text(alert).replace("@", "@\u200b"), TELEGRAM_MAX_CHARS),
            "disable_web_page_preview": True,
        }
        doc = (await self._post(self._url, body, alert)).json()
        if not isinstance(doc, dict) or doc.get("ok") is not True:
            said = doc.get("description") if isinstance(doc, dict) else None
            raise self._fail(f"answer not ok: {said or 'no description'}")


def build_sinks(settings: Settings, session: aiohttp.ClientSession) -> list[Sink]:
    """The console, then every sink the settings configure, sharing session."""
    policy = RetryPolicy(retries=settings.http_retries, timeout_s=settings.http_timeout_s)
    secrets = settings.secrets()
    sinks: list[Sink] = [ConsoleSink()]
    if settings.alerts_jsonl is not None:
        sinks.append(JsonlSink(settings.alerts_jsonl))
    if hook := settings.webhook_url:
        sinks.append(WebhookSink(hook.reveal(), session, policy=policy, secrets=secrets))
    if hook := settings.discord_webhook_url:
        sinks.append(DiscordSink(hook.reveal(), session, policy=policy, secrets=secrets))
    if hook := settings.slack_webhook_url:
        sinks.append(SlackSink(hook.reveal(), session, policy=policy, secrets=secrets))
    token, chat_id = revealed(settings.telegram_bot_token), settings.telegram_chat_id
    if bool(token) != bool(chat_id):
        raise ConfigError(
            "TRACKER_TELEGRAM_BOT_TOKEN and TRACKER_TELEGRAM_CHAT_ID must be set together"
        )
    if token and chat_id:
        sinks.append(
            TelegramSink(
                token, chat_id, settings.telegram_api_url, session, policy=policy, secrets=secrets
            )
        )
    return sinks


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# https://support.discord.com/hc/en-us/articles/210298617 (markdown): a backslash makes the next
# character literal. Masked links need [ ], mentions < > and @ (allowed_mentions already stops
# the ping; the zero-width space keeps "@everyone" from even looking like one), quotes, headings
# and lists a leading > # -.
_DISCORD_MARKUP = re.compile(r"([\\*_~`|\[\]()<>:])|^([>#-])")


def _discord_escape(text: str) -> str:
    escaped = _DISCORD_MARKUP.sub(lambda m: "\\" + (m[1] or m[2]), text)
    return escaped.replace("@", "@\u200b")


def _slack_escape(text: str) -> str:
    # https://api.slack.com/reference/surfaces/formatting#escaping
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
