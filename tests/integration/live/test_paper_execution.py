"""
PaperExecutionClient in a real TradingNode: like a live client, its ``submit_order`` returns before the venue
(here NautilusTrader's simulated one) has the order; the venue takes commands on the next loop turn, in the
order they came, and fills at the book it holds then. Its market data waits for that turn too: a strategy
handles a quote before the simulated venue does, and the venue applies it before any later command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import StrategyConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.trading.strategy import Strategy

from arb_plugin.nodes.dispatch import install_inline_dispatch
from arb_plugin.nodes.paper import PaperExecutionClient
from arb_plugin.nodes.paper import SandboxLiveExecClientFactory
from arb_plugin.nodes.paper import install_paper_venue
from tests.integration.risk.harness import BTC_B
from tests.integration.risk.harness import INSTRUMENTS
from tests.support import clientless_node_config


class _Feeding(Strategy):
    """Feeds a BTCUSDT quote 50 ms after start and stops the node after 0.5 s; notes its order events."""

    def __init__(self, node: TradingNode, strategy_id: str) -> None:
        super().__init__(StrategyConfig(strategy_id=strategy_id))
        self.node = node
        self.events: list[str] = []

    def on_start(self) -> None:
        self.subscribe_quote_ticks(BTC_B)
        self.node.kernel.loop.call_later(0.05, self._feed, "59999.00", "60001.00")
        self.clock.set_time_alert_ns("stop", self.clock.timestamp_ns() + 500_000_000, lambda _: self.node.stop())

    def _feed(self, bid: str, ask: str) -> None:
        ts = self.clock.timestamp_ns()
        size = Quantity.from_str("10.00000")
        self.msgbus.send(
            "DataEngine.process", QuoteTick(BTC_B, Price.from_str(bid), Price.from_str(ask), size, size, ts, ts)
        )


@contextmanager
def _paper_node[T: _Feeding](
    trader_type: Callable[[TradingNode], T],
) -> Iterator[tuple[TradingNode, PaperExecutionClient, T]]:
    """A TradingNode with one PaperExecutionClient (BINANCE) wired as ``arb paper`` wires it, run to its stop."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    venue = SandboxExecutionClientConfig(
        venue="BINANCE", account_type="CASH", oms_type="NETTING", starting_balances=["100000 USDT", "0 BTC"]
    )
    node = TradingNode(
        clientless_node_config(exec_clients={"BINANCE": venue}, logging=LoggingConfig(log_level="ERROR")), loop=loop
    )
    trader = trader_type(node)
    node.trader.add_strategy(trader)
    node.add_exec_client_factory("BINANCE", SandboxLiveExecClientFactory)
    node.build()
    install_paper_venue(node.kernel)
    install_inline_dispatch(node.kernel)  # as the paper node runs: commands reach the client in the order sent
    try:
        client = next(iter(node.kernel.exec_engine._clients.values()))
        assert isinstance(client, PaperExecutionClient)
        node.kernel.cache.add_instrument(INSTRUMENTS[BTC_B])
        yield node, client, trader
    finally:
        node.kernel.cancel_all_tasks()
        node.dispose()
        asyncio.set_event_loop(None)
        loop.close()


class _Trader(_Feeding):
    """On the first quote: a market BUY, then a resting limit BUY and its cancel; notes what it sees."""

    def __init__(self, node: TradingNode) -> None:
        super().__init__(node, "Paper-001")
        self.status_after_submit: list[OrderStatus] = []
        self.orders: list[Any] = []
        self.venue: PaperExecutionClient | None = None
        self.venue_ask_at_decision: list[Price | None] = []

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if self.orders:
            return
        assert self.venue is not None
        self.venue_ask_at_decision.append(self.venue.exchange.best_ask_price(BTC_B))
        market = self.order_factory.market(BTC_B, OrderSide.BUY, Quantity.from_str("0.01000"))
        resting = self.order_factory.limit(
            BTC_B,
            OrderSide.BUY,
            Quantity.from_str("0.01000"),
            Price.from_str("50000.00"),
            time_in_force=TimeInForce.GTC,
        )
        self.orders = [market, resting]
        self.submit_order(market)
        self.status_after_submit.append(market.status)
        self.submit_order(resting)
        self.cancel_order(resting)  # before the venue has it: delivered after its submit
        self.status_after_submit.append(resting.status)
        # the next quote moves the book before the venue's turn: the market order fills at the book of then
        self._feed("60999.00", "61001.00")

    def on_order_event(self, event: Any) -> None:
        self.events.append(f"{event.client_order_id.value[-1]}:{type(event).__name__}")


def test_the_paper_venue_takes_commands_on_the_next_loop_turn_in_order() -> None:
    with _paper_node(_Trader) as (node, client, trader):
        trader.venue = client
        node.run()

        market, resting = trader.orders
        # submit_order returned with nothing sent to the venue yet (a live client's request is not out either)
        assert trader.status_after_submit == [OrderStatus.INITIALIZED, OrderStatus.INITIALIZED]
        cache = node.kernel.cache
        filled = cache.order(market.client_order_id)
        assert filled.status == OrderStatus.FILLED
        (fill,) = [e for e in filled.events if isinstance(e, OrderFilled)]
        assert fill.last_px == Price.from_str("61001.00")  # the ask of the book the venue held on its turn
        # the strategy decided on the first quote before the simulated venue had handled it (no book yet) ...
        assert trader.venue_ask_at_decision == [None]
        # ... and the venue applied both quotes before the order: its book is the second one's
        assert client.exchange.best_ask_price(BTC_B) == Price.from_str("61001.00")
        assert cache.order(resting.client_order_id).status == OrderStatus.CANCELED  # submit, then its cancel
        resting_events = [e for e in trader.events if e.startswith(resting.client_order_id.value[-1])]
        assert [e.split(":")[1] for e in resting_events] == [
            "OrderInitialized",
            "OrderSubmitted",
            "OrderAccepted",
            "OrderCanceled",
        ]


class _IocTrader(_Feeding):
    """On the first quote: an IOC BUY limit below the ask; then a quote whose ask would fill it if it rested."""

    def __init__(self, node: TradingNode) -> None:
        super().__init__(node, "Paper-002")
        self.order: Any = None

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if self.order is not None:
            return
        self.order = self.order_factory.limit(
            BTC_B, OrderSide.BUY, Quantity.from_str("0.01000"), Price.from_str("59000.00"), time_in_force=TimeInForce.IOC
        )
        self.submit_order(self.order)
        # after the venue's turn: the ask falls through the limit (a resting order would fill now)
        self.node.kernel.loop.call_later(0.05, self._feed, "58000.00", "58001.00")

    def on_order_event(self, event: Any) -> None:
        self.events.append(type(event).__name__)


def test_an_ioc_order_the_paper_venue_cannot_fill_at_once_is_canceled_not_left_resting() -> None:
    # NautilusTrader 1.231's matching engine cancels an unfilled IOC order right after accepting it, with the
    # node's order object: in a live node it was still INITIALIZED (its events queued), the cancel was refused
    # and the order stayed in the simulated book, to fill on a later quote (NautilusTrader issue #4112).
    with _paper_node(_IocTrader) as (node, _, trader):
        node.run()
        order = node.kernel.cache.order(trader.order.client_order_id)
        assert order.status == OrderStatus.CANCELED, trader.events
        assert trader.events == ["OrderInitialized", "OrderSubmitted", "OrderAccepted", "OrderCanceled"]
        assert order.filled_qty == Quantity.from_str("0.00000")  # the lower ask came after: nothing filled
