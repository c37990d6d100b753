"""The paper/live node builder: what it derives from the settings, and what it refuses."""

from __future__ import annotations

import re

import pytest
from nautilus_trader.adapters.binance import BinanceAccountType

from arb_plugin.cli import main
from arb_plugin.nodes.live import LiveNodeError
from arb_plugin.nodes.live import TradingMode
from arb_plugin.nodes.live import binance_data_config
from arb_plugin.nodes.live import binance_exec_config
from arb_plugin.nodes.live import complete_balances
from arb_plugin.nodes.live import instrument_currencies
from arb_plugin.nodes.live import require_live_credentials
from arb_plugin.nodes.live import sandbox_exec_config
from arb_plugin.nodes.live import venue_instrument_ids
from arb_plugin.settings import Settings
from arb_plugin.settings import load_settings

KEYS = {
    "BINANCE_API_KEY": "k" * 24, "BINANCE_API_SECRET": "s" * 24,
    "UPBIT_ACCESS_KEY": "a" * 24, "UPBIT_SECRET_KEY": "u" * 24,
}


def _settings(**environ: str) -> Settings:
    return load_settings("development", environ=environ)


def test_instruments_and_currencies() -> None:
    settings = _settings()
    assert venue_instrument_ids(settings) == {
        "BINANCE": ["BTCUSDT.BINANCE"],
        "UPBIT": ["KRW-BTC.UPBIT", "KRW-USDT.UPBIT"],
    }
    assert instrument_currencies("KRW-BTC.UPBIT") == {"KRW", "BTC"}
    assert instrument_currencies("KRW-USDT.UPBIT") == {"KRW", "USDT"}
    assert instrument_currencies("BTCUSDT.BINANCE") == {"BTC", "USDT"}
    assert instrument_currencies("ETHUSDT-PERP.BINANCE") == {"ETH", "USDT"}
    with pytest.raises(LiveNodeError, match=r"XYZ\.BINANCE: cannot tell its currencies"):
        instrument_currencies("XYZ.BINANCE")


def test_paper_venues_are_funded_cash_accounts_with_explicit_zeros() -> None:
    settings = _settings(ARB_NODE__PAPER_STARTING_BALANCES='{"BINANCE": ["20000 USDT"], "UPBIT": ["1000000 KRW"]}')
    binance = sandbox_exec_config(settings, "BINANCE")
    upbit = sandbox_exec_config(settings, "UPBIT")
    assert (binance.venue, binance.account_type, binance.oms_type) == ("BINANCE", "CASH", "NETTING")
    assert binance.starting_balances == ["20000 USDT", "0 BTC"]
    assert upbit.starting_balances == ["1000000 KRW", "0 BTC", "0 USDT"]
    assert complete_balances(["1 BTC"], {"BTC", "KRW"}) == ["1 BTC", "0 KRW"]


def test_paper_needs_balances() -> None:
    settings = _settings(ARB_NODE__PAPER_STARTING_BALANCES='{"BINANCE": ["1 BTC"]}')
    with pytest.raises(LiveNodeError, match=r"node.paper_starting_balances.UPBIT is not set"):
        sandbox_exec_config(settings, "UPBIT")


def test_futures_paper_venue_is_margin() -> None:
    settings = _settings(ARB_VENUES__BINANCE__ACCOUNT_TYPE="usdt_futures")
    assert sandbox_exec_config(settings, "BINANCE").account_type == "MARGIN"
    assert binance_data_config(settings).account_type == BinanceAccountType.USDT_FUTURES


def test_binance_data_client_from_settings() -> None:
    settings = _settings(
        ARB_VENUES__BINANCE__BASE_URL_HTTP="http://127.0.0.1:18080/",
        ARB_VENUES__BINANCE__BASE_URL_WS="ws://127.0.0.1:18081",
        **KEYS,
    )
    config = binance_data_config(settings)
    assert config.account_type == BinanceAccountType.SPOT
    assert config.base_url_http == "http://127.0.0.1:18080"
    assert config.base_url_ws == "ws://127.0.0.1:18081"
    assert config.api_key == KEYS["BINANCE_API_KEY"]
    assert config.instrument_provider.load_ids == frozenset({"BTCUSDT.BINANCE"})


def test_binance_execution_client_gets_its_own_websocket_urls() -> None:
    # the exec client's base_url_ws is Binance's WS-API (user-data logon), not the market-data stream: a
    # setting for each, so an overridden venue is overridden for execution too
    settings = _settings(
        ARB_VENUES__BINANCE__BASE_URL_HTTP="http://127.0.0.1:18080",
        ARB_VENUES__BINANCE__BASE_URL_WS="ws://127.0.0.1:18081",
        ARB_VENUES__BINANCE__BASE_URL_WS_API="ws://127.0.0.1:18082/ws-api/v3",
        ARB_VENUES__BINANCE__BASE_URL_WS_STREAM="ws://127.0.0.1:18083/private",
        **KEYS,
    )
    config = binance_exec_config(settings)
    assert config.base_url_http == "http://127.0.0.1:18080"
    assert config.base_url_ws == "ws://127.0.0.1:18082/ws-api/v3"
    assert config.base_url_ws_stream == "ws://127.0.0.1:18083/private"
    assert binance_data_config(settings).base_url_ws == "ws://127.0.0.1:18081"
    unset = binance_exec_config(_settings(**KEYS))
    assert (unset.base_url_ws, unset.base_url_ws_stream) == (None, None)  # NautilusTrader's defaults


