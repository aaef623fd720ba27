"""Settings, read from the environment and an optional .env file in one place only.

Every endpoint is overridable; the defaults point at the real services. The environment wins
over `.env`. The tracker is read-only by design: a value that looks like a private key is refused.

Each setting is declared once, as a field of `Settings` that names its variable, its parser and
its default; `Settings.from_env` is one loop over those fields. A variable unset or blank takes
the default; a value the parser refuses is one `ConfigError` line that starts with the variable's
name. URLs that may carry keys, and tokens, are `Secret`s: stars when shown, `.reveal()` to use.
Hand-rolled rather than pydantic-settings (which issue 13 suggested) for start-up: importing
pydantic alone costs about 75 ms, and `tracker --help` must start within 0.2 s of a bare
interpreter (tests/test_startup.py). About 400 lines: the table, the parsers it names and the .env
reading stay together, so that one file says everything about every setting.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Generic, TypeVar

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from tracker.errors import ConfigError
from tracker.redact import Secret, redact_url

DEFAULT_HL_API_URL = "https://api.hyperliquid.xyz"
DEFAULT_HL_WS_URL = "wss://api.hyperliquid.xyz/ws"
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
_URL = re.compile(r"(https?|wss?)://[^\s/]+(/\S*)?")
_READ = "tracker.config.read"  # a field's metadata key for its Read

T = TypeVar("T")
# What an unset variable takes when its default depends on the environment or on a setting
# declared above it: (environment, the settings read so far) -> value.
Unset = Callable[[Mapping[str, str], Mapping[str, Any]], T]


class Invalid(Exception):
    """A value a parser refuses; its message follows the variable's name ("must be ...")."""


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """Where a setting comes from: its variable and the parser of a value that is not blank."""

    name: str
    parse: Callable[[str], T]
    unset: Unset[T] | None = None  # None: the field's default


def setting(
    name: str, parse: Callable[[str], T], default: T, *, unset: Unset[T] | None = None
) -> T:
    """A field of Settings read from variable name: parse(value) when set, else default."""
    return field(default=default, metadata={_READ: Read(name, parse, unset)})


def declarations() -> dict[str, Read[Any]]:
    """Each field of Settings -> the variable it is read from, and how."""
    return {f.name: f.metadata[_READ] for f in fields(Settings)}


# --- parsers: a value that is not blank -> the setting, or Invalid -----------------------------


def url(value: str) -> str:
    if not _URL.fullmatch(value):
        raise Invalid(f"must be an http(s) or ws(s) URL, got {_shown_url(value)!r}")
    return value.rstrip("/")


def secret_url(value: str) -> Secret:
    """A URL that may carry a key (an RPC's path, a webhook's token)."""
    return Secret(url(value))


def token(value: str) -> Secret:
    """A shared secret of at least 16 printable characters."""
    if len(value) < 16 or not value.isprintable() or value != value.strip():
        raise Invalid("must be at least 16 printable characters, no spaces at the ends")
    return Secret(value)


def whole(minimum: int) -> Callable[[str], int]:
    """A parser of whole numbers of at least minimum."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise Invalid(f"must be a whole number, got {value!r}") from None
        if number < minimum:
            raise Invalid(f"must be at least {minimum}, got {number}")
        return number

    return parse


def whole_within(minimum: int, maximum: int) -> Callable[[str], int]:
    """A parser of whole numbers from minimum to maximum."""
    at_least = whole(minimum)

    def parse(value: str) -> int:
        number = at_least(value)
        if number > maximum:
            raise Invalid(f"must be at most {maximum}, got {number}")
        return number

    return parse


def seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise Invalid(f"must be a number of seconds, got {value!r}") from None
    if not number > 0:
        raise Invalid(f"must be positive, got {value!r}")
    return number


def finite_seconds(value: str) -> float:
    number = seconds(value)
    if not math.isfinite(number):
        raise Invalid(f"must be a finite number of seconds, got {number}")
    return number


def amount(value: str) -> Decimal:
    """A non-negative decimal (USD)."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise Invalid(f"must be a number, got {value!r}") from None
    if not number.is_finite() or number < 0:
        raise Invalid(f"must be a non-negative number, got {value!r}")
    return number


def flag(value: str) -> bool:
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise Invalid(f"must be true or false, got {value!r}")


def address(value: str) -> str:
    if not _ADDRESS.match(value.strip()):
        raise Invalid(f"must be 0x followed by 40 hex digits, got {value[:60]!r}")
    return value.strip()


def path(value: str) -> Path:
    return Path(value).expanduser()


def percentages(value: str) -> tuple[Decimal, ...]:
    """Comma-separated percentages in (0, 100), highest first."""
    try:
        levels = tuple(sorted({Decimal(v.strip()) for v in value.split(",")}, reverse=True))
    except ArithmeticError:
        raise Invalid(f"must be numbers like '5,2', got {value!r}") from None
    if not levels or any(not (v.is_finite() and 0 < v < 100) for v in levels):  # NaN: no <
        raise Invalid(f"must be percentages in (0, 100), got {value!r}")
    return levels


