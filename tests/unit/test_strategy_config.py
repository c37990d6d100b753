"""ArbitrageStrategyConfig: importable, validated, and in step with the settings model."""

from decimal import Decimal
from pathlib import Path

import pytest
from nautilus_trader.config import ImportableStrategyConfig
from nautilus_trader.trading.config import StrategyFactory

from arb_plugin.nodes.common import strategy_config
from arb_plugin.pairs import make_pair
from arb_plugin.pairs import upbit_symbol_for
from arb_plugin.settings import MarketDataSettings
from arb_plugin.settings import StrategySettings
from arb_plugin.settings import load_settings
from arb_plugin.strategy import ArbitrageStrategy
from arb_plugin.strategy import ArbitrageStrategyConfig

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_every_settings_field_is_a_config_field():
    config_fields = set(ArbitrageStrategyConfig.__struct_fields__)
    settings_fields = (set(StrategySettings.model_fields) - {"data"}) | set(MarketDataSettings.model_fields)
    assert settings_fields <= config_fields, settings_fields - config_fields


def test_importable_from_settings_builds_the_strategy():
    s = load_settings("development", CONFIG, environ={})
    importable = strategy_config(s.strategy, s.backtest.data)
    assert isinstance(importable, ImportableStrategyConfig)
    strategy = StrategyFactory.create(importable)
    assert isinstance(strategy, ArbitrageStrategy)
    cfg = strategy.config
    assert cfg.trade_size == Decimal("0.01") and cfg.market_data == "bars"
    assert [p.symbol for p in cfg.pairs] == ["BTCUSDT"]


def test_importable_by_path_from_any_deployment():
    importable = ImportableStrategyConfig(
        strategy_path="arb_plugin.strategy:ArbitrageStrategy",
        config_path="arb_plugin.strategy:ArbitrageStrategyConfig",
        config={
            "pairs": [
                {
                    "binance_instrument_id": "BTCUSDT.BINANCE",
                    "upbit_instrument_id": "KRW-BTC.UPBIT",
                    "fx_instrument_id": "KRW-USDT.UPBIT",
                },
                {
                    "binance_instrument_id": "ETHUSDT.BINANCE",
                    "upbit_instrument_id": "KRW-ETH.UPBIT",
                    "fx_instrument_id": "KRW-USDT.UPBIT",
                },
            ],
            "entry_threshold_bps": "80",
        },
    )
    strategy = StrategyFactory.create(importable)
    assert [p.symbol for p in strategy.config.pairs] == ["BTCUSDT", "ETHUSDT"]
    assert strategy.config.entry_threshold_bps == Decimal(80)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"threshold_mode": "often"}, "threshold_mode='often': must be one of absolute, relative"),
        ({"market_data": "ticks"}, "market_data='ticks': must be one of quotes, bars"),
        ({"leg_risk_policy": "hope"}, "leg_risk_policy='hope': must be one of unwind, rehedge"),
        ({"trade_size": Decimal(0)}, "trade_size=0: must be > 0"),
        ({"exit_threshold_bps": Decimal(200)}, "exit_threshold_bps=200: must be below entry_threshold_bps=100"),
        ({"pairs": []}, "at least one pair"),
        ({"slippage_bps": Decimal("0.0000001")}, "more than 6 decimal places"),
    ],
)
def test_config_errors(overrides, message):
    values = {"pairs": [make_pair("BTC")], **overrides}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ArbitrageStrategyConfig(**values)


def test_symbol_mapping():
    assert upbit_symbol_for("BTCUSDT") == "KRW-BTC"
    assert make_pair("ETH").upbit_instrument_id.value == "KRW-ETH.UPBIT"
    with pytest.raises(ValueError, match="not a USDT-quoted"):
        upbit_symbol_for("BTCKRW")


@pytest.mark.parametrize(
    ("override", "claimed"),
    [
        ({}, ["BTCUSDT.BINANCE", "KRW-BTC.UPBIT"]),  # unset: every leg (a resume adopts its own orders)
        ({"ARB_STRATEGY__EXTERNAL_ORDER_CLAIMS": "[]"}, []),  # none: found orders go to EXTERNAL
        ({"ARB_STRATEGY__EXTERNAL_ORDER_CLAIMS": '["KRW-BTC.UPBIT"]'}, ["KRW-BTC.UPBIT"]),
    ],
)
def test_external_order_claims_come_from_the_settings(override, claimed):
    s = load_settings("production", CONFIG, environ=override)
    strategy = StrategyFactory.create(strategy_config(s.strategy, s.strategy.data))
    assert [str(i) for i in strategy.config.external_order_claims] == claimed
