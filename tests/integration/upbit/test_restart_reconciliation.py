"""
Restart safety: a node stops with orders open, the venue keeps trading, a new node (same trader, the same
Redis-backed cache) reconciles: the open order is still open, fills that happened while it was down arrive.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
import redis
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from tests.fakes.upbit import FakeUpbitServer
from tests.integration.upbit.harness import wait_for
from tests.integration.upbit.node import ProbeConfig
from tests.integration.upbit.node import running_node

pytestmark = pytest.mark.integration

BTC = InstrumentId.from_str("KRW-BTC.UPBIT")


def buy_limit(factory: Any, quantity: str, price: str, **kwargs: Any) -> Any:
    """A limit BUY of KRW-BTC."""
    return factory.limit(BTC, OrderSide.BUY, Quantity.from_str(quantity), Price.from_str(price), **kwargs)


IDS = ("KRW-BTC.UPBIT",)


def test_restart_picks_up_open_order_and_fills_made_while_down(unique_id: str, redis_url: str) -> None:
    trader_id = f"{unique_id.upper()}-001"
    store = redis.Redis.from_url(redis_url)

    async def run() -> None:
        async with FakeUpbitServer() as fake:
            fake.exchange.set_balance("KRW", "100000000")
            probe = ProbeConfig(quote_ids=IDS)
            async with running_node(fake, probe, IDS, trader_id=trader_id, redis_cache=True) as rn:
                factory = rn.probe.order_factory
                stays_open = factory.limit(BTC, OrderSide.BUY, Quantity.from_str("0.001"), Price.from_str("100000000"))
                fills_later = factory.limit(BTC, OrderSide.BUY, Quantity.from_str("0.002"), Price.from_str("99000000"))
                rn.probe.submit_order(stays_open)
                rn.probe.submit_order(fills_later)
                await wait_for(
                    lambda: all(
                        rn.node.cache.order(o.client_order_id).status == OrderStatus.ACCEPTED
                        for o in (stays_open, fills_later)
                    ),
                )
                open_id, filled_id = stays_open.client_order_id, fills_later.client_order_id
                venue_ids = {
                    o.client_order_id: rn.node.cache.order(o.client_order_id).venue_order_id
                    for o in (stays_open, fills_later)
                }

            # the node is down: the venue keeps trading
            by_identifier = {o.identifier: o for o in fake.exchange.orders.values()}
            partial = fake.exchange.fill_order(by_identifier[open_id.value].uuid, "0.0004")
            full = fake.exchange.fill_order(by_identifier[filled_id.value].uuid)

            async with running_node(fake, probe, IDS, trader_id=trader_id, redis_cache=True) as rn:
                cache = rn.node.cache
                await wait_for(lambda: cache.order(ClientOrderId(filled_id.value)) is not None)
                await wait_for(lambda: cache.order(filled_id).status == OrderStatus.FILLED)
                await wait_for(lambda: cache.order(open_id).status == OrderStatus.PARTIALLY_FILLED)

                reopened = cache.order(open_id)
                assert reopened.is_open
                assert reopened.venue_order_id == venue_ids[open_id]
                assert reopened.filled_qty == Quantity.from_str("0.00040000")
                assert reopened.strategy_id.value == rn.probe.id.value  # the same order, not an external copy

                filled = cache.order(filled_id)
                assert filled.venue_order_id == venue_ids[filled_id]
                assert filled.filled_qty == Quantity.from_str("0.00200000")
                assert filled.avg_px == Decimal("99000000")
                trade_ids = [e.trade_id.value for e in filled.events if type(e).__name__ == "OrderFilled"]
                assert trade_ids == [full.uuid]
                open_trades = [e.trade_id.value for e in reopened.events if type(e).__name__ == "OrderFilled"]
                assert open_trades == [partial.uuid]

    try:
        asyncio.run(run())
    finally:
        keys = list(store.scan_iter(match=f"*{trader_id}*"))
        if keys:
            store.delete(*keys)
        store.close()
