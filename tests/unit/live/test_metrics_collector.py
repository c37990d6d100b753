"""MetricsCollector inside a NautilusTrader engine: what it reads off the message bus."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.engine import BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.currencies import BTC
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

from arb_plugin.events import DECISION_TOPIC
from arb_plugin.events import GUARD_TRIGGER_TOPIC
from arb_plugin.events import PAIR_CLOSED_TOPIC
from arb_plugin.events import DecisionLatency
from arb_plugin.events import Direction
from arb_plugin.events import GuardTriggered
from arb_plugin.events import OrderIntent
from arb_plugin.events import PairClosed
from arb_plugin.events import order_tags
from arb_plugin.observability.metrics import MetricsCollector
from arb_plugin.observability.metrics import MetricsCollectorConfig

S = 1_000_000_000
T0 = 1_700_000_000 * S
INSTRUMENT = TestInstrumentProvider.btcusdt_binance()


class _Emitter(Strategy):
    """Trades twice, gets one order denied by NautilusTrader (not a guard), publishes two decisions, two guard
    triggers and a resume, and one closed pair."""

    def __init__(self) -> None:
        super().__init__(StrategyConfig(strategy_id="EMITTER-001"))
        self.quotes = 0

    def on_start(self) -> None:
        self.subscribe_quote_ticks(INSTRUMENT.id)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.quotes += 1
        if self.quotes in (2, 3):
            order = self.order_factory.market(
                INSTRUMENT.id, OrderSide.BUY, Quantity.from_str("0.010000"),
                tags=order_tags(OrderIntent.ENTRY, "BTCUSDT"),
            )
            self.submit_order(order)
            sample = DecisionLatency("BTCUSDT", 100_000 * self.quotes, tick.ts_init)
            self.msgbus.publish(DECISION_TOPIC, sample)
        if self.quotes == 4:  # over the account's free balance: denied by NautilusTrader's own checks
            too_big = self.order_factory.market(INSTRUMENT.id, OrderSide.BUY, Quantity.from_str("50"))
            self.submit_order(too_big)
        if self.quotes == 6:
            for action in ("deny", "halt", "resume"):
                self.msgbus.publish(GUARD_TRIGGER_TOPIC, GuardTriggered(
                    "MAX_SYMBOL_POSITION", action, "BTCUSDT" if action == "deny" else None, "test", tick.ts_init,
                ))
        if self.quotes == 5:
            self.msgbus.publish(
                PAIR_CLOSED_TOPIC,
                PairClosed("BTCUSDT", Direction.BUY_BINANCE, "0.01", "-1234.5", "converged", tick.ts_init),
            )


def test_collector_reads_quotes_fills_denials_decisions_and_pnl() -> None:
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(Venue("BINANCE"), OmsType.NETTING, AccountType.CASH, base_currency=None,
                     starting_balances=[Money(100_000, USDT), Money(1, BTC)])
    engine.add_instrument(INSTRUMENT)
    quotes = [
        QuoteTick(INSTRUMENT.id, Price.from_str("50000.00"), Price.from_str("50001.00"),
                  Quantity.from_str("1.000000"), Quantity.from_str("1.000000"),
                  ts_event=T0 + i * S - 4_000_000, ts_init=T0 + i * S)  # 4 ms exchange-to-receipt
        for i in range(10)
    ]
    engine.add_data(quotes)
    collector = MetricsCollector(MetricsCollectorConfig(window_secs=60, flush_interval_ms=1000))
    engine.add_actor(collector)
    engine.add_strategy(_Emitter())
    engine.run()

    snap = collector.latest
    assert snap is not None
    assert snap.trades_per_minute == 2
    assert snap.guard_triggers_per_minute == 2  # deny + halt; neither the resume nor a non-guard denial
    assert snap.avg_ws_latency_ms == 4.0
    assert snap.ws_latency_ms_by_venue == {"BINANCE": 4.0}
    assert snap.quotes_per_minute == 10
    assert snap.quotes_per_minute_by_venue == {"BINANCE": 10}
    assert snap.avg_loop_latency_ms == (0.2 + 0.3) / 2
    assert Decimal(snap.pnl_change_1min) == Decimal("-1234.5")
    per_symbol = collector.latest_by_symbol["BTCUSDT"]
    assert per_symbol.trades_per_minute == 2
    assert per_symbol.pnl_change_1min == "-1234.5"
    assert per_symbol.guard_triggers_per_minute == 1
    engine.dispose()


def test_collector_counts_a_quote_after_the_strategy_has_decided_on_it() -> None:
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(Venue("BINANCE"), OmsType.NETTING, AccountType.CASH, base_currency=None,
                     starting_balances=[Money(100_000, USDT)])
    engine.add_instrument(INSTRUMENT)
    collector = MetricsCollector(MetricsCollectorConfig(window_secs=60, flush_interval_ms=1000))
    engine.add_actor(collector)  # actors start before strategies: subscribed first, still called last
    strategy = _Emitter()
    engine.add_strategy(strategy)
    seen: list[str] = []
    counted = collector.metrics.record_quote
    decided = strategy.on_quote_tick
    collector.metrics.record_quote = lambda *a: (seen.append("collector"), counted(*a))  # type: ignore[method-assign]
    strategy.on_quote_tick = lambda q: (seen.append("strategy"), decided(q))  # type: ignore[method-assign]
    engine.add_data([
        QuoteTick(INSTRUMENT.id, Price.from_str("50000.00"), Price.from_str("50001.00"),
                  Quantity.from_str("1.000000"), Quantity.from_str("1.000000"), ts_event=T0 + i, ts_init=T0 + i)
        for i in range(3)
    ])
    engine.run()
    # every quote counted once; from the second on, after the strategy had it (the first moves the subscription)
    assert seen == ["collector", "strategy"] + ["strategy", "collector"] * 2
    assert collector.latest is not None and collector.latest.quotes_per_minute == 3
    engine.dispose()