def dexes(value: str) -> tuple[str, ...] | None:
    """'all' (None) or dex names; 'main' is the main dex ("")."""
    if value.strip().lower() == "all":
        return None
    names = [part.strip() for part in value.split(",")]
    if any(not re.match(r"^(main|[a-z0-9]{1,16})$", n) for n in names):
        raise Invalid(f"must be 'all' or names like 'main,flx', got {value!r}")
    return tuple("" if n == "main" else n for n in names)


def token_list(value: str) -> tuple[tuple[str, str, int | None], ...]:
    """SYMBOL:address[:decimals], comma separated; addresses lower-cased."""
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
            raise Invalid(
                "must be a comma list of SYMBOL:0xaddress[:decimals] "
                f"(not ETH, decimals <= 36), got {item.strip()[:80]!r}"
            )
        tokens.append((parts[0], parts[1].lower(), int(parts[2]) if len(parts) == 3 else None))
    if len({t[0] for t in tokens}) != len(tokens) or len({t[1] for t in tokens}) != len(tokens):
        raise Invalid("lists a symbol or an address twice")
    return tuple(tokens)


def liquidation_basis(value: str) -> str:
    text = value.strip().lower()
    if text not in ("position", "liquidated"):
        raise Invalid(f"must be position or liquidated, got {value[:60]!r}")
    return text


def level(value: str) -> str:
    upper = value.upper()
    if upper not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise Invalid(f"must be DEBUG, INFO, WARNING or ERROR, got {value!r}")
    return upper


