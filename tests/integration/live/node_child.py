"""
Child process for the node lifecycle tests (NautilusTrader's logger can be routed once per process only).

Usage: ``python node_child.py stop|boom`` with the node's ``ARB_*`` settings in the environment. Builds the
paper node from the staging settings, adds :class:`RestingBid`, runs it, and prints one JSON line with the
outcome: ``stop`` stops it the way SIGINT does two seconds after it started; ``boom`` makes the strategy raise
inside the data engine's queue.
"""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal
from typing import Any

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

from arb_plugin.nodes.live import TradingMode
from arb_plugin.nodes.live import build_live_node
from arb_plugin.settings import load_settings

BTCUSDT = InstrumentId.from_str("BTCUSDT.BINANCE")


class RestingBid(Strategy):
    """Rests one GTC bid far below the market on the first quote; optionally raises on the fifth."""

    def __init__(self, explode: bool) -> None:
        super().__init__(StrategyConfig(strategy_id="RESTING-001"))
        self.explode = explode
        self.quotes = 0
        self.order_id: Any = None

    def on_start(self) -> None:
        self.subscribe_quote_ticks(BTCUSDT)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.quotes += 1
        if self.order_id is None:
            instrument = self.cache.instrument(BTCUSDT)
            order = self.order_factory.limit(
                BTCUSDT, OrderSide.BUY, instrument.make_qty(Decimal("0.001")),
                instrument.make_price(tick.bid_price.as_decimal() / 2), time_in_force=TimeInForce.GTC,
            )
            self.order_id = order.client_order_id
            self.submit_order(order)
        if self.explode and self.quotes == 5:
            raise RuntimeError("boom: a handler bug inside the data engine's queue")


def main() -> None:
    scenario, session = sys.argv[1:3]
    live = build_live_node(load_settings("staging"), TradingMode.PAPER, session_id=session)
    strategy = RestingBid(explode=scenario == "boom")
    live.node.trader.add_strategy(strategy)
    out: dict[str, Any] = {}

    def status() -> str | None:
        order = live.node.cache.order(strategy.order_id) if strategy.order_id is not None else None
        return order.status.name if order is not None else None

    async def run() -> int:
        started = asyncio.Event()
        task = asyncio.create_task(live.run_async(started))
        await asyncio.wait_for(started.wait(), 60)
        if scenario == "stop":
            await asyncio.sleep(2.0)
            out["status_before"] = status()
            await live.shutdown("received SIGINT")
        rc = await asyncio.wait_for(task, 60)
        out["status_after"] = status()
        return rc

    try:
        out["rc"] = live.loop.run_until_complete(run())
    finally:
        out.update(failed=live.failed, reason=live.shutdown_reason)
        live.dispose()
    out["pending_tasks"] = sorted(t.get_name() for t in asyncio.all_tasks(live.loop) if not t.done())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
