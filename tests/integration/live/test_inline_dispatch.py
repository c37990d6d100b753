"""
Inline dispatch in a live ``TradingNode`` (no venue clients): a quote, an order command and the execution
command it becomes are handled on the caller's stack while the engines run and their queues are empty; a
message behind a queued one waits its turn (FIFO kept); a handler's exception takes the engine's own
exception path instead of reaching the sender; ``uninstall`` gives the endpoints back.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.config import LiveRiskEngineConfig
from nautilus_trader.config import StrategyConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.trading.strategy import Strategy

from arb_plugin.events import OrderIntent
from arb_plugin.events import order_tags
from arb_plugin.nodes.dispatch import install_inline_dispatch
from arb_plugin.pairs import ArbitragePairConfig
from arb_plugin.risk.gate import install_risk_guard
from arb_plugin.strategy import ArbitrageStrategy
from arb_plugin.strategy import ArbitrageStrategyConfig
from tests.integration.risk.harness import BTC_B
from tests.integration.risk.harness import BTC_U
from tests.integration.risk.harness import FX
from tests.integration.risk.harness import INSTRUMENTS
from tests.integration.risk.harness import PAIRS
from tests.integration.risk.harness import no_limits
from tests.integration.risk.harness import seed_live_cache
from tests.support import clientless_node_config

pytestmark = pytest.mark.integration
TOPIC = f"data.quotes.{BTC_B.venue}.{BTC_B.symbol}"


def _quote(bid: str, ts: int) -> QuoteTick:
    size = Quantity.from_str("1")
    return QuoteTick(BTC_B, Price.from_str(bid), Price.from_str("100001.00"), size, size, ts, ts)


class Script(Strategy):
    """Runs the checks from inside the running node, then stops it."""

    def __init__(self, node: TradingNode) -> None:
        super().__init__(StrategyConfig(strategy_id="Script-001"))
        self.node = node
        self.seen: list[int] = []
        self.checks: dict[str, Any] = {}
        self.raise_on: int | None = None
        self.dispatch: Any = None

    def on_start(self) -> None:
        self.msgbus.subscribe(TOPIC, self._on_quote)
        kernel = self.node.kernel
        bus = self.msgbus
        # 1. a quote with the data queue empty: handled before send() returns
        bus.send("DataEngine.process", _quote("100000.00", 1))
        self.checks["inline_quote"] = list(self.seen)
        # 2. a quote behind a queued one: queued too, and handled after it
        kernel.data_engine._data_queue.put_nowait(_quote("100000.01", 2))
        bus.send("DataEngine.process", _quote("100000.02", 3))
        self.checks["behind_queue"] = list(self.seen)
        # 3. an order (an exit: no account is needed) through our guard and NautilusTrader's checks to the
        # execution engine, on this stack
        order = self.order_factory.market(
            BTC_B, OrderSide.BUY, Quantity.from_str("0.01"), tags=order_tags(OrderIntent.EXIT, "BTCUSDT")
        )
        before = kernel.exec_engine.command_count
        self.submit_order(order)
        self.checks["exec_commands"] = kernel.exec_engine.command_count - before
        self.clock.set_time_alert_ns("later", self.clock.timestamp_ns() + 50_000_000, self._later)

    def _later(self, _: object) -> None:
        self.checks["after_queue"] = list(self.seen)
        # a timer callback runs on the clock's own thread (NautilusTrader 1.231): what it sends is queued
        self.checks["timer_on_loop"] = asyncio._get_running_loop() is self.node.kernel.loop
        queued = self.dispatch_counts()
        self.msgbus.send("DataEngine.process", _quote("100000.05", 35))
        self.checks["timer_send_queued"] = self.dispatch_counts() - queued
        # on the loop (as a socket frame handler is), once quote 35 has left the queue
        self.node.kernel.loop.call_soon_threadsafe(self.node.kernel.loop.call_later, 0.05, self._raising_handler)

    def dispatch_counts(self) -> int:
        return self.dispatch.queued["DataEngine.process"] if self.dispatch else 0

    def _raising_handler(self) -> None:
        # 4. a handler that raises: the engine's exception path (graceful shutdown), not the sender's stack
        self.raise_on = 4
        try:
            self.msgbus.send("DataEngine.process", _quote("100000.03", 4))
            self.checks["raised_to_sender"] = False
        except Exception:
            self.checks["raised_to_sender"] = True
        self.clock.set_time_alert_ns("stop", self.clock.timestamp_ns() + 50_000_000, lambda _: self.node.stop())

    def _on_quote(self, quote: QuoteTick) -> None:
        self.seen.append(quote.ts_init)
        if quote.ts_init == self.raise_on:
            raise RuntimeError("boom in a quote handler")


def test_inline_dispatch_in_a_live_node() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    node = TradingNode(
        clientless_node_config(),
        loop=loop,
    )
    script = Script(node)
    node.trader.add_strategy(script)
    node.build()
    try:
        install_risk_guard(node, no_limits(max_position_size=Decimal("1000000000")), PAIRS)
        dispatch = script.dispatch = install_inline_dispatch(node.kernel)
        node.kernel.cache.add_instrument(INSTRUMENTS[BTC_B])

        node.run()

        assert script.checks["inline_quote"] == [1]
        assert script.checks["behind_queue"] == [1]  # neither 2 (queued) nor 3 (behind it) yet
        assert script.checks["after_queue"] == [1, 2, 3]
        assert script.checks["exec_commands"] == 1  # risk and execution commands ran before submit returned
        assert script.checks["timer_on_loop"] is False
        assert script.checks["timer_send_queued"] == 1
        assert script.checks["raised_to_sender"] is False
        assert node.kernel.data_engine._shutdown_initiated  # the engine's own exception path ran
        assert script.seen == [1, 2, 3, 35, 4]
        assert dispatch.inline["DataEngine.process"] == 2  # quotes 1 and 4
        assert dispatch.queued["DataEngine.process"] == 2  # quote 3 (behind 2), 35 (from the timer's thread)
        assert dispatch.inline["RiskEngine.execute"] == 1
        assert dispatch.inline["ExecEngine.execute"] == 1

        counts = (dict(dispatch.inline), dict(dispatch.queued))
        dispatch.uninstall()  # the engine's own handlers again: ours (which count every call) see nothing
        node.kernel.msgbus.send("DataEngine.process", _quote("100000.04", 5))
        assert (dispatch.inline, dispatch.queued) == counts
    finally:
        node.kernel.cancel_all_tasks()  # as LiveNode.dispose does: no ActorExecutor worker left pending
        node.dispose()
        asyncio.set_event_loop(None)
        loop.close()


def test_refuses_a_running_or_backtest_kernel() -> None:
    from nautilus_trader.backtest.engine import BacktestEngine

    engine = BacktestEngine()
    try:
        with pytest.raises(TypeError, match="live kernel"):
            install_inline_dispatch(engine.kernel)
    finally:
        engine.dispose()


class _Feeder(Strategy):
    """Sends one quote per instrument from the loop thread (as a WebSocket frame handler does), then stops."""

    def __init__(self, node: TradingNode, quotes: list[tuple[InstrumentId, str, str]]) -> None:
        super().__init__(StrategyConfig(strategy_id="Feeder-001"))
        self.node = node
        self.quotes = quotes

    def on_start(self) -> None:
        self.node.kernel.loop.call_later(0.05, self._feed)
        self.clock.set_time_alert_ns("stop", self.clock.timestamp_ns() + 400_000_000, lambda _: self.node.stop())

    def _feed(self) -> None:
        size = Quantity.from_str("10")
        for instrument_id, bid, ask in self.quotes:
            ts = self.clock.timestamp_ns()
            quote = QuoteTick(instrument_id, Price.from_str(bid), Price.from_str(ask), size, size, ts, ts)
            self.msgbus.send("DataEngine.process", quote)


def test_a_denied_first_leg_stops_the_second_in_a_live_node() -> None:
    # The Upbit leg goes first and is denied (over NautilusTrader's max notional): its OrderDenied must
    # reach the strategy before submit_order returns, as in a backtest, so the Binance leg is never sent.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    risk = LiveRiskEngineConfig(graceful_shutdown_on_exception=True, max_notional_per_order={str(BTC_U): 100_000})
    node = TradingNode(clientless_node_config(risk_engine=risk), loop=loop)
    arb = ArbitrageStrategy(
        ArbitrageStrategyConfig(
            pairs=[ArbitragePairConfig(binance_instrument_id=BTC_B, upbit_instrument_id=BTC_U, fx_instrument_id=FX)],
            trade_size=Decimal("0.01"),
        ),
    )
    node.trader.add_strategy(arb)
    quotes = [(FX, "1399", "1401"), (BTC_B, "59999.00", "60001.00"), (BTC_U, "85000000", "85005000")]
    node.trader.add_strategy(_Feeder(node, quotes))
    node.build()
    try:
        install_risk_guard(node, no_limits(max_position_size=Decimal("1000000000")), PAIRS)
        dispatch = install_inline_dispatch(node.kernel)
        seed_live_cache(node.kernel.cache)
        node.run()
        orders = [o for o in node.kernel.cache.orders() if o.strategy_id == arb.id]
        assert [(o.instrument_id, o.status) for o in orders] == [(BTC_U, OrderStatus.DENIED)]
        assert arb.counters["entries"] == 1 and arb.counters["second_leg_skipped"] == 1
        assert dispatch.inline["ExecEngine.process"] == 1  # the denial, on submit_order's stack
    finally:
        node.kernel.cancel_all_tasks()
        node.dispose()
        asyncio.set_event_loop(None)
        loop.close()
