"""
Settings: frozen pydantic models loaded from ``config/{env}.toml`` plus ``ARB_*`` environment overrides.

Rules
-----
- The environment is chosen by ``ARB_ENV`` (or the caller); its file is ``config/{env}.toml``.
- Any value may be overridden by ``ARB_<SECTION>__<FIELD>`` (double underscore between levels), e.g.
  ``ARB_STRATEGY__TRADE_SIZE=0.02``. Values that start with ``[`` or ``{`` are read as JSON.
- Secrets (API keys, DSNs with passwords) are read from the environment only; a config file that carries
  one is refused. Secrets are ``SecretStr`` and never printed.
- Every invalid value stops start-up with a :class:`SettingsError` naming the field, the value and what is
  allowed.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from typing import Any
from typing import ClassVar
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import SecretStr
from pydantic import ValidationError
from pydantic import field_validator
from pydantic import model_validator

from arb_plugin.errors import SettingsError

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent


class Environment(StrEnum):
    """Deployment environment; each has its own ``config/{value}.toml``."""

    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"

    @property
    def short(self) -> str:
        """Short name used in the Redis keyspace (``arbitrage:{short}:...``)."""
        return {"development": "dev", "staging": "stg", "production": "prod"}[self.value]


PositiveDecimal = Annotated[Decimal, Field(gt=0)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0)]
PositiveInt = Annotated[int, Field(gt=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def _check_instrument_id(value: str, venue: str) -> str:
    symbol, sep, got_venue = value.rpartition(".")
    if not sep or not symbol or got_venue != venue:
        raise ValueError(f"must be an instrument id 'SYMBOL.{venue}'")
    if "/" in symbol:
        raise ValueError("must not contain '/' (use e.g. KRW-BTC)")
    return value


class PairSettings(_Frozen):
    """One arbitrage pair: the Binance leg, the Upbit leg and the FX instrument pricing KRW in USDT."""

    binance: str
    upbit: str
    fx: str

    @field_validator("binance")
    @classmethod
    def _binance(cls, v: str) -> str:
        return _check_instrument_id(v, "BINANCE")

    @field_validator("upbit", "fx")
    @classmethod
    def _upbit(cls, v: str) -> str:
        return _check_instrument_id(v, "UPBIT")


class MarketDataSettings(_Frozen):
    """
    What the strategy's market data looks like, per data source.

    Live and paper nodes take ``[strategy.data]`` (quotes); the backtest takes ``[backtest.data]`` (the
    catalog's resolution). The node builder is the only place that picks one.
    """

    market_data: Literal["quotes", "bars"]
    bar_spec: str = "1-MINUTE-LAST-EXTERNAL"
    fx_data: Literal["quotes", "bars"]
    fx_bar_spec: str = "1-DAY-LAST-EXTERNAL"
    stale_quote_ms: Annotated[int, Field(ge=0)]
    fx_max_age_secs: PositiveInt


class StrategySettings(_Frozen):
    """Values for :class:`arb_plugin.strategy.ArbitrageStrategyConfig` (one field each, same names)."""

    pairs: tuple[PairSettings, ...] = Field(min_length=1)
    trade_size: PositiveDecimal
    entry_threshold_bps: Decimal
    exit_threshold_bps: Decimal
    threshold_mode: Literal["absolute", "relative"]
    baseline_window_mins: PositiveInt
    baseline_min_samples: PositiveInt
    max_holding_mins: PositiveInt | None = None
    slippage_bps: NonNegativeDecimal
    bar_half_spread_bps: NonNegativeDecimal
    outlier_jump_pct: PositiveDecimal
    outlier_confirm_count: PositiveInt
    leg_risk_policy: Literal["unwind", "rehedge"]
    max_rehedge_attempts: Annotated[int, Field(ge=0)]
    leg_timeout_ms: PositiveInt
    unwind_slippage_bps: NonNegativeDecimal
    # Leg instruments whose orders NautilusTrader's reconciliation hands to the strategy on a restart (unset:
    # every leg; [] claims none, and orders found at a venue go to EXTERNAL, which a resume cannot adopt).
    external_order_claims: tuple[str, ...] | None = None
    data: MarketDataSettings

    @model_validator(mode="after")
    def _claims(self) -> StrategySettings:
        legs = {i for pair in self.pairs for i in (pair.binance, pair.upbit)}
        for claim in self.external_order_claims or ():
            if claim not in legs:
                raise ValueError(
                    f"external_order_claims: {claim!r} is not a leg of a configured pair ({', '.join(sorted(legs))})",
                )
        return self

    @model_validator(mode="after")
    def _thresholds(self) -> StrategySettings:
        if self.exit_threshold_bps >= self.entry_threshold_bps:
            raise ValueError(
                f"exit_threshold_bps ({self.exit_threshold_bps}) must be below entry_threshold_bps "
                f"({self.entry_threshold_bps}), or every entry would exit at once",
            )
        return self


class BacktestSettings(_Frozen):
    """What ``arb backtest`` runs on and writes to."""

    catalog: Path
    out: Path
    data: MarketDataSettings
    start: str | None = None
    end: str | None = None
    starting_balances: dict[Literal["BINANCE", "UPBIT"], tuple[str, ...]]
    latency_ms: dict[Literal["BINANCE", "UPBIT"], Annotated[int, Field(ge=0)]] = Field(default_factory=dict)

    @field_validator("starting_balances")
    @classmethod
    def _balances(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for venue, balances in v.items():
            for item in balances:
                amount, _, ccy = item.partition(" ")
                try:
                    ok = Decimal(amount) >= 0 and ccy.isalpha() and ccy.isupper()
                except ArithmeticError:
                    ok = False
                if not ok:
                    raise ValueError(f"{venue}: {item!r} must look like '100000 USDT' (amount, space, currency)")
        return v


NonNegativeInt = Annotated[int, Field(ge=0)]


class SymbolRiskSettings(_Frozen):
    """Per-symbol overrides of the symbol-level limits (``[risk.symbols.BTCUSDT]``); unset keeps the default."""

    max_position_krw: PositiveDecimal | None = None
    max_daily_loss_krw: PositiveDecimal | None = None
    cooldown_secs: NonNegativeInt | None = None
    max_unhedged_krw: PositiveDecimal | None = None


class RiskSettings(_Frozen):
    """
    Risk guard limits (see ``arb_plugin.risk``), in KRW through the mark FX rate.

    Levels: global (``max_position_krw`` per instrument position, daily loss, drawdown, cooldown), portfolio
    (``max_portfolio_exposure_krw``), symbol (``max_symbol_*``, ``symbol_cooldown_secs``, ``max_unhedged_krw``,
    overridable per symbol in ``symbols``). Data-age limits come from the market data settings of the mode.
    """

    enabled: bool = True
    max_position_krw: PositiveDecimal = Decimal("5000000")  # MAX_POSITION_SIZE: one instrument (one leg)
    max_symbol_position_krw: PositiveDecimal = Decimal("10000000")  # MAX_SYMBOL_POSITION: both legs
    max_portfolio_exposure_krw: PositiveDecimal = Decimal("50000000")
    max_daily_loss_krw: PositiveDecimal = Decimal("500000")  # MAX_DAILY_LOSS -> HALTED
    max_symbol_daily_loss_krw: PositiveDecimal = Decimal("200000")  # MAX_SYMBOL_DAILY_LOSS -> symbol blocked
    max_drawdown_krw: PositiveDecimal = Decimal("1000000")  # MAX_DRAWDOWN -> HALTED
    drawdown_window: Literal["session", "day"] = "session"
    cooldown_secs: NonNegativeInt = 300  # COOLDOWN (0 disables)
    cooldown_min_loss_krw: NonNegativeDecimal = Decimal("100000")
    symbol_cooldown_secs: NonNegativeInt = 60  # SYMBOL_COOLDOWN (0 disables)
    max_unhedged_krw: PositiveDecimal = Decimal("500000")  # LEG_IMBALANCE
    stale_data_guard: bool = True
    flatten_on_halt: bool = True
    trading_day_timezone: str = "Asia/Seoul"
    trading_day_start_hour: Annotated[int, Field(ge=0, le=23)] = 0
    symbols: dict[str, SymbolRiskSettings] = Field(default_factory=dict)

    @field_validator("trading_day_timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo
        from zoneinfo import ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError("must be an IANA time zone name such as 'Asia/Seoul' or 'UTC'") from e
        return v

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, v: dict[str, SymbolRiskSettings]) -> dict[str, SymbolRiskSettings]:
        for symbol in v:
            if not symbol or symbol != symbol.strip() or "." in symbol:
                raise ValueError(f"{symbol!r}: must be a pair symbol such as 'BTCUSDT' (no venue suffix)")
        # symbols are upper case (ARB_RISK__SYMBOLS__BTCUSDT__... arrives lower-cased, like every env path)
        upper = {symbol.upper(): limits for symbol, limits in v.items()}
        if len(upper) != len(v):
            raise ValueError(f"{sorted(v)}: the same symbol given twice (symbols are case-insensitive)")
        return upper


class StateSettings(_Frozen):
    """
    Where application state lives and how often it is written (see ``arb_plugin.state``).

    Redis is primary (the keyspace of ``arb_plugin.state.keys``); PostgreSQL keeps snapshots and takes
    the writes while Redis is unreachable.
    """

    redis_url: str = "redis://127.0.0.1:6379/0"
    postgres_dsn: str = "postgresql://postgres@127.0.0.1:5432/test"
    postgres_schema: str = "public"  # where `arb db migrate` puts the tables
    redis_pool_size: Annotated[int, Field(ge=2, le=256)] = 8  # one pool for the whole process
    redis_timeout_ms: Annotated[int, Field(ge=10, le=60_000)] = 500  # connect and socket timeout
    redis_retry_secs: Annotated[float, Field(gt=0, le=60)] = 1.0  # probe interval while Redis is away
    flush_interval_ms: Annotated[int, Field(ge=10, le=60_000)] = 1000  # bridge batch: at most one per interval
    refresh_interval_secs: Annotated[int, Field(ge=1, le=3_600)] = 60  # re-derive PORTFOLIO, renew TTLs
    pg_snapshot_interval_secs: Annotated[int, Field(ge=1, le=86_400)] = 60  # PORTFOLIO rows in PostgreSQL
    heartbeat_interval_secs: Annotated[float, Field(gt=0, le=300)] = 5.0  # wall clock, session liveness
    heartbeat_timeout_secs: Annotated[float, Field(gt=0, le=86_400)] = 30.0  # older: the session crashed
    retention_days: Annotated[int, Field(ge=1, le=3_650)] = 30  # `arb db cleanup` default

    @field_validator("redis_url", "postgres_dsn")
    @classmethod
    def _no_password(cls, v: str) -> str:
        if urlsplit(v).password:
            raise ValueError("carries a password: secrets come from the environment (see Secrets)")
        return v

    @field_validator("postgres_schema")
    @classmethod
    def _schema(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", v):
            raise ValueError("must be a lower-case SQL identifier (letters, digits, '_'; at most 63)")
        return v

    @model_validator(mode="after")
    def _heartbeat(self) -> StateSettings:
        if self.heartbeat_timeout_secs <= 2 * self.heartbeat_interval_secs:
            raise ValueError(
                f"heartbeat_timeout_secs ({self.heartbeat_timeout_secs}) must exceed twice "
                f"heartbeat_interval_secs ({self.heartbeat_interval_secs}), or a live session looks crashed",
            )
        return self


class ObservabilitySettings(_Frozen):
    """
    Logging, metrics and health check (see ``arb_plugin.observability``).

    The log levels and backends per environment are the SPEC's table and live in
    ``arb_plugin.observability.logging.LOG_POLICIES``: they are fixed by design, not settings.
    """

    log_dir: Path = Path("logs")
    log_stream_maxlen: PositiveInt = 1000
    log_pg_batch_size: PositiveInt = 500
    log_pg_flush_ms: PositiveInt = 1000
    metrics_window_secs: PositiveInt = 60
    metrics_flush_ms: PositiveInt = 1000
    health_host: str = "127.0.0.1"
    health_port: Annotated[int, Field(ge=0, le=65535)] = 8080
    health_check_timeout_ms: PositiveInt = 500

    @field_validator("health_host")
    @classmethod
    def _host(cls, v: str) -> str:
        try:
            ipaddress.ip_address(v)
        except ValueError:
            if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", v):
                raise ValueError(
                    "must be an IP address or host name, e.g. 127.0.0.1 (0.0.0.0 in a container)",
                ) from None
        return v


def _check_url(value: str | None, schemes: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}")
    if parts.password:
        raise ValueError("carries a password: secrets come from the environment (see Secrets)")
    return value.rstrip("/")


class BinanceVenueSettings(_Frozen):
    """
    Binance through NautilusTrader's built-in adapter (``nautilus_trader.adapters.binance``).

    ``base_url_http`` / ``base_url_ws`` override the adapter's URLs (tests point them at the loopback fake):
    ``base_url_ws`` is the market-data stream. The execution client (live mode) has its own WebSocket URLs:
    ``base_url_ws_api`` (Binance's WS-API, where it logs on for user data; NautilusTrader's exec
    ``base_url_ws``) and ``base_url_ws_stream`` (the futures user-data stream).
    """

    account_type: Literal["spot", "usdt_futures"] = "spot"
    environment: Literal["live", "testnet", "demo"] = "live"
    base_url_http: str | None = None
    base_url_ws: str | None = None
    base_url_ws_api: str | None = None
    base_url_ws_stream: str | None = None
    us: bool = False
    update_instruments_interval_mins: PositiveInt | None = 60

    @field_validator("base_url_http")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        return _check_url(v, ("http", "https"))

    @field_validator("base_url_ws", "base_url_ws_api", "base_url_ws_stream")
    @classmethod
    def _ws(cls, v: str | None) -> str | None:
        return _check_url(v, ("ws", "wss"))


class UpbitVenueSettings(_Frozen):
    """
    Upbit connection settings (``adapters.upbit``); keys come from UPBIT_ACCESS_KEY / UPBIT_SECRET_KEY only.

    ``order_rate_per_sec`` unset means Upbit's documented order limit for the date (8/s, 12/s from
    2026-08-21 21:00 KST).
    """

    base_url_http: str | None = None
    base_url_ws: str | None = None
    base_url_ws_private: str | None = None
    jwt_algorithm: Literal["HS512", "HS256"] = "HS512"
    order_rate_per_sec: PositiveDecimal | None = None
    http_timeout_secs: PositiveDecimal = Decimal("10")
    rest_poll_interval_secs: PositiveDecimal = Decimal("1")

    @field_validator("base_url_http")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and urlsplit(v).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL, e.g. https://api.upbit.com")
        return v

    @field_validator("base_url_ws", "base_url_ws_private")
    @classmethod
    def _ws_url(cls, v: str | None) -> str | None:
        if v is not None and urlsplit(v).scheme not in ("ws", "wss"):
            raise ValueError("must be a ws:// or wss:// URL, e.g. wss://api.upbit.com/websocket/v1")
        return v


class VenuesSettings(_Frozen):
    binance: BinanceVenueSettings = BinanceVenueSettings()
    upbit: UpbitVenueSettings = UpbitVenueSettings()


VenueName = Literal["BINANCE", "UPBIT"]


def _check_balances(v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    for venue, balances in v.items():
        for item in balances:
            amount, _, ccy = item.partition(" ")
            try:
                ok = Decimal(amount) >= 0 and ccy.isalpha() and ccy.isupper()
            except ArithmeticError:
                ok = False
            if not ok:
                raise ValueError(
                    f"{venue}: {item!r} must look like '100000 USDT' (amount, space, currency)",
                )
    return v


class NodeSettings(_Frozen):
    """
    The paper and live ``TradingNode`` (see ``arb_plugin.nodes.live``).

    ``paper_starting_balances`` fund the sandbox cash account of each venue in paper mode; the node adds an
    explicit zero for every other currency of that venue's instruments (reference §9 P3).
    ``inline_dispatch`` runs quotes, order commands and execution commands on the caller's stack instead of
    through the live engines' queues (:mod:`arb_plugin.nodes.dispatch`).
    """

    trader_id: str = "ARB-001"
    paper_starting_balances: Annotated[dict[VenueName, tuple[str, ...]], AfterValidator(_check_balances)] = (
        Field(default_factory=dict)
    )
    cancel_orders_on_stop: bool = True
    timeout_connection_secs: PositiveInt = 30
    timeout_disconnection_secs: PositiveInt = 10
    timeout_post_stop_secs: Annotated[float, Field(gt=0, le=600)] = 3.0
    reconciliation_lookback_mins: PositiveInt | None = 1440
    reconciliation_startup_delay_secs: Annotated[float, Field(gt=0, le=600)] = 10.0
    inline_dispatch: bool = True

    @field_validator("trader_id")
    @classmethod
    def _trader_id(cls, v: str) -> str:
        name, sep, tag = v.rpartition("-")
        if not sep or not name or not tag or any(c.isspace() for c in v):
            raise ValueError("must look like NAME-TAG, e.g. ARB-001 (NautilusTrader TraderId)")
        return v


class Secrets(_Frozen):
    """Secrets, read from the environment only (never from a config file)."""

    binance_api_key: SecretStr | None = None
    binance_api_secret: SecretStr | None = None
    upbit_access_key: SecretStr | None = None
    upbit_secret_key: SecretStr | None = None
    redis_url: SecretStr | None = None
    postgres_dsn: SecretStr | None = None

    ENV_NAMES: ClassVar[tuple[tuple[str, str], ...]] = (
        ("binance_api_key", "BINANCE_API_KEY"),
        ("binance_api_secret", "BINANCE_API_SECRET"),
        ("upbit_access_key", "UPBIT_ACCESS_KEY"),
        ("upbit_secret_key", "UPBIT_SECRET_KEY"),
        ("redis_url", "ARB_REDIS_URL"),
        ("postgres_dsn", "ARB_POSTGRES_DSN"),
    )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Secrets:
        """Read every secret from ``environ`` (empty values count as absent)."""
        values = {field: SecretStr(environ[name]) for field, name in cls.ENV_NAMES if environ.get(name)}
        return cls(**values)

    def values(self) -> list[str]:
        """Every secret value that is set (for redaction)."""
        out = []
        for field, _ in self.ENV_NAMES:
            secret = getattr(self, field)
            if secret is not None:
                out.append(secret.get_secret_value())
                password = urlsplit(secret.get_secret_value()).password
                if password:
                    out.append(password)
        return out


class Settings(_Frozen):
    """Everything a node needs, immutable once loaded."""

    env: Environment
    strategy: StrategySettings
    backtest: BacktestSettings
    risk: RiskSettings = RiskSettings()
    state: StateSettings = StateSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    venues: VenuesSettings = VenuesSettings()
    node: NodeSettings = NodeSettings()
    secrets: Secrets = Secrets()

    @model_validator(mode="after")
    def _risk_symbols_are_pairs(self) -> Settings:
        # a limit for a symbol no pair trades (a typo) would be silently ignored by the guard
        pairs = {p.binance.partition(".")[0] for p in self.strategy.pairs}
        unknown = sorted(set(self.risk.symbols) - pairs)
        if unknown:
            raise ValueError(
                f"risk.symbols {unknown}: not a configured pair's symbol (pairs: {', '.join(sorted(pairs))})",
            )
        return self

    @property
    def redis_url(self) -> str:
        """The Redis URL to use: the secret one from the environment when set."""
        return self.secrets.redis_url.get_secret_value() if self.secrets.redis_url else self.state.redis_url

    @property
    def postgres_dsn(self) -> str:
        """The PostgreSQL DSN to use: the secret one from the environment when set."""
        if self.secrets.postgres_dsn:
            return self.secrets.postgres_dsn.get_secret_value()
        return self.state.postgres_dsn


# -- loading -------------------------------------------------------------------------------------------

_SECRET_KEYS = frozenset(
    {"api_key", "api_secret", "secret", "secret_key", "access_key", "password", "private_key", "token"},
)
ENV_PREFIX = "ARB_"
_RESERVED_ENV = frozenset({"ARB_ENV", "ARB_CONFIG_DIR", "ARB_REDIS_URL", "ARB_POSTGRES_DSN"})


def default_config_dir() -> Path:
    """``$ARB_CONFIG_DIR``, else ``./config`` when present, else the repository's ``config/``."""
    if env_dir := os.environ.get("ARB_CONFIG_DIR"):
        return Path(env_dir)
    cwd_dir = Path.cwd() / "config"
    return cwd_dir if cwd_dir.is_dir() else REPO_ROOT / "config"


