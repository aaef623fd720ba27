"""Alert sinks against a real local HTTP receiver and real files: bodies, retries, isolation."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.alert_receiver import (  # noqa: F401  (fixture)
    AlertReceiver,
    Reply,
    alert_receiver,
    discord_429,
    telegram_error,
)
from tracker.alerts.sinks import (
    ConsoleSink,
    DiscordSink,
    JsonlSink,
    Sink,
    SinkError,
    SlackSink,
    TelegramSink,
    WebhookSink,
    build_sinks,
    deliver,
)
from tracker.alerts.text import alert_json, alert_text
from tracker.config import Settings
from tracker.errors import ConfigError, TrackerError
from tracker.net.http import RetryPolicy
from tracker.records import Alert
from tracker.redact import Secret

# Backoff of at most 10 ms: a wait of 300 ms can only come from the server's Retry-After.
FAST = RetryPolicy(retries=2, base_delay_s=0.01, max_delay_s=5.0, timeout_s=5.0)
HOOK_TOKEN = "Wh0okT0ken-9f8e7d6c5b4a3928170_secret"
TG_TOKEN = "7312345678:AAF-secret_TelegramBotToken0123456789"
LIQ_MESSAGE = (
    "LARGE LIQUIDATION 1011 whale (0xb317…83ae) ETH long $222.65M at 2,402.10 "
    "(market, 3 fills) 2026-01-31 22:14 UTC"
)


def make_alert(n: int = 0, **fields: Any) -> Alert:
    values: dict[str, Any] = {
        "id": f"large_liquidation:episode-{n}",
        "kind": "large_liquidation",
        "ts": datetime(2026, 1, 31, 22, 14, 5, tzinfo=UTC),
        "venue": "hyperliquid",
        "address": "0xb317d2bc2d3d2df5fa441b5bae0ab9d8b07283ae",
        "label": "1011 whale",
        "coin": "ETH",
        "notional_usd": Decimal("222650000.50"),
        "severity": "critical",
        "message": LIQ_MESSAGE,
        "details": '{"side": "long", "mark_px": "2402.1", "fills": 3}',
    }
    values.update(fields)
    return Alert(**values)


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def hook_url(receiver: AlertReceiver, name: str = "hook") -> str:
    return f"{receiver.url}/{name}/123456/{HOOK_TOKEN}"


def hook_path(name: str = "hook") -> str:
    return f"/{name}/123456/{HOOK_TOKEN}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- bodies and paths ---------------------------------------------------------------------------


async def test_webhook_posts_the_documented_object(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    await WebhookSink(hook_url(alert_receiver), session, policy=FAST).send(make_alert())

    [got] = alert_receiver.received(hook_path())
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["Idempotency-Key"] == "large_liquidation:episode-0"
    assert got.body == {
        "id": "large_liquidation:episode-0",
        "kind": "large_liquidation",
        "time": "2026-01-31T22:14:05Z",
        "venue": "hyperliquid",
        "address": "0xb317d2bc2d3d2df5fa441b5bae0ab9d8b07283ae",
        "label": "1011 whale",
        "coin": "ETH",
        "notional_usd": "222650000.50",
        "side": "long",
        "size_change": None,
        "price": None,
        "severity": "critical",
        "message": LIQ_MESSAGE,
        "details": {"side": "long", "mark_px": "2402.1", "fills": 3},
    }


async def test_webhook_nulls_and_time_in_utc(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    alert = make_alert(
        ts=datetime(2026, 2, 1, 0, 14, tzinfo=timezone(timedelta(hours=2))),
        label=None,
        coin=None,
        notional_usd=None,
        details="not json",
    )
    await WebhookSink(hook_url(alert_receiver), session, policy=FAST).send(alert)

    [got] = alert_receiver.received()
    assert got.body["time"] == "2026-01-31T22:14:00Z"
    assert (got.body["label"], got.body["coin"], got.body["notional_usd"]) == (None, None, None)
    assert got.body["details"] == {"unparsed": "not json"}


async def test_discord_body_mentions_off_and_2000_chars(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    alert_receiver.script("/discord", then=Reply(status=204))
    sink = DiscordSink(f"{alert_receiver.url}/discord", session, policy=FAST)
    await sink.send(make_alert(message="@everyone  LARGE\nLIQUIDATION"))
    await sink.send(make_alert(1, message="x" * 3000))

    first, long = alert_receiver.received("/discord")
    assert first.body == {
        "content": "@\u200beveryone LARGE LIQUIDATION",  # a zero-width space after every @
        "allowed_mentions": {"parse": []},
    }
    assert len(long.body["content"]) == 2000 and long.body["content"].endswith("x…")


async def test_slack_body_escapes_control_characters(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    alert_receiver.script("/slack", then=Reply(text="ok"))
    await SlackSink(f"{alert_receiver.url}/slack", session, policy=FAST).send(
        make_alert(message="<!channel> ETH & BTC > $1M")
    )

    [got] = alert_receiver.received("/slack")
    assert got.body == {"text": "&lt;!channel&gt; ETH &amp; BTC &gt; $1M", "mrkdwn": False}


async def test_telegram_path_and_body(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    sink = TelegramSink(TG_TOKEN, "-1001234", alert_receiver.url + "/", session, policy=FAST)
    await sink.send(make_alert())

    [got] = alert_receiver.received()
    assert got.path == f"/bot{TG_TOKEN}/sendMessage"
    assert got.body == {
        "chat_id": "-1001234",
        "text": LIQ_MESSAGE,
        "disable_web_page_preview": True,
    }


async def test_telegram_not_ok_is_a_failure_and_not_retried(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    path = f"/bot{TG_TOKEN}/sendMessage"
    alert_receiver.script(path, telegram_error("Bad Request: chat not found"))
    sink = TelegramSink(TG_TOKEN, "42", alert_receiver.url, session, policy=FAST)

    with pytest.raises(SinkError) as info:
        await sink.send(make_alert())

    assert isinstance(info.value, TrackerError)
    assert info.value.sink == "telegram"
    assert info.value.reason == "answer not ok: Bad Request: chat not found"
    assert TG_TOKEN not in str(info.value)
    assert len(alert_receiver.received(path)) == 1


# --- retries ------------------------------------------------------------------------------------


async def test_discord_429_waits_retry_after_from_the_body(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    alert_receiver.script("/discord", discord_429(0.3), Reply(status=204))
    await DiscordSink(f"{alert_receiver.url}/discord", session, policy=FAST).send(make_alert())

    first, second = alert_receiver.received("/discord")
    assert second.at - first.at >= 0.3
    assert first.body == second.body


async def test_429_waits_retry_after_header(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    alert_receiver.script(
        hook_path(), Reply(status=429, text="slow down", headers={"Retry-After": "0.3"})
    )
    await WebhookSink(hook_url(alert_receiver), session, policy=FAST).send(make_alert())

    first, second = alert_receiver.received()
    assert second.at - first.at >= 0.3


async def test_telegram_429_waits_parameters_retry_after(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    path = f"/bot{TG_TOKEN}/sendMessage"
    flood = {"ok": False, "error_code": 429, "parameters": {"retry_after": 0.3}}
    alert_receiver.script(path, Reply(status=429, json=flood))
    await TelegramSink(TG_TOKEN, "42", alert_receiver.url, session, policy=FAST).send(make_alert())

    first, second = alert_receiver.received(path)
    assert second.at - first.at >= 0.3


async def test_5xx_retries_are_bounded(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    alert_receiver.script(hook_path(), then=Reply(status=500))
    with pytest.raises(SinkError) as info:
        await WebhookSink(hook_url(alert_receiver), session, policy=FAST).send(make_alert())

    assert info.value.reason == "gave up after 3 attempts: HTTP 500"
    assert len(alert_receiver.received()) == 3


async def test_503_then_success(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    alert_receiver.script(hook_path(), Reply(status=503), Reply(status=502))
    await WebhookSink(hook_url(alert_receiver), session, policy=FAST).send(make_alert())
    assert len(alert_receiver.received()) == 3


async def test_4xx_is_not_retried_and_is_redacted(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    echo = {"message": f"Unknown Webhook {hook_url(alert_receiver)}", "code": 10015}
    alert_receiver.script(hook_path(), Reply(status=404, json=echo))
    with pytest.raises(SinkError) as info:
        await WebhookSink(hook_url(alert_receiver), session, policy=FAST).send(make_alert())

    assert info.value.reason.startswith("HTTP 404: ")
    assert "Unknown Webhook ***" in info.value.reason
    assert HOOK_TOKEN not in str(info.value)
    assert len(alert_receiver.received()) == 1


async def test_request_timeout_is_retried(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    alert_receiver.script(hook_path(), then=Reply(delay_s=5))
    policy = RetryPolicy(retries=1, base_delay_s=0.01, timeout_s=0.2)
    with pytest.raises(SinkError) as info:
        await WebhookSink(hook_url(alert_receiver), session, policy=policy).send(make_alert())

    assert info.value.reason == "gave up after 2 attempts: timed out"
    assert len(alert_receiver.received()) == 2


async def test_connection_refused(session: aiohttp.ClientSession) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook/{HOOK_TOKEN}"
    with pytest.raises(SinkError) as info:
        await WebhookSink(url, session, policy=FAST).send(make_alert())

    assert info.value.reason.startswith("gave up after 3 attempts: connection error: ")
    assert HOOK_TOKEN not in str(info.value)


# --- deliver ------------------------------------------------------------------------------------


async def test_failing_and_slow_sinks_do_not_block_the_others(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    alert_receiver.script("/discord", then=Reply(status=500))
    alert_receiver.script("/slack", then=Reply(delay_s=600))  # answers only when the test ends
    sinks: list[Sink] = [
        ConsoleSink(),
        JsonlSink(tmp_path / "alerts.jsonl"),
        WebhookSink(hook_url(alert_receiver), session, policy=FAST),
        DiscordSink(f"{alert_receiver.url}/discord", session, policy=FAST),
        SlackSink(f"{alert_receiver.url}/slack", session, policy=FAST),
        TelegramSink(TG_TOKEN, "42", alert_receiver.url, session, policy=FAST),
    ]
    alerts = [make_alert(0), make_alert(1)]

    # Returns at the deadline, with the slow sink's answer still held back.
    async with asyncio.timeout(30):
        deliveries = await deliver(alerts, sinks, timeout_s=1.0)

    assert [(d.alert_id, d.sink) for d in deliveries] == [
        (a.id, s.name) for a in alerts for s in sinks
    ]
    by_sink = {s.name: [d for d in deliveries if d.sink == s.name] for s in sinks}
    deadline = by_sink["slack"][0].at  # when the slow sink's first send was given up
    for name in ("console", "jsonl", "webhook", "telegram"):
        assert all(d.ok and d.error is None for d in by_sink[name]), name
        # Both alerts done before the slow sink's deadline: nothing waited for it.
        assert all(d.at < deadline for d in by_sink[name]), name
    assert [d.error for d in by_sink["discord"]] == ["gave up after 3 attempts: HTTP 500"] * 2
    assert [d.error for d in by_sink["slack"]] == [
        "timed out at the 1s deadline",
        "not attempted: the 1s deadline had passed",
    ]
    assert len(alert_receiver.received("/slack")) == 1
    assert [r.body["id"] for r in alert_receiver.received(hook_path())] == [a.id for a in alerts]
    lines = (tmp_path / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [a.id for a in alerts]


async def test_alerts_to_one_sink_keep_their_order(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession
) -> None:
    # The first answer is the slowest: were sends to one sink concurrent, later ones would overtake.
    alert_receiver.script(hook_path(), Reply(delay_s=0.3), Reply(delay_s=0.1))
    alerts = [make_alert(n) for n in range(6)]
    sink = WebhookSink(hook_url(alert_receiver), session, policy=FAST)

    deliveries = await deliver(alerts, [sink], timeout_s=5.0)

    assert all(d.ok for d in deliveries)
    assert [r.body["id"] for r in alert_receiver.received()] == [a.id for a in alerts]
    assert [d.at for d in deliveries] == sorted(d.at for d in deliveries)


class BrokenSink:
    """A sink with a bug: its exception message even carries a secret."""

    name = "broken"

    async def send(self, alert: Alert) -> None:
        raise RuntimeError(f"boom https://example.org/hook/{HOOK_TOKEN}")


async def test_deliver_never_raises_for_a_broken_sink(tmp_path: Path) -> None:
    deliveries = await deliver(
        [make_alert()], [BrokenSink(), JsonlSink(tmp_path / "a.jsonl")], timeout_s=1.0
    )

    broken, jsonl = deliveries
    assert (broken.ok, broken.error) == (False, "unexpected RuntimeError")
    assert jsonl.ok


async def test_deliver_with_nothing_to_do() -> None:
    assert await deliver([], [ConsoleSink()], timeout_s=1.0) == []
    assert await deliver([make_alert()], [], timeout_s=1.0) == []


# --- files and logs -----------------------------------------------------------------------------


async def test_jsonl_appends_valid_lines_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "alerts.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text('{"id": "earlier"}\n')
    sink = JsonlSink(path)
    alerts = [make_alert(n, message="m" * 5000) for n in range(40)]

    await asyncio.gather(*(sink.send(a) for a in alerts))

    docs = [json.loads(line) for line in path.read_text().splitlines()]
    assert docs[0] == {"id": "earlier"}
    assert sorted(d["id"] for d in docs[1:]) == sorted(a.id for a in alerts)
    assert docs[1] == alert_json(next(a for a in alerts if a.id == docs[1]["id"]))


async def test_jsonl_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "alerts.jsonl"
    await JsonlSink(path).send(make_alert())
    assert json.loads(path.read_text())["details"] == {
        "side": "long",
        "mark_px": "2402.1",
        "fills": 3,
    }


async def test_jsonl_failure_is_a_sink_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SinkError) as info:
        await JsonlSink(blocker / "alerts.jsonl").send(make_alert())
    assert info.value.sink == "jsonl"


async def test_console_logs_one_line_at_the_severity_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="tracker.alerts")
    await ConsoleSink().send(make_alert(message="two\nlines"))
    await ConsoleSink().send(make_alert(1, severity="info"))

    critical, info = [r for r in caplog.records if r.name == "tracker.alerts"]
    assert critical.levelno == logging.WARNING
    assert critical.getMessage() == "CRITICAL two lines [large_liquidation:episode-0]"
    assert info.levelno == logging.INFO and LIQ_MESSAGE in info.getMessage()
    assert "\n" not in info.getMessage()


async def test_console_shows_a_hostile_label_as_plain_text(caplog: pytest.LogCaptureFixture):
    # A leaderboard name (`tracker run --discover`) is a stranger's text: no terminal escapes.
    caplog.set_level(logging.INFO, logger="tracker.alerts")
    name = "bell\x07 esc\x1b[31mred\u202e"
    await ConsoleSink().send(make_alert(label=name, message=f"NEAR LIQ {name} (0xb317)"))
    (record,) = [r for r in caplog.records if r.name == "tracker.alerts"]
    text = record.getMessage()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "esc\\x1b[31mred\\u202e" in text


async def test_secrets_never_reach_logs_or_deliveries(
    alert_receiver: AlertReceiver,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tg_path = f"/bot{TG_TOKEN}/sendMessage"
    alert_receiver.script(hook_path(), Reply(status=503), then=Reply(status=500))
    alert_receiver.script(hook_path("discord"), Reply(status=400, text=hook_url(alert_receiver)))
    alert_receiver.script(
        tg_path,
        Reply(status=429, json={"retry_after": 0}),
        then=telegram_error(f"Unauthorized: bot{TG_TOKEN} revoked", status=401),
    )
    settings = Settings(
        db_path=Path("unused.duckdb"),
        webhook_url=Secret(hook_url(alert_receiver)),
        discord_webhook_url=Secret(hook_url(alert_receiver, "discord")),
        slack_webhook_url=Secret(f"http://127.0.0.1:{free_port()}/services/{HOOK_TOKEN}"),
        telegram_bot_token=Secret(TG_TOKEN),
        telegram_chat_id="42",
        telegram_api_url=alert_receiver.url,
        http_retries=2,
        http_timeout_s=2.0,
    )
    sinks = build_sinks(settings, session)

    deliveries = await deliver([make_alert()], sinks, timeout_s=5.0)

    failed = [d for d in deliveries if not d.ok]
    assert {d.sink for d in failed} == {"webhook", "discord", "slack", "telegram"}
    assert any("retry" in r.getMessage() for r in caplog.records)  # the retries were logged
    assert sum("failed" in r.getMessage() for r in caplog.records) == 4
    for secret in (HOOK_TOKEN, TG_TOKEN, TG_TOKEN.split(":")[1]):
        assert secret not in caplog.text
        assert all(secret not in (d.error or "") for d in deliveries)


# --- configuration and text ---------------------------------------------------------------------


async def test_build_sinks_console_always_others_when_configured(
    alert_receiver: AlertReceiver, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    bare = Settings(db_path=tmp_path / "t.duckdb")
    assert [s.name for s in build_sinks(bare, session)] == ["console"]

    full = Settings(
        db_path=tmp_path / "t.duckdb",
        alerts_jsonl=tmp_path / "alerts.jsonl",
        webhook_url=Secret(hook_url(alert_receiver)),
        discord_webhook_url=Secret(f"{alert_receiver.url}/discord"),
        slack_webhook_url=Secret(f"{alert_receiver.url}/slack"),
        telegram_bot_token=Secret(TG_TOKEN),
        telegram_chat_id="42",
        telegram_api_url=alert_receiver.url,
    )
    sinks = build_sinks(full, session)
    names = ["console", "jsonl", "webhook", "discord", "slack", "telegram"]
    assert [s.name for s in sinks] == names

    deliveries = await deliver([make_alert()], sinks, timeout_s=5.0)
    assert [d.sink for d in deliveries if d.ok] == names
    assert sorted(r.path for r in alert_receiver.received()) == sorted(
        [hook_path(), "/discord", "/slack", f"/bot{TG_TOKEN}/sendMessage"]
    )


async def test_telegram_needs_token_and_chat(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="TRACKER_TELEGRAM_CHAT_ID"):
        build_sinks(
            Settings(db_path=tmp_path / "t.duckdb", telegram_bot_token=Secret(TG_TOKEN)), session
        )


def test_alert_text_is_the_message_on_one_line_or_the_fields() -> None:
    assert alert_text(make_alert()) == LIQ_MESSAGE
    assert alert_text(make_alert(message="  a\n b ")) == "a b"
    assert alert_text(make_alert(message="")) == (
        "LARGE LIQUIDATION 1011 whale (0xb317d2bc2d3d2df5fa441b5bae0ab9d8b07283ae) ETH "
        "2026-01-31 22:14 UTC"
    )
