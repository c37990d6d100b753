"""``[venues.upbit]`` settings: defaults, validation messages, no secrets in files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from arb_plugin.errors import SettingsError
from arb_plugin.settings import UpbitVenueSettings
from arb_plugin.settings import load_settings


@pytest.mark.parametrize("env", ["development", "staging", "production"])
def test_every_config_file_carries_the_upbit_section(repo_root: Path, env: str) -> None:
    settings = load_settings(env, repo_root / "config", environ={})
    upbit = settings.venues.upbit
    assert upbit.jwt_algorithm == "HS512"
    assert upbit.order_rate_per_sec is None  # the documented limit for the date
    assert upbit.http_timeout_secs == Decimal("10")


def test_bad_values_name_field_value_and_what_is_allowed(repo_root: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(
            "development",
            repo_root / "config",
            environ={
                "ARB_VENUES__UPBIT__JWT_ALGORITHM": "RS256",
                "ARB_VENUES__UPBIT__BASE_URL_HTTP": "ftp://x",
            },
        )
    message = str(info.value)
    assert "venues.upbit.jwt_algorithm = 'RS256'" in message
    assert "'HS512' or 'HS256'" in message
    assert "venues.upbit.base_url_http = 'ftp://x'" in message
    assert "http:// or https://" in message


def test_keys_are_refused_in_the_file(tmp_path: Path, repo_root: Path) -> None:
    text = (repo_root / "config" / "development.toml").read_text()
    (tmp_path / "development.toml").write_text(text.replace("[venues.upbit]", '[venues.upbit]\nsecret_key = "x"'))
    with pytest.raises(SettingsError, match=r"'venues\.upbit\.secret_key' is a secret"):
        load_settings("development", tmp_path, environ={})


def test_overrides_are_accepted() -> None:
    upbit = UpbitVenueSettings(base_url_http="http://127.0.0.1:1", base_url_ws="ws://127.0.0.1:1/websocket/v1")
    assert upbit.base_url_http == "http://127.0.0.1:1"


def test_the_upbit_settings_reach_both_clients(repo_root: Path) -> None:
    from adapters.upbit.enums import UpbitJwtAlgorithm
    from arb_plugin.nodes.live import upbit_data_config
    from arb_plugin.nodes.live import upbit_exec_config

    environ = {
        "ARB_VENUES__UPBIT__JWT_ALGORITHM": "HS256",
        "ARB_VENUES__UPBIT__ORDER_RATE_PER_SEC": "1",
        "ARB_VENUES__UPBIT__HTTP_TIMEOUT_SECS": "3",
        "ARB_VENUES__UPBIT__REST_POLL_INTERVAL_SECS": "7",
    }
    settings = load_settings("staging", repo_root / "config", environ=environ)
    data, execution = upbit_data_config(settings), upbit_exec_config(settings)
    for config in (data, execution):
        assert config.jwt_algorithm is UpbitJwtAlgorithm.HS256
        assert config.order_rate_per_sec == 1.0
        assert config.http_timeout_secs == 3.0
    assert data.rest_poll_interval_secs == 7.0  # the market-data REST fallback while the socket is down
