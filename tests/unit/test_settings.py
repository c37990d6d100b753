"""Settings: frozen, loaded per environment, ARB_* overrides, secrets only from the environment, clear errors."""

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from arb_plugin.errors import SettingsError
from arb_plugin.settings import Environment
from arb_plugin.settings import load_settings

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    for f in CONFIG.glob("*.toml"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def edit(config_dir: Path, env: str, old: str, new: str) -> None:
    path = config_dir / f"{env}.toml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("env", [e.value for e in Environment])
def test_every_environment_loads(env):
    s = load_settings(env, CONFIG, environ={})
    assert s.env.value == env
    assert s.strategy.pairs[0].upbit == "KRW-BTC.UPBIT"
    assert s.backtest.data.market_data == "bars" and s.strategy.data.market_data == "quotes"


def test_settings_are_frozen():
    s = load_settings("development", CONFIG, environ={})
    with pytest.raises(ValidationError, match="frozen"):
        s.strategy.trade_size = Decimal(1)  # type: ignore[misc]


def test_environment_override_nested_and_typed():
    s = load_settings(
        "development",
        CONFIG,
        environ={"ARB_STRATEGY__TRADE_SIZE": "0.02", "ARB_STRATEGY__DATA__STALE_QUOTE_MS": "1500"},
    )
    assert s.strategy.trade_size == Decimal("0.02")
    assert s.strategy.data.stale_quote_ms == 1500


def test_json_override_for_lists():
    pairs = '[{"binance": "ETHUSDT.BINANCE", "upbit": "KRW-ETH.UPBIT", "fx": "KRW-USDT.UPBIT"}]'
    s = load_settings("development", CONFIG, environ={"ARB_STRATEGY__PAIRS": pairs})
    assert [p.binance for p in s.strategy.pairs] == ["ETHUSDT.BINANCE"]


@pytest.mark.parametrize(
    ("variable", "value", "field", "allowed"),
    [
        ("ARB_STRATEGY__TRADE_SIZE", "-1", "strategy.trade_size", "greater than 0"),
        ("ARB_STRATEGY__TRADE_SIZE", "lots", "strategy.trade_size", "decimal"),
        ("ARB_STRATEGY__THRESHOLD_MODE", "sometimes", "strategy.threshold_mode", "'absolute' or 'relative'"),
        ("ARB_STRATEGY__LEG_RISK_POLICY", "pray", "strategy.leg_risk_policy", "'unwind' or 'rehedge'"),
        ("ARB_STRATEGY__DATA__STALE_QUOTE_MS", "-1", "strategy.data.stale_quote_ms", "greater than or equal to 0"),
        ("ARB_OBSERVABILITY__HEALTH_PORT", "70000", "observability.health_port", "less than or equal to 65535"),
        ("ARB_STRATEGY__MAX_REHEDGE_ATTEMPTS", "-2", "strategy.max_rehedge_attempts", "greater than or equal to 0"),
    ],
)
def test_invalid_value_names_field_value_and_allowed(variable, value, field, allowed):
    with pytest.raises(SettingsError) as e:
        load_settings("development", CONFIG, environ={variable: value})
    message = str(e.value)
    assert field in message and repr(value) in message and allowed in message


def test_invalid_pair_instrument(config_dir):
    edit(config_dir, "staging", 'upbit = "KRW-BTC.UPBIT"', 'upbit = "KRW/BTC.UPBIT"')
    with pytest.raises(SettingsError, match=r"strategy\.pairs\.0\.upbit = 'KRW/BTC.UPBIT'.*'/'"):
        load_settings("staging", config_dir, environ={})


def test_exit_threshold_must_be_below_entry():
    with pytest.raises(SettingsError, match="exit_threshold_bps .* must be below entry_threshold_bps"):
        load_settings("development", CONFIG, environ={"ARB_STRATEGY__EXIT_THRESHOLD_BPS": "150"})


def test_unknown_field_is_named(config_dir):
    edit(config_dir, "development", "trade_size =", "trade_sise = 1\ntrade_size =")
    with pytest.raises(SettingsError, match=r"strategy\.trade_sise = 1: unknown field"):
        load_settings("development", config_dir, environ={})


def test_unknown_environment():
    with pytest.raises(SettingsError, match="env = 'qa': must be one of development, staging, production"):
        load_settings("qa", CONFIG, environ={})


def test_bad_toml_names_the_file(config_dir):
    (config_dir / "production.toml").write_text("[strategy\n")
    with pytest.raises(SettingsError, match="production.toml: not valid TOML"):
        load_settings("production", config_dir, environ={})


def test_secret_in_config_file_is_refused(config_dir):
    edit(config_dir, "development", "[venues.upbit]", "[venues.upbit]\naccess_key = 'abc'")
    with pytest.raises(SettingsError, match="'venues.upbit.access_key' is a secret; secrets come from the environment"):
        load_settings("development", config_dir, environ={})


def test_dsn_with_password_in_file_is_refused(config_dir):
    edit(config_dir, "development", "postgres@127.0.0.1", "postgres:hunter2@127.0.0.1")
    with pytest.raises(SettingsError) as e:
        load_settings("development", config_dir, environ={})
    assert "state.postgres_dsn" in str(e.value) and "carries a password" in str(e.value)
    assert "hunter2" not in str(e.value) and "postgres:***@127.0.0.1" in str(e.value)  # the error hides it


def test_a_refused_dsn_override_does_not_print_its_password(config_dir):
    environ = {"ARB_STATE__POSTGRES_DSN": "postgresql://arb:Hunter2Secret@db:5432/arb"}
    with pytest.raises(SettingsError) as e:
        load_settings("development", config_dir, environ=environ)
    assert "carries a password" in str(e.value) and "Hunter2Secret" not in str(e.value)


def test_secrets_come_from_the_environment_and_stay_hidden():
    environ = {
        "UPBIT_ACCESS_KEY": "upbit-access-123",
        "UPBIT_SECRET_KEY": "upbit-secret-456",
        "ARB_POSTGRES_DSN": "postgresql://app:s3cret@db:5432/arb",
    }
    s = load_settings("production", CONFIG, environ=environ)
    assert s.secrets.upbit_access_key.get_secret_value() == "upbit-access-123"
    assert s.postgres_dsn == "postgresql://app:s3cret@db:5432/arb"
    shown = repr(s) + str(s.model_dump())
    for secret in ("upbit-access-123", "upbit-secret-456", "s3cret"):
        assert secret not in shown
    assert "s3cret" in s.secrets.values()


def test_secrets_section_via_environment_is_refused():
    with pytest.raises(SettingsError, match="ARB_SECRETS"):
        load_settings("development", CONFIG, environ={"ARB_SECRETS__UPBIT_ACCESS_KEY": "x"})


def test_config_file_option(config_dir):
    other = config_dir / "my-run.toml"
    shutil.copy(config_dir / "staging.toml", other)
    s = load_settings(config_file=other, environ={})
    assert s.env is Environment.STAGING


def test_an_external_order_claim_must_be_a_leg():
    with pytest.raises(SettingsError) as e:
        load_settings("development", CONFIG, environ={"ARB_STRATEGY__EXTERNAL_ORDER_CLAIMS": '["ETHUSDT.BINANCE"]'})
    message = str(e.value)
    assert "external_order_claims: 'ETHUSDT.BINANCE' is not a leg of a configured pair" in message
    assert "BTCUSDT.BINANCE, KRW-BTC.UPBIT" in message
