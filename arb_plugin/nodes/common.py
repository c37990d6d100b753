"""What every node builder shares: the strategy's importable configuration built from the settings."""

from __future__ import annotations

from typing import Any

from nautilus_trader.config import ImportableStrategyConfig

from arb_plugin.settings import MarketDataSettings
from arb_plugin.settings import StrategySettings

STRATEGY_PATH = "arb_plugin.strategy:ArbitrageStrategy"
STRATEGY_CONFIG_PATH = "arb_plugin.strategy:ArbitrageStrategyConfig"


def strategy_config_dict(strategy: StrategySettings, data: MarketDataSettings, **extra: Any) -> dict[str, Any]:
    """
    The ``ArbitrageStrategyConfig`` fields for ``strategy`` priced from ``data``.

    ``data`` is ``strategy.data`` for live and paper nodes and ``backtest.data`` for the backtest: the node
    builder picks it, the strategy never asks which mode it runs in.
    """
    fields: dict[str, Any] = strategy.model_dump(mode="json", exclude={"pairs", "data"})
    fields.update(data.model_dump(mode="json"))
    fields["pairs"] = [
        {
            "binance_instrument_id": pair.binance,
            "upbit_instrument_id": pair.upbit,
            "fx_instrument_id": pair.fx,
        }
        for pair in strategy.pairs
    ]
    fields.update(extra)
    return fields


def strategy_config(strategy: StrategySettings, data: MarketDataSettings, **extra: Any) -> ImportableStrategyConfig:
    """The ``ImportableStrategyConfig`` any NautilusTrader node can load."""
    return ImportableStrategyConfig(
        strategy_path=STRATEGY_PATH,
        config_path=STRATEGY_CONFIG_PATH,
        config=strategy_config_dict(strategy, data, **extra),
    )
