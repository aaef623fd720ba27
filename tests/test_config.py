"""Settings: each declared once (variable, parser, default), read by one loop; secrets never shown.

The bad-input matrix (tests/test_bad_input.py) runs the CLI against one bad value per variable;
here the declarations themselves are checked, in process.
"""

from __future__ import annotations

import ast
import logging
import re
from dataclasses import fields
from pathlib import Path

import pytest

from tracker import config
from tracker.config import Settings, declarations
from tracker.errors import ConfigError
from tracker.redact import HIDDEN, Secret

NO_DOTENV = Path("/nonexistent/tracker.env")


def from_env(**env: str) -> Settings:
    return Settings.from_env(env, dotenv_path=NO_DOTENV)


def test_every_field_is_declared_once_with_its_own_variable():
    declared = declarations()
    assert list(declared) == [f.name for f in fields(Settings)]
    names = [d.name for d in declared.values()]
    assert len(names) == len(set(names)), "two fields read one variable"
    assert all(re.fullmatch(r"TRACKER_[A-Z0-9_]+", n) for n in names)


def test_each_variable_is_written_once_in_config():
    """Its name appears in one declaration; nothing else in config.py repeats it."""
    tree = ast.parse(Path(config.__file__).read_text())
    literals = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and re.fullmatch(r"TRACKER_[A-Z0-9_]+", str(n.value))
    ]
    names = {d.name for d in declarations().values()}
    assert sorted(literals) == sorted([*names, "TRACKER_ENV_FILE"])


def test_defaults_are_the_fields_defaults():
    """An empty environment gives the class's defaults, but the three read from elsewhere."""
    got = Settings.from_env({"XDG_DATA_HOME": "/data"}, dotenv_path=NO_DOTENV)
    for f in fields(Settings):
        if f.name != "db_path":
            assert getattr(got, f.name) == f.default, f.name
    assert got.db_path == Path("/data/tracker/tracker.duckdb")
    assert from_env(TRACKER_DB="/x/t.duckdb").db_path == Path("/x/t.duckdb")


def test_blank_is_unset():
    blank = {d.name: " " for d in declarations().values()}
    assert from_env(**blank) == from_env(**dict.fromkeys(blank, ""))


def test_the_websocket_url_follows_the_api_url_unless_set():
    assert from_env().hl_ws_url == "wss://api.hyperliquid.xyz/ws"
    assert from_env(TRACKER_HL_API_URL="http://127.0.0.1:9/").hl_ws_url == "ws://127.0.0.1:9/ws"
    both = from_env(TRACKER_HL_API_URL="http://127.0.0.1:9", TRACKER_HL_WS_URL="ws://h:1/x/")
    assert both.hl_ws_url == "ws://h:1/x"


def test_values_are_parsed():
    got = from_env(
        TRACKER_ETH_CHAIN_ID="10",
        TRACKER_HL_DEXES="main,flx",
        TRACKER_NEAR_LIQ_PCT="2, 10",
        TRACKER_FOLLOW_LIQUIDATORS="off",
        TRACKER_LOG_LEVEL="debug",
        TRACKER_TRANSFER_MIN_USD="250000.5",
        TRACKER_ALERTS_JSONL="~/alerts.jsonl",
        TRACKER_ETH_TOKENS="WETH:0xC02aaa39b223fe8d0a0e5c4f27ead9083c756cc2:18",
    )
    assert got.eth_chain_id == 10
    assert got.hl_dexes == ("", "flx")
    assert [str(p) for p in got.near_liq_pct] == ["10", "2"]
    assert got.follow_liquidators is False
    assert got.log_level == "DEBUG"
    assert str(got.transfer_min_usd) == "250000.5"
    assert got.alerts_jsonl == Path("~/alerts.jsonl").expanduser()
    assert got.eth_tokens == (("WETH", "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", 18),)
    assert from_env(TRACKER_HL_DEXES="all").hl_dexes is None


# --- secrets ------------------------------------------------------------------------------------

KEY = "k3yK3yk3yK3yk3yK3yk3y"  # long enough to be a key-like path segment
SECRET_ENV = {
    "TRACKER_ETH_RPC_URL": f"https://eth.example.com/v3/{KEY}1",
    "TRACKER_WEBHOOK_URL": f"https://hooks.example.com/x/{KEY}2",
    "TRACKER_DISCORD_WEBHOOK_URL": f"https://discord.com/api/webhooks/1/{KEY}3",
    "TRACKER_SLACK_WEBHOOK_URL": f"https://hooks.slack.com/services/T0/B0/{KEY}4",
    "TRACKER_TELEGRAM_BOT_TOKEN": f"123456:{KEY}5",
    "TRACKER_SERVE_TOKEN": f"{KEY}6",
}
SECRET_FIELDS = {
    "eth_rpc_url",
    "webhook_url",
    "discord_webhook_url",
    "slack_webhook_url",
    "telegram_bot_token",
    "serve_token",
}