# --- the settings -------------------------------------------------------------------------------


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
    """Everything configurable, with units in the names where there are units.

    One declaration per setting: setting(variable, parser, default), read by `from_env`.
    Built directly (tests, benchmarks), every field but db_path has its default.
    """

    # Required when built directly; from the environment, the XDG data dir when TRACKER_DB is unset.
    db_path: Path = field(
        metadata={_READ: Read("TRACKER_DB", path, unset=lambda env, _: default_db_path(env))}
    )
    hl_api_url: str = setting("TRACKER_HL_API_URL", url, DEFAULT_HL_API_URL)
    # From the environment, TRACKER_HL_WS_URL unset: the one that goes with hl_api_url.
    hl_ws_url: str = setting(
        "TRACKER_HL_WS_URL",
        url,
        DEFAULT_HL_WS_URL,
        unset=lambda _, got: derived_ws_url(got["hl_api_url"]),
    )
    # GET {url}/Mainnet/leaderboard
    hl_stats_url: str = setting("TRACKER_HL_STATS_URL", url, "https://stats-data.hyperliquid.xyz")
    # 0 lifts the limiter (benchmarks only)
    hl_weight_per_min: int = setting("TRACKER_HL_WEIGHT_PER_MIN", whole(0), 1200)
    # None = every dex perpDexs lists; "" = main dex
    hl_dexes: tuple[str, ...] | None = setting("TRACKER_HL_DEXES", dexes, None)
    hl_concurrency: int = setting("TRACKER_HL_CONCURRENCY", whole(1), 16)
    http_timeout_s: float = setting("TRACKER_HTTP_TIMEOUT", seconds, 10.0)
    http_retries: int = setting("TRACKER_HTTP_RETRIES", whole(0), 5)
    markets_ttl_s: float = setting("TRACKER_MARKETS_TTL", seconds, 30.0)
    history_max_age_s: float = setting("TRACKER_HISTORY_MAX_AGE", seconds, 300.0)
    # tracker run: history due only by age, at most this
    history_weight_per_min: int = setting("TRACKER_HISTORY_WEIGHT_PER_MIN", whole(0), 600)
    funding_max_age_s: float = setting("TRACKER_FUNDING_MAX_AGE", seconds, 3600.0)
    # tracker run --discover: leaderboard re-read (a sleep: finite)
    discover_interval_s: float = setting("TRACKER_DISCOVER_INTERVAL", finite_seconds, 3600.0)
    eth_rpc_url: Secret | None = setting("TRACKER_ETH_RPC_URL", secret_url, None)
    # when set, the RPC must serve this chain
    eth_chain_id: int | None = setting("TRACKER_ETH_CHAIN_ID", whole(1), None)
    # lower-case addresses
    eth_tokens: tuple[tuple[str, str, int | None], ...] = setting(
        "TRACKER_ETH_TOKENS", token_list, DEFAULT_ETH_TOKENS
    )
    # log scans never read the newest N blocks (reorg buffer)
    eth_confirmations: int = setting("TRACKER_ETH_CONFIRMATIONS", whole(0), 12)
    # where a log scan without a cursor starts: head - N (~1 day)
    eth_lookback_blocks: int = setting("TRACKER_ETH_LOOKBACK_BLOCKS", whole(0), 7200)
    # eth_getLogs block range per request (halved on refusal)
    eth_log_chunk_blocks: int = setting("TRACKER_ETH_LOG_CHUNK_BLOCKS", whole(1), 2000)
    # Aave v3 Core market on Ethereum: Pool, oracle and data provider are resolved from it on chain.
    aave_pool_addresses_provider: str = setting(
        "TRACKER_AAVE_POOL_ADDRESSES_PROVIDER",
        address,
        "0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e",
    )
    large_liquidation_usd: Decimal = setting(
        "TRACKER_LARGE_LIQUIDATION_USD", amount, Decimal(1_000_000)
    )
    # what the threshold compares: the position the venue began to liquidate (known at its first
    # slice) or the notional liquidated so far
    large_liquidation_basis: str = setting(
        "TRACKER_LARGE_LIQUIDATION_BASIS", liquidation_basis, "position"
    )
    # whale moves: a change at least this
    position_alert_usd: Decimal = setting("TRACKER_POSITION_ALERT_USD", amount, Decimal(1_000_000))
    # changes of one account and coin this close: one move
    position_alert_cooldown_s: float = setting("TRACKER_POSITION_ALERT_COOLDOWN", seconds, 60.0)
    # tape: one hash and taker, notional
    liquidation_candidate_usd: Decimal = setting(
        "TRACKER_LIQUIDATION_CANDIDATE_USD", amount, Decimal(200_000)
    )
    # userFillsByTime share of the budget
    liquidation_confirm_weight_per_min: int = setting(
        "TRACKER_LIQUIDATION_CONFIRM_WEIGHT_PER_MIN", whole(1), 300
    )
    # WebSocket user slots (of the IP's 10) for confirmations by userFills snapshot; 0: REST only
    liquidation_confirm_ws_users: int = setting(
        "TRACKER_LIQUIDATION_CONFIRM_WS_USERS", whole_within(0, 10), 3
    )
    transfer_min_usd: Decimal = setting("TRACKER_TRANSFER_MIN_USD", amount, Decimal(1_000_000))
    webhook_url: Secret | None = setting("TRACKER_WEBHOOK_URL", secret_url, None)
    discord_webhook_url: Secret | None = setting("TRACKER_DISCORD_WEBHOOK_URL", secret_url, None)
    slack_webhook_url: Secret | None = setting("TRACKER_SLACK_WEBHOOK_URL", secret_url, None)
    telegram_bot_token: Secret | None = setting("TRACKER_TELEGRAM_BOT_TOKEN", Secret, None)
    telegram_chat_id: str | None = setting("TRACKER_TELEGRAM_CHAT_ID", str, None)
    telegram_api_url: str = setting("TRACKER_TELEGRAM_API_URL", url, "https://api.telegram.org")
    alerts_jsonl: Path | None = setting("TRACKER_ALERTS_JSONL", path, None)
    near_liq_pct: tuple[Decimal, ...] = setting(
        "TRACKER_NEAR_LIQ_PCT", percentages, (Decimal(5), Decimal(2))
    )
    liquidation_gap_s: float = setting("TRACKER_LIQUIDATION_GAP", seconds, 900.0)
    follow_liquidators: bool = setting("TRACKER_FOLLOW_LIQUIDATORS", flag, True)
    log_level: str = setting("TRACKER_LOG_LEVEL", level, "WARNING")
    # tracker serve off loopback
    serve_token: Secret | None = setting("TRACKER_SERVE_TOKEN", token, None)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, dotenv_path: Path | None = None
    ) -> Settings:
        """Read settings from env (default os.environ) layered over a .env file."""
        merged = environment(env, dotenv_path=dotenv_path)
        got: dict[str, Any] = {}
        for f in fields(cls):
            source: Read[Any] = f.metadata[_READ]
            value = merged.get(source.name, "")
            if value.strip():
                try:
                    got[f.name] = source.parse(value)
                except Invalid as exc:
                    raise ConfigError(f"{source.name} {exc}") from None
            else:
                got[f.name] = f.default if source.unset is None else source.unset(merged, got)
        return cls(**got)

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or error messages: of each secret setting, a
        URL's key-like parts (its host stays readable), a token whole."""
        from tracker.redact import secret_parts

        values = (getattr(self, f.name) for f in fields(self))
        return [part for v in values if isinstance(v, Secret) for part in secret_parts(v.reveal())]


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


def _shown_url(value: str) -> str:
    """What an error shows of a bad URL: scheme and host, never the path (keys and tokens)."""
    scheme, sep, rest = value.partition("://")
    host, slash, _ = (rest if sep else value).partition("/")
    shown = f"{scheme}{sep}{host}" if sep else host
    return redact_url(shown + ("/…" if slash else ""))[:60]
