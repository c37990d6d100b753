"""
The guards in a live ``TradingNode`` (no venue clients: the orders never leave the process). The live engine
runs its checks in its command queue; the guard must run there, deny with a real ``OrderDenied`` and let an
exit through while NautilusTrader's state is HALTED.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from nautilus_trader.config import StrategyConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TradingState
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.objects import Quantity
from nautilus_trader.trading.strategy import Strategy

from arb_plugin.events import OrderIntent
from arb_plugin.events import order_tags
from arb_plugin.risk.gate import GuardedLiveRiskEngine
from arb_plugin.risk.gate import install_risk_guard
from tests.integration.risk.harness import BTC_B
from tests.integration.risk.harness import BTC_U
from tests.integration.risk.harness import PAIRS
from tests.integration.risk.harness import no_limits
from tests.integration.risk.harness import seed_live_cache
from tests.support import clientless_node_config


class LiveScript(Strategy):
    """Sends an over-limit entry and an exit at start, then stops the node."""

    def __init__(self, node: TradingNode) -> None:
        super().__init__(StrategyConfig(strategy_id="LiveScript-001"))
        self.node = node
        self.denied: dict[str, str] = {}
        self.entry: Any = None
        self.exit: Any = None

    def on_start(self) -> None:
        qty = Quantity.from_str("0.01001")
        entry_tags = order_tags(OrderIntent.ENTRY, "BTCUSDT")
        self.entry = self.order_factory.market(BTC_U, OrderSide.SELL, qty, tags=entry_tags)
        self.exit = self.order_factory.market(BTC_B, OrderSide.SELL, qty, tags=order_tags(OrderIntent.EXIT, "BTCUSDT"))
        self.submit_order(self.entry)
        self.submit_order(self.exit)
        self.clock.set_time_alert_ns("stop", self.clock.timestamp_ns() + 300_000_000, lambda _: self.node.stop())

    def on_order_denied(self, event: OrderDenied) -> None:
        self.denied[event.client_order_id.value] = event.reason


def test_live_node_denies_in_its_queue_and_lets_exits_through_halted() -> None:
    loop = asyncio.new_event_loop()  # its own loop: an earlier asyncio.run() leaves none to pick up
    asyncio.set_event_loop(loop)
    node = TradingNode(
        clientless_node_config(),
        loop=loop,
    )
    strategy = LiveScript(node)
    node.trader.add_strategy(strategy)
    node.build()
    try:
        gate = install_risk_guard(node, no_limits(max_position_size=Decimal("850000")), PAIRS)
        engine = node.kernel.risk_engine
        assert isinstance(engine, GuardedLiveRiskEngine)
        cache = node.kernel.cache
        seed_live_cache(cache)
        engine.set_trading_state(TradingState.HALTED)  # exits must still pass

        node.run()

        assert strategy.denied == {
            strategy.entry.client_order_id.value: (
                "MAX_POSITION_SIZE: KRW-BTC.UPBIT position 850,850 KRW after the order > limit 850,000 KRW"
            ),
        }
        assert gate.trigger_counts == {"MAX_POSITION_SIZE": 1}
        # the exit passed our guard and NautilusTrader's HALTED gateway: it reached the execution engine
        # (which has no venue client here), the entry did not
        assert strategy.exit.client_order_id.value not in strategy.denied
        assert node.kernel.exec_engine.command_count == 1
    finally:
        node.dispose()
        asyncio.set_event_loop(None)
        loop.close()


class _PairEntry(Strategy):
    """Sends one tagged pair entry (both legs) on start, after the instruments reach the cache."""

    def __init__(self, node: TradingNode) -> None:
        super().__init__(StrategyConfig(strategy_id="PairEntry-001"))
        self.node = node
        self.denied: dict[str, str] = {}

    def on_start(self) -> None:
        seed_live_cache(self.cache)  # what the venue clients do on connect: after the engines have started
        tags = order_tags(OrderIntent.ENTRY, "BTCUSDT")
        quantity = Quantity.from_str("0.01000")
        self.first = self.order_factory.market(BTC_B, OrderSide.BUY, quantity, tags=tags)
        self.second = self.order_factory.market(BTC_U, OrderSide.SELL, quantity, tags=tags)
        self.submit_order(self.first)
        self.submit_order(self.second)
        self.clock.set_time_alert_ns("stop", self.clock.timestamp_ns() + 300_000_000, lambda _: self.node.stop())

    def on_order_denied(self, event: OrderDenied) -> None:
        self.denied[event.client_order_id.value] = event.reason


def test_a_pair_entry_is_checked_with_its_hedge_when_instruments_arrive_after_the_start() -> None:
    # 0.01 BTCUSDT (~840,000 KRW) + 0.01 KRW-BTC (~850,000 KRW) exceed the symbol's 1,000,000 KRW: the first
    # leg must be denied with its hedge projected, not sent alone and its hedge denied after it
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    node = TradingNode(clientless_node_config(), loop=loop)
    strategy = _PairEntry(node)
    node.trader.add_strategy(strategy)
    node.build()
    try:
        install_risk_guard(node, no_limits(symbol_defaults={"max_position": Decimal("1000000")}), PAIRS)
        node.run()
        assert strategy.first.client_order_id.value in strategy.denied
        assert "MAX_SYMBOL_POSITION" in strategy.denied[strategy.first.client_order_id.value]
    finally:
        node.kernel.cancel_all_tasks()
        node.dispose()
        asyncio.set_event_loop(None)
        loop.close()