def _refuse_secrets(data: Any, path: str, source: str) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else key
            if key.lower() in _SECRET_KEYS:
                raise SettingsError(
                    f"{source}: '{where}' is a secret; secrets come from the environment only "
                    f"(BINANCE_API_KEY, BINANCE_API_SECRET, UPBIT_ACCESS_KEY, UPBIT_SECRET_KEY, "
                    f"ARB_REDIS_URL, ARB_POSTGRES_DSN)",
                )
            _refuse_secrets(value, where, source)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            _refuse_secrets(item, f"{path}[{i}]", source)


def _apply_env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    for name, raw in sorted(environ.items()):
        # only ARB_<SECTION>__<FIELD>...: other ARB_* variables (ARB_ENV, ARB_SHARED_DIR, ...) are not settings
        if not name.startswith(ENV_PREFIX) or name in _RESERVED_ENV or "__" not in name:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if any(not p for p in parts):
            raise SettingsError(f"environment {name}: empty path segment; use ARB_<SECTION>__<FIELD>")
        value: Any = raw
        if raw[:1] in "[{":
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as e:
                raise SettingsError(f"environment {name}={raw!r}: not valid JSON ({e.msg})") from e
        node = data
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SettingsError(f"environment {name}: '{part}' is a value, not a section")
            node = child
        node[parts[-1]] = value
    return data


