"""Settings, read from the environment and an optional .env file in one place only.

Every endpoint is overridable; the defaults point at the real services. The environment wins
over `.env`. The tracker is read-only by design: a value that looks like a private key is refused.

Longer than our ~400 lines on purpose: every setting is declared, defaulted and checked here, a
few lines each, so that one file lists them all (docs/architecture.md); splitting it would
scatter that list.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from tracker.errors import ConfigError
from tracker.redact import redact_url

DEFAULT_HL_API_URL = "https://api.hyperliquid.xyz"
DEFAULT_HL_WS_URL = "wss://api.hyperliquid.xyz/ws"
DEFAULT_HL_STATS_URL = "https://stats-data.hyperliquid.xyz"
DEFAULT_WEIGHT_PER_MIN = 1200
# Aave v3 Core market on Ethereum: Pool, oracle and data provider are resolved from it on chain.
DEFAULT_AAVE_POOL_ADDRESSES_PROVIDER = "0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e"
# SYMBOL, address, decimals of the ERC-20s valued as holdings (shared/reference/evm.md §3.2).
DEFAULT_ETH_TOKENS: tuple[tuple[str, str, int | None], ...] = (
    ("WETH", "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", 18),
    ("stETH", "0xae7ab96520de3a18e5e111b5eaab095312d7fe84", 18),
    ("wstETH", "0x7f39c581f595b53c5cb19bd0b3f8da6c935e2ca0", 18),
    ("WBTC", "0x2260fac5e5542a773aa44fbcfedf7c193bc2c599", 8),
    ("USDC", "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", 6),
    ("USDT", "0xdac17f958d2ee523a2206206994597c13d831ec7", 6),
)

_PRIVATE_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
_KEY_NAMES = ("PRIVATE_KEY", "SECRET_KEY", "MNEMONIC", "SEED_PHRASE")
_WORD = re.compile(r"^[a-z]{3,8}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def derived_ws_url(api_url: str) -> str:
    """The WebSocket URL that goes with an API URL: https://host -> wss://host/ws."""
    base = api_url.rstrip("/")
    if base == DEFAULT_HL_API_URL:
        return DEFAULT_HL_WS_URL
    return "ws" + base.removeprefix("http") + "/ws"


def status_path(db: Path) -> Path:
    """Where the running daemon writes its status for `tracker status`."""
    return db.with_name(db.name + ".status.json")