def test_urls_with_keys_and_tokens_are_secrets_shown_as_stars(caplog: pytest.LogCaptureFixture):
    settings = from_env(**SECRET_ENV)
    secret = {f.name for f in fields(Settings) if isinstance(getattr(settings, f.name), Secret)}
    assert secret == SECRET_FIELDS
    logging.getLogger("test_config").warning("settings %s %r", settings, settings)
    shown = [repr(settings), str(settings), f"{settings}", caplog.text]
    for name in sorted(SECRET_FIELDS):
        value: Secret = getattr(settings, name)
        shown += [repr(value), str(value), f"{value}", f"{value!r}"]
        assert str(value) == HIDDEN
    assert KEY[:8] not in "\n".join(shown)
    assert f"serve_token=Secret('{HIDDEN}')" in repr(settings)
    revealed = {declarations()[n].name: getattr(settings, n).reveal() for n in SECRET_FIELDS}
    assert revealed == SECRET_ENV


def test_secrets_lists_the_key_parts_of_each_url_and_each_token_whole():
    found = from_env(**SECRET_ENV).secrets()
    assert sorted(found) == sorted(
        [f"{KEY}1", f"{KEY}2", f"{KEY}3", f"{KEY}4", f"123456:{KEY}5", f"{KEY}6"]
    )
    assert from_env().secrets() == []


def test_a_secret_is_equal_by_value_and_hides_it():
    assert Secret("a" * 20) == Secret("a" * 20) != Secret("b" * 20)
    assert Secret("a" * 20) != "a" * 20
    assert "a" * 20 not in repr([Secret("a" * 20)])


# --- bad values -----------------------------------------------------------------------------------

# One bad value of each kind of parser: (variable, value, what the message says after the name).
BAD = [
    ("TRACKER_HL_API_URL", "not a url", "must be an http(s) or ws(s) URL"),
    ("TRACKER_ETH_RPC_URL", f"localhost:8545/v3/{KEY}", "must be an http(s) or ws(s) URL"),
    ("TRACKER_SERVE_TOKEN", "short", "must be at least 16 printable characters"),
    ("TRACKER_SERVE_TOKEN", f" {KEY}", "must be at least 16 printable characters, no spaces"),
    ("TRACKER_HL_CONCURRENCY", "0", "must be at least 1, got 0"),
    ("TRACKER_LIQUIDATION_CONFIRM_WS_USERS", "11", "must be at most 10, got 11"),
    ("TRACKER_HTTP_RETRIES", "2.5", "must be a whole number, got '2.5'"),
    ("TRACKER_ETH_CHAIN_ID", "mainnet", "must be a whole number"),
    ("TRACKER_HTTP_TIMEOUT", "soon", "must be a number of seconds"),
    ("TRACKER_MARKETS_TTL", "nan", "must be positive, got 'nan'"),
    ("TRACKER_DISCOVER_INTERVAL", "inf", "must be a finite number of seconds, got inf"),
    ("TRACKER_TRANSFER_MIN_USD", "a million", "must be a number, got 'a million'"),
    ("TRACKER_POSITION_ALERT_USD", "-1", "must be a non-negative number"),
    ("TRACKER_FOLLOW_LIQUIDATORS", "maybe", "must be true or false"),
    ("TRACKER_AAVE_POOL_ADDRESSES_PROVIDER", "0x2f39", "must be 0x followed by 40 hex digits"),
    ("TRACKER_NEAR_LIQ_PCT", "5,150", "must be percentages in (0, 100)"),
    ("TRACKER_NEAR_LIQ_PCT", "nan", "must be percentages in (0, 100)"),
    ("TRACKER_NEAR_LIQ_PCT", "five", "must be numbers like '5,2'"),
    ("TRACKER_HL_DEXES", "main,FLX!", "must be 'all' or names like 'main,flx'"),
    ("TRACKER_ETH_TOKENS", "WETH:0x123", "must be a comma list of SYMBOL:0xaddress"),
    (
        "TRACKER_ETH_TOKENS",
        "A:0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2,A:0xae7ab96520de3a18e5e111b5eaab095312d7fe84",
        "lists a symbol or an address twice",
    ),
    ("TRACKER_LOG_LEVEL", "LOUD", "must be DEBUG, INFO, WARNING or ERROR"),
    ("TRACKER_LARGE_LIQUIDATION_BASIS", "notional", "must be position or liquidated"),
]
ANYTHING_GOES = {"str", "Secret", "path"}  # parsers that take every value that is not blank


@pytest.mark.parametrize(("name", "value", "says"), BAD, ids=[f"{n}={v}" for n, v, _ in BAD])
def test_a_bad_value_is_one_line_that_names_its_variable(name: str, value: str, says: str):
    with pytest.raises(ConfigError) as caught:
        from_env(**{name: value})
    message = str(caught.value)
    assert message.startswith(f"{name} {says}")
    assert "\n" not in message and KEY not in message


def test_every_kind_of_parser_has_a_bad_value_above():
    kind = {d.name: d.parse.__qualname__ for d in declarations().values()}
    kinds = set(kind.values()) - ANYTHING_GOES
    covered = {kind[name] for name, _, _ in BAD}
    assert kinds == covered
