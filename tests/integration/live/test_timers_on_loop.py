"""
arb_plugin.timers.on_loop in a real TradingNode: NautilusTrader's LiveClock calls a callback on a thread of its
own, with the fired alert's name still registered; wrapped, the callback runs on the node's loop thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.config import LoggingConfig
from nautilus_trader.live.node import TradingNode

from arb_plugin.timers import on_loop
from tests.support import clientless_node_config


class _Timed(Actor):
    def __init__(self, node: TradingNode) -> None:
        super().__init__()
        self.node = node
        self.calls: dict[str, tuple[bool, bool]] = {}  # alert -> (on the loop's thread, its name registered)

    def on_start(self) -> None:
        self.loop_thread = threading.get_ident()
        now = self.clock.timestamp_ns()
        self.clock.set_time_alert_ns("bare", now + 50_000_000, self._record)
        self.clock.set_time_alert_ns("wrapped", now + 50_000_000, on_loop(self._record))
        self.clock.set_time_alert_ns("stop", now + 400_000_000, on_loop(lambda _: self.node.stop()))

    def _record(self, event: TimeEvent) -> None:
        self.calls[event.name] = (threading.get_ident() == self.loop_thread, event.name in self.clock.timer_names)


def test_a_wrapped_alert_runs_on_the_loop_a_bare_one_on_the_clocks_thread() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    node = TradingNode(clientless_node_config(logging=LoggingConfig(log_level="ERROR")), loop=loop)
    actor = _Timed(node)
    node.trader.add_actor(actor)
    node.build()
    try:
        node.run()
    finally:
        node.dispose()
        asyncio.set_event_loop(None)
    # NautilusTrader 1.231: the clock's own thread, its alert still registered while the callback runs
    assert actor.calls["bare"] == (False, True)
    # wrapped: the loop's thread, in turn with the message-bus handlers
    assert actor.calls["wrapped"][0] is True


def test_without_a_running_loop_the_callback_is_returned_as_it_is() -> None:
    def callback(event: Any) -> None:
        pass

    assert on_loop(callback) is callback  # a backtest's TestClock calls it inline on the one thread