def default_db_path(env: Mapping[str, str]) -> Path:
    """Where the DuckDB file lives when neither --db nor TRACKER_DB says: the XDG data dir."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tracker" / "tracker.duckdb"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything configurable, with units in the names where there are units."""

    db_path: Path
    hl_api_url: str = DEFAULT_HL_API_URL
    hl_ws_url: str = DEFAULT_HL_WS_URL
    hl_stats_url: str = DEFAULT_HL_STATS_URL  # GET {url}/Mainnet/leaderboard
    hl_weight_per_min: int = DEFAULT_WEIGHT_PER_MIN  # 0 lifts the limiter (benchmarks only)
    hl_dexes: tuple[str, ...] | None = None  # None = every dex perpDexs lists; "" = main dex
    hl_concurrency: int = 16
    http_timeout_s: float = 10.0
    http_retries: int = 5
    markets_ttl_s: float = 30.0
    history_max_age_s: float = 300.0
    history_weight_per_min: int = 600  # tracker run: history due only by age, at most this
    funding_max_age_s: float = 3600.0
    discover_interval_s: float = 3600.0  # tracker run --discover: leaderboard re-read
    eth_rpc_url: str | None = None
    eth_chain_id: int | None = None  # when set, the RPC must serve this chain
    eth_tokens: tuple[tuple[str, str, int | None], ...] = DEFAULT_ETH_TOKENS  # lower-case addrs
    eth_confirmations: int = 12  # log scans never read the newest N blocks (reorg buffer)
    eth_lookback_blocks: int = 7200  # where a log scan without a cursor starts: head - N (~1 day)
    eth_log_chunk_blocks: int = 2000  # eth_getLogs block range per request (halved on refusal)
    aave_pool_addresses_provider: str = DEFAULT_AAVE_POOL_ADDRESSES_PROVIDER
    large_liquidation_usd: Decimal = Decimal(1_000_000)
    position_alert_usd: Decimal = Decimal(1_000_000)  # whale moves: a change at least this
    position_alert_cooldown_s: float = 60.0  # changes of one account and coin this close: one move
    liquidation_candidate_usd: Decimal = Decimal(200_000)  # tape: one hash and taker, notional
    liquidation_confirm_weight_per_min: int = 300  # userFillsByTime share of the budget
    transfer_min_usd: Decimal = Decimal(1_000_000)
    webhook_url: str | None = None
    discord_webhook_url: str | None = None
    slack_webhook_url: str | None = None
    telegram_bot_token: str | None = None
    telegram_chat_id: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    alerts_jsonl: Path | None = None
    near_liq_pct: tuple[Decimal, ...] = (Decimal(5), Decimal(2))
    liquidation_gap_s: float = 900.0
    follow_liquidators: bool = True
    log_level: str = "WARNING"
    serve_token: str | None = field(default=None, repr=False)  # tracker serve off loopback

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, dotenv_path: Path | None = None
    ) -> Settings:
        """Read settings from env (default os.environ) layered over a .env file.

        Over 80 lines on purpose: one line per setting, read as a table of names, defaults
        and checks; splitting it would scatter the settings over several functions.
        """
        merged = environment(env, dotenv_path=dotenv_path)
        get = merged.get
        db = get("TRACKER_DB")
        return cls(
            db_path=Path(db).expanduser() if db else default_db_path(merged),
            hl_api_url=_url(get("TRACKER_HL_API_URL"), DEFAULT_HL_API_URL, "TRACKER_HL_API_URL"),
            hl_ws_url=_url(
                get("TRACKER_HL_WS_URL"),
                derived_ws_url(get("TRACKER_HL_API_URL") or DEFAULT_HL_API_URL),
                "TRACKER_HL_WS_URL",
            ),
            hl_stats_url=_url(
                get("TRACKER_HL_STATS_URL"), DEFAULT_HL_STATS_URL, "TRACKER_HL_STATS_URL"
            ),
            hl_weight_per_min=_int(
                get("TRACKER_HL_WEIGHT_PER_MIN"),
                DEFAULT_WEIGHT_PER_MIN,
                "TRACKER_HL_WEIGHT_PER_MIN",
                minimum=0,
            ),
            hl_dexes=_dexes(get("TRACKER_HL_DEXES")),
            hl_concurrency=_int(
                get("TRACKER_HL_CONCURRENCY"), 16, "TRACKER_HL_CONCURRENCY", minimum=1
            ),
            http_timeout_s=_float(get("TRACKER_HTTP_TIMEOUT"), 10.0, "TRACKER_HTTP_TIMEOUT"),
            http_retries=_int(get("TRACKER_HTTP_RETRIES"), 5, "TRACKER_HTTP_RETRIES", minimum=0),
            markets_ttl_s=_float(get("TRACKER_MARKETS_TTL"), 30.0, "TRACKER_MARKETS_TTL"),
            history_max_age_s=_float(
                get("TRACKER_HISTORY_MAX_AGE"), 300.0, "TRACKER_HISTORY_MAX_AGE"
            ),
            funding_max_age_s=_float(
                get("TRACKER_FUNDING_MAX_AGE"), 3600.0, "TRACKER_FUNDING_MAX_AGE"
            ),
            history_weight_per_min=_int(
                get("TRACKER_HISTORY_WEIGHT_PER_MIN"),
                600,
                "TRACKER_HISTORY_WEIGHT_PER_MIN",
                minimum=0,
            ),
            discover_interval_s=_finite(
                _float(get("TRACKER_DISCOVER_INTERVAL"), 3600.0, "TRACKER_DISCOVER_INTERVAL"),
                "TRACKER_DISCOVER_INTERVAL",
            ),
            eth_rpc_url=_opt_url(get("TRACKER_ETH_RPC_URL"), "TRACKER_ETH_RPC_URL"),
            eth_chain_id=(
                _int(get("TRACKER_ETH_CHAIN_ID"), 1, "TRACKER_ETH_CHAIN_ID", minimum=1)
                if get("TRACKER_ETH_CHAIN_ID")
                else None
            ),
            eth_tokens=_eth_tokens(get("TRACKER_ETH_TOKENS")),
            eth_confirmations=_int(
                get("TRACKER_ETH_CONFIRMATIONS"), 12, "TRACKER_ETH_CONFIRMATIONS", minimum=0
            ),
            eth_lookback_blocks=_int(
                get("TRACKER_ETH_LOOKBACK_BLOCKS"), 7200, "TRACKER_ETH_LOOKBACK_BLOCKS", minimum=0
            ),
            eth_log_chunk_blocks=_int(
                get("TRACKER_ETH_LOG_CHUNK_BLOCKS"), 2000, "TRACKER_ETH_LOG_CHUNK_BLOCKS", minimum=1
            ),
            aave_pool_addresses_provider=_address(
                get("TRACKER_AAVE_POOL_ADDRESSES_PROVIDER"),
                DEFAULT_AAVE_POOL_ADDRESSES_PROVIDER,
                "TRACKER_AAVE_POOL_ADDRESSES_PROVIDER",
            ),
            large_liquidation_usd=_decimal(
                get("TRACKER_LARGE_LIQUIDATION_USD"),
                Decimal(1_000_000),
                "TRACKER_LARGE_LIQUIDATION_USD",
            ),
            position_alert_usd=_decimal(
                get("TRACKER_POSITION_ALERT_USD"), Decimal(1_000_000), "TRACKER_POSITION_ALERT_USD"
            ),
            position_alert_cooldown_s=_float(
                get("TRACKER_POSITION_ALERT_COOLDOWN"), 60.0, "TRACKER_POSITION_ALERT_COOLDOWN"
            ),
            liquidation_candidate_usd=_decimal(
                get("TRACKER_LIQUIDATION_CANDIDATE_USD"),
                Decimal(200_000),
                "TRACKER_LIQUIDATION_CANDIDATE_USD",
            ),
            liquidation_confirm_weight_per_min=_int(
                get("TRACKER_LIQUIDATION_CONFIRM_WEIGHT_PER_MIN"),
                300,
                "TRACKER_LIQUIDATION_CONFIRM_WEIGHT_PER_MIN",
                minimum=1,
            ),
            transfer_min_usd=_decimal(
                get("TRACKER_TRANSFER_MIN_USD"), Decimal(1_000_000), "TRACKER_TRANSFER_MIN_USD"
            ),
            webhook_url=_opt_url(get("TRACKER_WEBHOOK_URL"), "TRACKER_WEBHOOK_URL"),
            discord_webhook_url=_opt_url(
                get("TRACKER_DISCORD_WEBHOOK_URL"), "TRACKER_DISCORD_WEBHOOK_URL"
            ),
            slack_webhook_url=_opt_url(
                get("TRACKER_SLACK_WEBHOOK_URL"), "TRACKER_SLACK_WEBHOOK_URL"
            ),
            telegram_bot_token=get("TRACKER_TELEGRAM_BOT_TOKEN") or None,
            telegram_chat_id=get("TRACKER_TELEGRAM_CHAT_ID") or None,
            telegram_api_url=_url(
                get("TRACKER_TELEGRAM_API_URL"),
                "https://api.telegram.org",
                "TRACKER_TELEGRAM_API_URL",
            ),
            alerts_jsonl=Path(p).expanduser() if (p := get("TRACKER_ALERTS_JSONL")) else None,
            near_liq_pct=_thresholds(get("TRACKER_NEAR_LIQ_PCT")),
            follow_liquidators=_bool(
                get("TRACKER_FOLLOW_LIQUIDATORS"), True, "TRACKER_FOLLOW_LIQUIDATORS"
            ),
            liquidation_gap_s=_float(
                get("TRACKER_LIQUIDATION_GAP"), 900.0, "TRACKER_LIQUIDATION_GAP"
            ),
            log_level=_log_level(get("TRACKER_LOG_LEVEL")),
            serve_token=_token(get("TRACKER_SERVE_TOKEN"), "TRACKER_SERVE_TOKEN"),
        )

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or error messages."""
        from tracker.redact import secret_parts

        urls = (
            self.eth_rpc_url,
            self.webhook_url,
            self.discord_webhook_url,
            self.slack_webhook_url,
        )
        found = [part for url in urls if url for part in secret_parts(url)]
        if self.telegram_bot_token:
            found.append(self.telegram_bot_token)
        if self.serve_token:
            found.append(self.serve_token)
        return found


def environment(
    env: Mapping[str, str] | None = None, *, dotenv_path: Path | None = None
) -> dict[str, str]:
    """The environment (default os.environ) layered over .env; private keys refused."""
    dotenv = _read_dotenv(dotenv_path)
    # Every entry of the tracker's own .env is configuration; of the environment, TRACKER_* only.
    _refuse_private_keys(dotenv, every_name=True)
    merged = dict(dotenv)
    merged.update(os.environ if env is None else env)
    _refuse_private_keys(merged, every_name=False)
    return merged


def _read_dotenv(path: Path | None) -> dict[str, str]:
    candidate = path if path is not None else Path(os.environ.get("TRACKER_ENV_FILE", ".env"))
    if not candidate.is_file():
        return {}
    try:
        text = candidate.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{candidate}: cannot read .env file: {exc}") from None
    for binding in parse_stream(io.StringIO(text)):
        # python-dotenv skips such lines with a warning; a setting silently lost is worse.
        if binding.error or (binding.key is not None and binding.value is None):
            raise ConfigError(
                f"{candidate}: line {binding.original.line} is not KEY=VALUE "
                "(not shown: it may hold a secret)"
            )
    values = dotenv_values(stream=io.StringIO(text))
    return {k: v for k, v in values.items() if v is not None}


def _refuse_private_keys(env: Mapping[str, str], *, every_name: bool) -> None:
    for name, value in env.items():
        if not (every_name or name.startswith("TRACKER_")):
            continue
        keyish_name = any(word in name.upper() for word in _KEY_NAMES)
        if keyish_name or _PRIVATE_KEY.match(value.strip()) or _is_mnemonic(value):
            raise ConfigError(
                f"{name} looks like a private key or seed phrase (value not shown); tracker is "
                "read-only and never needs one. Remove it from the environment and .env"
            )


def _is_mnemonic(value: str) -> bool:
    """A BIP-39 seed phrase: 12 to 24 lower-case words, as wallets print them."""
    words = value.split()
    return len(words) in (12, 15, 18, 21, 24) and all(_WORD.match(w) for w in words)


def _url(value: str | None, default: str, name: str) -> str:
    if not value:
        return default
    if not re.fullmatch(r"(https?|wss?)://[^\s/]+(/\S*)?", value):
        raise ConfigError(f"{name} must be an http(s) or ws(s) URL, got {_shown_url(value)!r}")
    return value.rstrip("/")


def _shown_url(value: str) -> str:
    """What an error shows of a bad URL: scheme and host, never the path (keys and tokens)."""
    scheme, sep, rest = value.partition("://")
    host, slash, _ = (rest if sep else value).partition("/")
    shown = f"{scheme}{sep}{host}" if sep else host
    return redact_url(shown + ("/…" if slash else ""))[:60]


def _bool(value: str | None, default: bool, name: str) -> bool:
    if value is None or value.strip() == "":
        return default
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def _opt_url(value: str | None, name: str) -> str | None:
    return _url(value, "", name) or None


def _thresholds(value: str | None) -> tuple[Decimal, ...]:
    if value is None or value.strip() == "":
        return (Decimal(5), Decimal(2))
    try:
        levels = tuple(sorted({Decimal(v.strip()) for v in value.split(",")}, reverse=True))
    except ArithmeticError:
        raise ConfigError(
            f"TRACKER_NEAR_LIQ_PCT must be numbers like '5,2', got {value!r}"
        ) from None
    if not levels or any(not (0 < v < 100) for v in levels):
        raise ConfigError(f"TRACKER_NEAR_LIQ_PCT must be percentages in (0, 100), got {value!r}")
    return levels


def _int(value: str | None, default: int, name: str, *, minimum: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {number}")
    return number


def _float(value: str | None, default: float, name: str) -> float:
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}") from None
    if not number > 0:
        raise ConfigError(f"{name} must be positive, got {value!r}")
    return number


def _finite(number: float, name: str) -> float:
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be a finite number of seconds, got {number}")
    return number


def _decimal(value: str | None, default: Decimal, name: str) -> Decimal:
    if value is None or value.strip() == "":
        return default
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not number.is_finite() or number < 0:
        raise ConfigError(f"{name} must be a non-negative number, got {value!r}")
    return number


def _address(value: str | None, default: str, name: str) -> str:
    if value is None or value.strip() == "":
        return default
    if not _ADDRESS.match(value.strip()):
        raise ConfigError(f"{name} must be 0x followed by 40 hex digits, got {value[:60]!r}")
    return value.strip()


def _eth_tokens(value: str | None) -> tuple[tuple[str, str, int | None], ...]:
    """SYMBOL:address[:decimals], comma separated; addresses lower-cased."""
    if value is None or value.strip() == "":
        return DEFAULT_ETH_TOKENS
    tokens: list[tuple[str, str, int | None]] = []
    for item in value.split(","):
        parts = [p.strip() for p in item.strip().split(":")]
        ok = (
            len(parts) in (2, 3)
            and re.fullmatch(r"[A-Za-z0-9.+_-]{1,20}", parts[0]) is not None
            and _ADDRESS.match(parts[1]) is not None
            and (len(parts) == 2 or (parts[2].isdigit() and int(parts[2]) <= 36))
        )
        if not ok or parts[0].upper() == "ETH":
            raise ConfigError(
                "TRACKER_ETH_TOKENS must be a comma list of SYMBOL:0xaddress[:decimals] "
                f"(not ETH, decimals <= 36), got {item.strip()[:80]!r}"
            )
        tokens.append((parts[0], parts[1].lower(), int(parts[2]) if len(parts) == 3 else None))
    if len({t[0] for t in tokens}) != len(tokens) or len({t[1] for t in tokens}) != len(tokens):
        raise ConfigError("TRACKER_ETH_TOKENS lists a symbol or an address twice")
    return tuple(tokens)


def _dexes(value: str | None) -> tuple[str, ...] | None:
    if value is None or value.strip().lower() in ("", "all"):
        return None
    names = [part.strip() for part in value.split(",")]
    if any(not re.match(r"^(main|[a-z0-9]{1,16})$", n) for n in names):
        raise ConfigError(f"TRACKER_HL_DEXES must be 'all' or names like 'main,flx', got {value!r}")
    return tuple("" if n == "main" else n for n in names)


def _token(value: str | None, name: str) -> str | None:
    """A shared secret of at least 16 printable characters (None when unset)."""
    if not value:
        return None
    if len(value) < 16 or not value.isprintable() or value != value.strip():
        raise ConfigError(f"{name} must be at least 16 printable characters, no spaces at the ends")
    return value


def _log_level(value: str | None) -> str:
    level = (value or "WARNING").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"TRACKER_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {value!r}")
    return level
