"""
Test harness: a NautilusTrader ``BacktestEngine`` with the two cash venues, fed from the shipped catalog.

Used by strategy, leg-risk and risk tests that need more control than the ``BacktestNode`` (custom fill
models per venue, risk-engine limits, message-bus listeners).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.models import FillModel
from nautilus_trader.config import BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import PortfolioConfig
from nautilus_trader.config import RiskEngineConfig
from nautilus_trader.model.currencies import BTC
from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import Bar
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Money
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from arb_plugin.events import LEG_RISK_TOPIC
from arb_plugin.events import PAIR_CLOSED_TOPIC
from arb_plugin.events import PAIR_STATE_TOPIC
from arb_plugin.fill_model import HalfSpreadFillModel
from arb_plugin.fill_model import HalfSpreadFillModelConfig
from arb_plugin.instruments import btcusdt_binance
from arb_plugin.instruments import fx_proxy_instrument
from arb_plugin.instruments import krw_btc_upbit
from arb_plugin.pairs import make_pair
from arb_plugin.strategy import ArbitrageStrategy
from arb_plugin.strategy import ArbitrageStrategyConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
CATALOG = REPO_ROOT / "catalog"
BINANCE_BARS = "BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL"
UPBIT_BARS = "KRW-BTC.UPBIT-1-MINUTE-LAST-EXTERNAL"
FX_BARS = "KRW-USDT.UPBIT-1-DAY-LAST-EXTERNAL"


def ns(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value)


def catalog_bars(start: str, end: str, catalog: Path = CATALOG) -> list[Bar]:
    """Both legs' 1-minute bars in ``[start, end]`` plus every FX bar up to ``end`` (time order)."""
    cat = ParquetDataCatalog(str(catalog))
    legs = cat.bars(bar_types=[BINANCE_BARS, UPBIT_BARS], start=ns(start), end=ns(end))
    fx = cat.bars(bar_types=[FX_BARS], end=ns(end))
    return sorted(legs + fx, key=lambda b: b.ts_init)


def strategy_config(**overrides: Any) -> ArbitrageStrategyConfig:
    """The strategy as the backtest runs it on bars (development settings), with overrides."""
    values: dict[str, Any] = {
        "pairs": [make_pair("BTC")],
        "trade_size": Decimal("0.01"),
        "entry_threshold_bps": Decimal(100),
        "exit_threshold_bps": Decimal(0),
        "slippage_bps": Decimal(2),
        "bar_half_spread_bps": Decimal(2),
        "market_data": "bars",
        "fx_data": "bars",
        "stale_quote_ms": 0,
        "fx_max_age_secs": 4 * 86_400,
    }
    values.update(overrides)
    return ArbitrageStrategyConfig(**values)


@dataclass
class Recorder:
    """Collects what the strategy publishes on the message bus."""

    states: list[Any] = field(default_factory=list)
    closed: list[Any] = field(default_factory=list)
    leg_risk: list[Any] = field(default_factory=list)

    def attach(self, engine: BacktestEngine) -> None:
        bus = engine.kernel.msgbus
        bus.subscribe(PAIR_STATE_TOPIC, self.states.append)
        bus.subscribe(PAIR_CLOSED_TOPIC, self.closed.append)
        bus.subscribe(LEG_RISK_TOPIC, self.leg_risk.append)


def make_engine(
    binance_balances: tuple[Money, ...] = (Money(20_000, USDT), Money("0.2", BTC)),
    upbit_balances: tuple[Money, ...] = (Money(30_000_000, KRW), Money("0.2", BTC), Money(0, USDT)),
    fill_models: dict[str, FillModel] | None = None,
    risk: RiskEngineConfig | None = None,
    account_type: AccountType = AccountType.CASH,
    log_level: str = "ERROR",
) -> BacktestEngine:
    """A BacktestEngine with BINANCE and UPBIT venues and the three instruments."""
    engine = BacktestEngine(
        BacktestEngineConfig(
            portfolio=PortfolioConfig(use_mark_xrates=True),
            risk_engine=risk or RiskEngineConfig(),
            logging=LoggingConfig(log_level=log_level),
        ),
    )
    fill_models = fill_models or {}
    half_spread = HalfSpreadFillModelConfig(half_spread_bps="2")
    for venue, balances in (("BINANCE", binance_balances), ("UPBIT", upbit_balances)):
        engine.add_venue(
            venue=Venue(venue),
            oms_type=OmsType.NETTING,
            account_type=account_type,
            base_currency=None,
            starting_balances=list(balances),
            fill_model=fill_models.get(venue, HalfSpreadFillModel(half_spread)),
            bar_execution=True,
        )
    for instrument in (btcusdt_binance(), krw_btc_upbit(), fx_proxy_instrument()):
        engine.add_instrument(instrument)
    return engine


def run_strategy(
    start: str,
    end: str,
    config: ArbitrageStrategyConfig | None = None,
    engine: BacktestEngine | None = None,
    data: list[Any] | None = None,
) -> tuple[BacktestEngine, ArbitrageStrategy, Recorder]:
    """Run the strategy over the catalog window (or ``data``); the caller disposes the engine."""
    engine = engine or make_engine()
    strategy = ArbitrageStrategy(config or strategy_config())
    engine.add_strategy(strategy)
    recorder = Recorder()
    recorder.attach(engine)
    engine.add_data(data if data is not None else catalog_bars(start, end))
    engine.run()
    return engine, strategy, recorder


def fills_of(engine: BacktestEngine) -> list[Any]:
    """Every OrderFilled in time order, with the order's tags attached as ``(fill, order)``."""
    from nautilus_trader.model.events import OrderFilled

    out = []
    for order in engine.cache.orders():
        for event in order.events:
            if isinstance(event, OrderFilled):
                out.append((event, order))
    out.sort(key=lambda x: (x[0].ts_event, x[0].client_order_id.value))
    return out


def clientless_node_config(**overrides: Any) -> Any:
    """
    A ``TradingNodeConfig`` for a live node without venue clients (orders never leave the process): short
    timeouts, graceful shutdown on engine exceptions, no reconciliation; ``overrides`` replace any field.
    """
    from nautilus_trader.config import LiveDataEngineConfig
    from nautilus_trader.config import LiveExecEngineConfig
    from nautilus_trader.config import LiveRiskEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.config import PortfolioConfig
    from nautilus_trader.config import TradingNodeConfig

    fields: dict[str, Any] = {
        "trader_id": "TESTER-001",
        "logging": LoggingConfig(log_level="ERROR"),
        "data_engine": LiveDataEngineConfig(graceful_shutdown_on_exception=True),
        "risk_engine": LiveRiskEngineConfig(graceful_shutdown_on_exception=True),
        "exec_engine": LiveExecEngineConfig(reconciliation=False, graceful_shutdown_on_exception=True),
        "portfolio": PortfolioConfig(use_mark_xrates=True),
        "timeout_connection": 1,
        "timeout_reconciliation": 1,
        "timeout_portfolio": 1,
        "timeout_disconnection": 0.1,
        "timeout_post_stop": 0.1,
        "timeout_shutdown": 0.5,
    }
    fields.update(overrides)
    return TradingNodeConfig(**fields)