_URL_PASSWORD = re.compile(r"(://[^/@:\s]*:)[^/@\s]*@")  # scheme://user:password@ -> scheme://user:***@


def _format_validation_error(error: ValidationError, source: str) -> str:
    lines = [f"invalid settings ({source}):"]
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "<root>"
        value = item.get("input")
        if isinstance(value, dict):
            value = "{...}"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown field (not in the settings model; check the spelling)"
        if isinstance(value, str):
            value = _URL_PASSWORD.sub(r"\1***@", value)  # an error about a password must not print it
        lines.append(f"  - {field} = {value!r}: {message}")
    return "\n".join(lines)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"{path}: not valid TOML: {e}") from e


def load_settings(
    env: str | None = None,
    config_dir: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | str | None = None,
) -> Settings:
    """
    Load, merge and validate the settings for one environment.

    Parameters
    ----------
    env : str, optional
        ``development``, ``staging`` or ``production``; default ``$ARB_ENV`` or ``development``.
    config_dir : Path, optional
        Folder holding ``{env}.toml``; default :func:`default_config_dir`.
    environ : Mapping[str, str], optional
        The environment to read overrides and secrets from; default ``os.environ``.
    config_file : Path, optional
        Read this file instead of ``{config_dir}/{env}.toml``; the environment is then its ``env`` key
        (or ``env``/``ARB_ENV``).

    Raises
    ------
    SettingsError
        Naming the field, the value and what is allowed.
    """
    environ = os.environ if environ is None else environ
    allowed = ", ".join(e.value for e in Environment)
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise SettingsError(f"config file {path} not found")
        data = _read_toml(path)
        env = env or data.get("env") or environ.get("ARB_ENV") or Environment.DEVELOPMENT.value
    else:
        env = env or environ.get("ARB_ENV") or Environment.DEVELOPMENT.value
        folder = Path(config_dir) if config_dir is not None else default_config_dir()
        path = folder / f"{env}.toml"
        if env in {e.value for e in Environment} and not path.is_file():
            raise SettingsError(f"config file {path} not found (env={env!r}; expected config/{{{allowed}}}.toml)")
    if env not in {e.value for e in Environment}:
        raise SettingsError(f"env = {env!r}: must be one of {allowed}")
    if config_file is None:
        data = _read_toml(path)
    _refuse_secrets(data, "", str(path))
    if "env" in data and data["env"] != env:
        raise SettingsError(f"{path}: env = {data['env']!r} does not match the file's environment {env!r}")
    data["env"] = env
    if "secrets" in data:
        raise SettingsError(f"{path}: a [secrets] section is not allowed; secrets come from the environment only")
    data = _apply_env_overrides(data, environ)
    if "secrets" in data:
        raise SettingsError(
            "environment ARB_SECRETS__*: secrets are read from their own variables "
            "(BINANCE_API_KEY, UPBIT_ACCESS_KEY, ARB_POSTGRES_DSN, ...)"
        )
    try:
        secrets = Secrets.from_environ(environ)
        return Settings(**data, secrets=secrets)
    except ValidationError as e:
        raise SettingsError(_format_validation_error(e, f"{path} + ARB_* environment")) from e
