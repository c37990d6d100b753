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
from nautilus_trader.model.events import OrderCanceled
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


def test_restart_reconciles_a_market_buy_by_amount_filled_while_down(unique_id: str, redis_url: str) -> None:
    # A market BUY for 10,000 KRW (ord_type=price) is accepted, then the node stops before any of its
    # fills reach it (Upbit executes it at once and ends it in `cancel`, the dust refunded). The next node
    # must find it FILLED, its quantity the executed BTC (not the KRW amount), with the venue's trades.
    trader_id = f"{unique_id.upper()}-001"
    store = redis.Redis.from_url(redis_url)

    async def run() -> None:
        async with FakeUpbitServer() as fake:
            fake.exchange.set_balance("KRW", "100000000")
            probe = ProbeConfig(quote_ids=IDS)
            async with running_node(fake, probe, IDS, trader_id=trader_id, redis_cache=True) as rn:
                await wait_for(lambda: bool(rn.probe.quotes))
                fake.hold_private("myOrder")  # the node never hears of the trades or the end of the order
                fake.hold_private("myAsset")
                buy = rn.probe.order_factory.market(BTC, OrderSide.BUY, Quantity.from_str("10000"), quote_quantity=True)
                rn.probe.submit_order(buy)
                await wait_for(lambda: rn.node.cache.order(buy.client_order_id).status == OrderStatus.ACCEPTED)
                cached = rn.node.cache.order(buy.client_order_id)
                assert cached.is_quote_quantity and cached.quantity == Quantity.from_str("10000")
                (venue_buy,) = [o for o in fake.exchange.orders.values() if o.identifier == buy.client_order_id.value]
                assert (venue_buy.ord_type, venue_buy.state) == ("price", "cancel")
                assert venue_buy.executed_volume > 0 and venue_buy.trades
            fake.faults.clear()
            await fake.release_private("myOrder")  # to a closed socket: never delivered
            await fake.release_private("myAsset")

            async with running_node(fake, probe, IDS, trader_id=trader_id, redis_cache=True) as rn:
                cache = rn.node.cache
                await wait_for(lambda: cache.order(buy.client_order_id).status == OrderStatus.FILLED)
                order = cache.order(buy.client_order_id)
                assert order.strategy_id.value == rn.probe.id.value  # the node's own order, reconciled
                assert not order.is_quote_quantity
                assert order.quantity.as_decimal() == venue_buy.executed_volume
                assert order.filled_qty.as_decimal() == venue_buy.executed_volume
                fills = [e for e in order.events if type(e).__name__ == "OrderFilled"]
                assert sorted(f.trade_id.value for f in fills) == sorted(t.uuid for t in venue_buy.trades)
                assert sum(f.last_qty.as_decimal() for f in fills) == venue_buy.executed_volume
                assert sum(f.last_px.as_decimal() * f.last_qty.as_decimal() for f in fills) == venue_buy.executed_funds
                assert not any(type(e).__name__ == "OrderCanceled" for e in order.events)  # `cancel` + volume: filled

    try:
        asyncio.run(run())
    finally:
        keys = list(store.scan_iter(match=f"*{trader_id}*"))
        if keys:
            store.delete(*keys)
        store.close()


@pytest.mark.parametrize("claimed", [True, False])
def test_without_a_cache_database_orders_found_at_the_venue_go_to_the_strategy_claiming_the_instrument(
    unique_id: str, claimed: bool
) -> None:
    # What a crash leaves when the state never learnt of an order (ArbitrageStrategy adopts such orders on
    # resume, by their client order ids): no cache database, the node dies with an order filled and one open.
    # The next node's reconciliation finds both at Upbit under the same client order ids (the identifiers),
    # and gives them to the strategy that claims KRW-BTC (ArbitrageStrategy claims its legs by default), whose
    # events reach it; unclaimed they go to EXTERNAL, whose events no strategy hears.
    trader_id = f"{unique_id.upper()}-001"

    async def run() -> None:
        async with FakeUpbitServer() as fake:
            fake.exchange.set_balance("KRW", "100000000")
            probe = ProbeConfig(quote_ids=IDS)
            async with running_node(fake, probe, IDS, trader_id=trader_id) as rn:
                factory = rn.probe.order_factory
                filled = buy_limit(factory, "0.002", "99000000")
                resting = buy_limit(factory, "0.001", "100000000")
                for order in (filled, resting):
                    rn.probe.submit_order(order)
                await wait_for(
                    lambda: all(
                        rn.node.cache.order(o.client_order_id).status == OrderStatus.ACCEPTED for o in (filled, resting)
                    )
                )
                by_identifier = {o.identifier: o for o in fake.exchange.orders.values()}
                fake.exchange.fill_order(by_identifier[filled.client_order_id.value].uuid)

            claims = ProbeConfig(quote_ids=IDS, external_order_claims=list(IDS) if claimed else None)
            async with running_node(fake, claims, IDS, trader_id=trader_id) as rn:
                cache = rn.node.cache
                await wait_for(lambda: cache.order(filled.client_order_id) is not None)
                await wait_for(lambda: cache.order(filled.client_order_id).status == OrderStatus.FILLED)
                found = cache.order(filled.client_order_id)
                assert found.filled_qty == Quantity.from_str("0.00200000")
                owner = rn.probe.id.value if claimed else "EXTERNAL"
                assert found.strategy_id.value == owner
                await wait_for(lambda: cache.order(resting.client_order_id) is not None)
                still_open = cache.order(resting.client_order_id)
                assert still_open.is_open and still_open.strategy_id.value == owner
                if claimed:  # the claiming strategy manages it: its cancel is confirmed back to it
                    rn.probe.cancel_order(still_open)
                    await wait_for(lambda: bool(rn.probe.events_of(resting.client_order_id, OrderCanceled)))
                    assert cache.order(resting.client_order_id).status == OrderStatus.CANCELED

    asyncio.run(run())


def test_a_retried_order_found_after_a_restart_keeps_its_client_order_id(unique_id: str) -> None:
    # A placement refused once goes out again as "<client order id>-r1" (Upbit keeps identifiers used). Found
    # at the venue by a node that does not hold the order (a restart with no cache database), it is still the
    # order of that client order id (the refused attempt made none). A modify's "-m1" (the replaced order
    # exists too) and an identifier not in NautilusTrader's format are left as they are.
    trader_id = f"{unique_id.upper()}-001"
    retried = "O-20241121-030900-001-000-7"

    async def run() -> None:
        async with FakeUpbitServer() as fake:
            fake.exchange.set_balance("KRW", "100000000")
            placed = {}
            for identifier in (f"{retried}-r1", "O-20241121-030900-001-000-8-m1", "manual-r1"):
                body = {
                    "market": "KRW-BTC",
                    "side": "bid",
                    "volume": "0.001",
                    "price": "99000000",
                    "ord_type": "limit",
                    "identifier": identifier,
                }
                placed[identifier] = fake.exchange.place(body)
            fake.exchange.fill_order(placed[f"{retried}-r1"].uuid)
            probe = ProbeConfig(quote_ids=IDS, external_order_claims=list(IDS))
            async with running_node(fake, probe, IDS, trader_id=trader_id) as rn:
                cache = rn.node.cache
                await wait_for(lambda: len(cache.orders()) == 3)
                assert {o.client_order_id.value for o in cache.orders()} == {
                    retried,
                    "O-20241121-030900-001-000-8-m1",
                    "manual-r1",
                }
                found = cache.order(ClientOrderId(retried))
                assert found.status == OrderStatus.FILLED
                assert found.venue_order_id.value == placed[f"{retried}-r1"].uuid

    asyncio.run(run())
