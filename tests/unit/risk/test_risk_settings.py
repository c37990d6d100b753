"""RiskSettings: per-environment limits, clear errors, and the limits the guard is built with."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from arb_plugin.errors import SettingsError
from arb_plugin.risk.guard import guard_limits
from arb_plugin.settings import RiskSettings
from arb_plugin.settings import load_settings

SEC = 1_000_000_000
CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"


@pytest.mark.parametrize("env", ["development", "staging", "production"])
def test_every_environment_configures_every_risk_key(env: str) -> None:
    text = (CONFIG_DIR / f"{env}.toml").read_text()
    section = text.split("[risk]", 1)[1].split("\n[", 1)[0]
    keys = {line.split("=", 1)[0].strip() for line in section.splitlines() if "=" in line and not line.startswith("#")}
    assert keys == set(RiskSettings.model_fields) - {"symbols"}
    settings = load_settings(env, config_dir=CONFIG_DIR, environ={})
    assert settings.risk.enabled


def test_production_is_tighter_than_development() -> None:
    dev = load_settings("development", config_dir=CONFIG_DIR, environ={}).risk
    prod = load_settings("production", config_dir=CONFIG_DIR, environ={}).risk
    assert prod.max_daily_loss_krw < dev.max_daily_loss_krw
    assert prod.max_portfolio_exposure_krw < dev.max_portfolio_exposure_krw


def test_environment_override() -> None:
    settings = load_settings(
        "development",
        config_dir=CONFIG_DIR,
        environ={"ARB_RISK__MAX_DAILY_LOSS_KRW": "123456", "ARB_RISK__SYMBOLS": '{"BTCUSDT": {"cooldown_secs": 5}}'},
    )
    assert settings.risk.max_daily_loss_krw == Decimal("123456")
    assert settings.risk.symbols["BTCUSDT"].cooldown_secs == 5


def test_a_symbol_override_by_environment_path_reaches_the_symbol() -> None:
    # environment paths arrive lower-cased: the symbol must still be the pair's, or the guard never sees it
    settings = load_settings(
        "development", config_dir=CONFIG_DIR, environ={"ARB_RISK__SYMBOLS__BTCUSDT__MAX_POSITION_KRW": "1000"},
    )
    assert settings.risk.symbols["BTCUSDT"].max_position_krw == Decimal("1000")


def test_a_limit_for_a_symbol_no_pair_trades_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"risk.symbols \['BTCUSD'\]: not a configured pair's symbol"):
        load_settings("development", config_dir=CONFIG_DIR, environ={"ARB_RISK__SYMBOLS": '{"BTCUSD": {}}'})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAX_DAILY_LOSS_KRW", "-5", "risk.max_daily_loss_krw = '-5': Input should be greater than 0"),
        ("TRADING_DAY_TIMEZONE", "Mars/Olympus", "trading_day_timezone = 'Mars/Olympus': Value error, must be an IANA"),
        ("TRADING_DAY_START_HOUR", "24", "trading_day_start_hour = '24': Input should be less than or equal to 23"),
        ("DRAWDOWN_WINDOW", "week", "risk.drawdown_window = 'week': Input should be 'session' or 'day'"),
        ("MAX_DRAWDWON_KRW", "5", "risk.max_drawdwon_krw = '5': unknown field"),
        ("SYMBOLS", '{"BTCUSDT.BINANCE": {}}', "must be a pair symbol such as 'BTCUSDT' (no venue suffix)"),
    ],
)
def test_invalid_values_name_field_value_and_what_is_allowed(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as e:
        load_settings("development", config_dir=CONFIG_DIR, environ={f"ARB_RISK__{name}": value})
    assert message in str(e.value)


def test_guard_limits_from_settings() -> None:
    settings = load_settings(
        "development",
        config_dir=CONFIG_DIR,
        environ={"ARB_RISK__SYMBOLS": '{"BTCUSDT": {"max_position_krw": "8000000", "cooldown_secs": 0}}'},
    )
    risk = settings.risk
    limits = guard_limits(risk, settings.strategy.data)
    assert limits.max_position_size == risk.max_position_krw
    assert limits.max_portfolio_exposure == risk.max_portfolio_exposure_krw
    assert limits.cooldown_ns == risk.cooldown_secs * SEC
    assert limits.for_symbol("ETHUSDT").max_position == risk.max_symbol_position_krw
    assert limits.for_symbol("ETHUSDT").cooldown_ns == risk.symbol_cooldown_secs * SEC
    btc = limits.for_symbol("BTCUSDT")
    assert (btc.max_position, btc.cooldown_ns, btc.max_daily_loss) == (
        Decimal("8000000"),
        0,
        risk.max_symbol_daily_loss_krw,
    )
    assert limits.max_data_age_ns == settings.strategy.data.stale_quote_ms * 1_000_000
    assert limits.max_fx_age_ns == settings.strategy.data.fx_max_age_secs * SEC
    assert limits.trading_day.timezone == "Asia/Seoul" and limits.trading_day.start_hour == 0
    backtest = guard_limits(risk, settings.backtest.data)
    assert backtest.max_data_age_ns == settings.backtest.data.stale_quote_ms * 1_000_000
    assert guard_limits(risk, None).max_data_age_ns is None