@pytest.mark.parametrize(
    ("url", "message"),
    [("ftp://x", "must be a URL starting with ws:// or wss://"), ("ws://u:pw@h:1", "carries a password")],
)
def test_bad_venue_urls_are_refused(url: str, message: str) -> None:
    from arb_plugin.errors import SettingsError

    with pytest.raises(SettingsError, match=re.escape(message)):
        _settings(ARB_VENUES__BINANCE__BASE_URL_WS=url)


def test_live_needs_both_venues_keys_and_confirmation() -> None:
    with pytest.raises(LiveNodeError, match="not set: BINANCE_API_KEY, BINANCE_API_SECRET, UPBIT_ACCESS_KEY, "
                                            "UPBIT_SECRET_KEY"):
        require_live_credentials(_settings(), confirmed=True)
    only_binance = {k: v for k, v in KEYS.items() if k.startswith("BINANCE")}
    with pytest.raises(LiveNodeError, match="not set: UPBIT_ACCESS_KEY, UPBIT_SECRET_KEY"):
        require_live_credentials(_settings(**only_binance), confirmed=True)
    with pytest.raises(LiveNodeError, match="confirm with --confirm-live"):
        require_live_credentials(_settings(**KEYS), confirmed=False)
    require_live_credentials(_settings(**KEYS), confirmed=True)
    with pytest.raises(LiveNodeError, match="venues.binance.environment = 'testnet': live trading needs Binance's live"):
        require_live_credentials(_settings(**KEYS, ARB_VENUES__BINANCE__ENVIRONMENT="testnet"), confirmed=True)


@pytest.mark.parametrize(
    ("keys", "flags", "message"),
    [({}, ["--confirm-live"], "not set: BINANCE_API_KEY"), (KEYS, [], "confirm with --confirm-live")],
)
def test_arb_live_refuses_before_connecting(
    keys: dict[str, str], flags: list[str], message: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("ARB_SHARED_DIR", raising=False)
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    assert main(["--env", "development", "live", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arb live: error: live trading")
    assert message in err
    for value in keys.values():
        assert value not in err


def test_trader_id_is_validated() -> None:
    from arb_plugin.errors import SettingsError

    with pytest.raises(SettingsError, match=r"node.trader_id = 'ARB': Value error, must look like NAME-TAG"):
        _settings(ARB_NODE__TRADER_ID="ARB")


def test_paper_and_live_differ_only_in_execution() -> None:
    from nautilus_trader.adapters.binance import BinanceDataClientConfig
    from nautilus_trader.adapters.binance import BinanceExecClientConfig
    from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
    from nautilus_trader.config import LoggingConfig

    from adapters.upbit.config import UpbitDataClientConfig
    from adapters.upbit.config import UpbitExecClientConfig
    from arb_plugin.nodes.live import _state_bridge
    from arb_plugin.nodes.live import build_node_config

    settings = _settings(**KEYS)
    configs = {
        mode: build_node_config(settings, mode, "s1", LoggingConfig(), _state_bridge(settings, "s1", mode))
        for mode in TradingMode
    }
    paper, live = configs[TradingMode.PAPER], configs[TradingMode.LIVE]
    assert paper.data_clients == live.data_clients
    assert isinstance(paper.data_clients["BINANCE"], BinanceDataClientConfig)
    assert isinstance(paper.data_clients["UPBIT"], UpbitDataClientConfig)
    assert {type(c) for c in paper.exec_clients.values()} == {SandboxExecutionClientConfig}
    assert isinstance(live.exec_clients["BINANCE"], BinanceExecClientConfig)
    assert isinstance(live.exec_clients["UPBIT"], UpbitExecClientConfig)
    for config in configs.values():
        # The same strategy (quotes, decision latency on) and actors: state bridge first, then metrics.
        (strategy,) = config.strategies
        assert strategy.strategy_path == "arb_plugin.strategy:ArbitrageStrategy"
        assert strategy.config["market_data"] == "quotes"
        assert strategy.config["emit_decision_latency"] is True
        assert [a.actor_path for a in config.actors] == [
            "arb_plugin.state.bridge:StateBridge", "arb_plugin.observability.metrics:MetricsCollector",
        ]
        assert config.data_engine.graceful_shutdown_on_exception  # reference §9 P2
        assert config.risk_engine.graceful_shutdown_on_exception
        assert config.exec_engine.graceful_shutdown_on_exception
        assert config.portfolio.use_mark_xrates
    bridge = {m: c.actors[0].config for m, c in configs.items()}
    assert bridge[TradingMode.PAPER]["mode"] == "paper" and bridge[TradingMode.LIVE]["mode"] == "live"


@pytest.mark.parametrize(
    ("logging", "event_lines"),
    [
        ({}, True),  # NautilusTrader's default: INFO to stdout
        ({"log_level": "OFF", "log_level_file": "DEBUG"}, True),  # routed, development
        ({"log_level": "OFF", "log_level_file": "INFO"}, True),  # routed, staging
        ({"log_level": "OFF", "log_level_file": "WARNING"}, False),  # routed, production
        ({"log_level": "WARN"}, False),
        ({"log_level": "ERROR", "log_level_file": "INFO"}, True),
    ],
)
def test_the_strategy_formats_event_and_command_lines_only_where_info_is_kept(
    logging: dict[str, str], event_lines: bool,
) -> None:
    from nautilus_trader.config import LoggingConfig

    from arb_plugin.nodes.live import _state_bridge
    from arb_plugin.nodes.live import build_node_config

    settings = _settings(**KEYS)
    config = build_node_config(
        settings, TradingMode.PAPER, "s1", LoggingConfig(**logging), _state_bridge(settings, "s1", TradingMode.PAPER)
    )
    (strategy,) = config.strategies
    assert strategy.config["log_events"] is event_lines
    assert strategy.config["log_commands"] is event_lines
