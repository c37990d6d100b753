"""
The execution client where its requests race the private stream, a restart or a retry: a real ``TradingNode``
against the fake venue, which can delay or lose an answer, hold stream frames back and refuse a placement.

Every scenario checks the venue's side too: no order left live at Upbit that NautilusTrader does not track,
no volume placed twice, no fill counted twice.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderModifyRejected
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.model.events import OrderUpdated
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.trading.strategy import Strategy

from tests.fakes.upbit import FakeUpbitServer
from tests.fakes.upbit.exchange import FakeOrder
from tests.integration.upbit.harness import wait_for
from tests.integration.upbit.node import ProbeConfig
from tests.integration.upbit.node import RunningNode
from tests.integration.upbit.node import running_node

pytestmark = pytest.mark.integration

BTC = InstrumentId.from_str("KRW-BTC.UPBIT")
IDS = ("KRW-BTC.UPBIT",)


def _funded(fake: FakeUpbitServer) -> None:
    fake.exchange.set_balance("KRW", "100000000")
    fake.exchange.set_balance("BTC", "0.1")


def _venue_orders(fake: FakeUpbitServer, client_order_id: object) -> list[FakeOrder]:
    """Every order at the venue placed for ``client_order_id`` (retries ``-rN``, replacements ``-mN``)."""
    base = str(client_order_id)
    return [o for o in fake.exchange.orders.values() if o.identifier and o.identifier.startswith(base)]


def _submit_bid(rn: RunningNode, qty: str = "0.001") -> object:
    """Submit a limit bid of ``qty`` BTC below the market; return its client order id."""
    probe: Strategy = rn.probe
    order = probe.order_factory.limit(BTC, OrderSide.BUY, Quantity.from_str(qty), Price.from_str("99000000"))
    probe.submit_order(order)
    return order.client_order_id


async def _accepted_bid(rn: RunningNode, qty: str = "0.001") -> object:
    coid = _submit_bid(rn, qty)
    await wait_for(lambda: rn.node.cache.order(coid).status == OrderStatus.ACCEPTED)
    return coid


def test_modify_whose_old_order_cancel_arrives_before_the_answer_keeps_the_replacement() -> None:
    # Upbit cancels the old order before it answers cancel_and_new: its `cancel` frame comes first
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            async with running_node(fake, ProbeConfig(quote_ids=IDS), IDS) as rn:
                coid = await _accepted_bid(rn)
                fake.delay_next("/v1/orders/cancel_and_new", 0.3, method="POST", execute=True)
                rn.probe.modify_order(rn.node.cache.order(coid), price=Price.from_str("99500000"))
                await wait_for(lambda: bool(rn.probe.events_of(coid, OrderUpdated)))
                await asyncio.sleep(0.3)
                order = rn.node.cache.order(coid)
                live = [o for o in _venue_orders(fake, coid) if o.is_open]
                assert order.status == OrderStatus.ACCEPTED  # not CANCELED by the old order's end
                assert not rn.probe.events_of(coid, OrderCanceled)
                assert [o.uuid for o in live] == [order.venue_order_id.value]
                assert order.price == Price.from_str("99500000")
                fake.exchange.fill_order(live[0].uuid)  # the replacement fills: NautilusTrader sees it
                await wait_for(lambda: rn.node.cache.order(coid).status == OrderStatus.FILLED)
                assert len(rn.probe.events_of(coid, OrderFilled)) == 1

    asyncio.run(run())


def test_modify_whose_answer_is_lost_finds_the_replacement_by_its_identifier() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            async with running_node(
                fake, ProbeConfig(quote_ids=IDS), IDS, exec_overrides={"http_timeout_secs": 1.0}
            ) as rn:
                coid = await _accepted_bid(rn)
                fake.hold_private("myOrder")
                fake.delay_next("/v1/orders/cancel_and_new", 2.0, method="POST", execute=True)  # times out
                rn.probe.modify_order(rn.node.cache.order(coid), price=Price.from_str("99500000"))
                await wait_for(lambda: bool(rn.probe.events_of(coid, OrderUpdated)))
                await fake.release_private("myOrder")  # the old order's `cancel`, the new one's `wait`
                await asyncio.sleep(0.5)
                order = rn.node.cache.order(coid)
                (live,) = [o for o in _venue_orders(fake, coid) if o.is_open]
                assert order.status == OrderStatus.ACCEPTED
                assert not rn.probe.events_of(coid, OrderModifyRejected)
                assert not rn.probe.events_of(coid, OrderCanceled)
                assert order.venue_order_id.value == live.uuid
                lookups = fake.requests_to("/v1/order", "GET")
                assert any(("identifier", f"{coid}-m1") in r.query for r in lookups)

    asyncio.run(run())


async def _modify_with_a_fill_in_flight(fake: FakeUpbitServer, rn: RunningNode, **change: object) -> object:
    """0.0006 of a 0.001 bid fills while its frame is held back; the bid is modified meanwhile."""
    coid = await _accepted_bid(rn)
    (old,) = _venue_orders(fake, coid)
    fake.hold_private("myOrder")
    fake.exchange.fill_order(old.uuid, "0.0006")
    rn.probe.modify_order(rn.node.cache.order(coid), **change)
    await wait_for(lambda: bool(rn.probe.events_of(coid, OrderUpdated)))
    await fake.release_private("myOrder")
    return coid


def _new_volume(fake: FakeUpbitServer) -> str:
    (body,) = [r.body for r in fake.requests_to("/v1/orders/cancel_and_new", "POST")]
    return str(body["new_volume"])


def test_modify_of_the_price_cannot_place_a_fill_in_flight_twice() -> None:
    # the replacement must be for the 0.0004 left, not 0.001 again
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            async with running_node(fake, ProbeConfig(quote_ids=IDS), IDS) as rn:
                coid = await _modify_with_a_fill_in_flight(fake, rn, price=Price.from_str("99500000"))
                await wait_for(lambda: rn.node.cache.order(coid).status == OrderStatus.PARTIALLY_FILLED)
                assert _new_volume(fake) == "remain_only"
                venue = _venue_orders(fake, coid)
                exposure = sum((o.executed_volume + (o.volume - o.executed_volume) * o.is_open for o in venue), Decimal(0))
                assert exposure == Decimal("0.001")  # what was ordered, not 0.0016
                assert rn.node.cache.order(coid).filled_qty == Quantity.from_str("0.0006")

    asyncio.run(run())


def test_modify_of_the_quantity_reads_the_executed_volume_from_the_venue() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            async with running_node(fake, ProbeConfig(quote_ids=IDS), IDS) as rn:
                coid = await _modify_with_a_fill_in_flight(fake, rn, quantity=Quantity.from_str("0.0015"))
                assert Decimal(_new_volume(fake)) == Decimal("0.0009")  # 0.0015 - 0.0006, not 0.0015 - 0
                await wait_for(lambda: rn.node.cache.order(coid).filled_qty == Quantity.from_str("0.0006"))
                assert rn.node.cache.order(coid).quantity == Quantity.from_str("0.0015")

    asyncio.run(run())


def test_fills_reconciled_at_restart_are_not_counted_again() -> None:
    # 0.0006 filled while the node was down; after the restart a stream blip re-reads the order, then the
    # venue cancels the rest: the order must end CANCELED with its one fill
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            probe = ProbeConfig(quote_ids=IDS)
            async with running_node(fake, probe, IDS) as rn:
                coid = await _accepted_bid(rn)
            (venue_order,) = _venue_orders(fake, coid)
            fake.exchange.fill_order(venue_order.uuid, "0.0006")
            async with running_node(fake, probe, IDS, exec_overrides={"reconnect_delay_initial_secs": 0.2}) as rn:
                cache = rn.node.cache
                await wait_for(lambda: cache.order(coid) is not None and cache.order(coid).is_open)
                await wait_for(lambda: cache.order(coid).status == OrderStatus.PARTIALLY_FILLED)
                catch_ups = len(fake.requests_to("/v1/order", "GET"))
                await fake.drop_connections("private")  # reconnect: the client re-reads its open orders
                await wait_for(lambda: len(fake.requests_to("/v1/order", "GET")) > catch_ups)
                await asyncio.sleep(0.3)
                assert rn.exec_client._filled_qty(cache.order(coid)) == Decimal("0.0006")
                fake.exchange.cancel(venue_order)
                await wait_for(lambda: cache.order(coid).status == OrderStatus.CANCELED)
                assert cache.order(coid).filled_qty == Quantity.from_str("0.0006")

    asyncio.run(run())


@pytest.mark.parametrize("how", ["cancel_order", "cancel_all_orders"])
def test_a_cancel_while_the_placement_is_unsettled_stops_its_retry(how: str) -> None:
    # the first attempt fails (500: outcome unknown), the lookup finds nothing; a cancel comes meanwhile
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            async with running_node(
                fake, ProbeConfig(quote_ids=IDS), IDS, exec_overrides={"lookup_delay_secs": 1.0}
            ) as rn:
                probe = rn.probe
                fake.fail_next("/v1/orders", status=500, method="POST")
                coid = _submit_bid(rn)
                await wait_for(lambda: rn.node.cache.order(coid).status == OrderStatus.SUBMITTED)
                if how == "cancel_order":
                    probe.cancel_order(rn.node.cache.order(coid))
                else:
                    probe.cancel_all_orders(BTC)
                await wait_for(lambda: rn.node.cache.order(coid).status == OrderStatus.CANCELED, timeout=10)
                await asyncio.sleep(0.3)
                assert _venue_orders(fake, coid) == []  # never placed: no `-r1` retry after the cancel
                assert len(fake.requests_to("/v1/orders", "POST")) == 1

    asyncio.run(run())


def test_a_cancel_during_the_placement_round_trip_is_sent_once_the_order_exists() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            async with running_node(fake, ProbeConfig(quote_ids=IDS), IDS) as rn:
                probe = rn.probe
                fake.hold_private("myOrder")  # only the placement's answer can tell the order exists
                fake.delay_next("/v1/orders", 0.5, method="POST", execute=True)
                coid = _submit_bid(rn)
                await wait_for(lambda: rn.node.cache.order(coid).status == OrderStatus.SUBMITTED)
                probe.cancel_order(rn.node.cache.order(coid))
                await wait_for(lambda: bool(fake.requests_to("/v1/order", "DELETE")))
                await fake.release_private("myOrder")
                await wait_for(lambda: rn.node.cache.order(coid).status == OrderStatus.CANCELED)
                assert [o.state for o in _venue_orders(fake, coid)] == ["cancel"]

    asyncio.run(run())


def test_an_unreadable_placement_answer_is_looked_up_not_rejected() -> None:
    # a 201 whose body the client cannot decode: the order exists, so it is looked up by identifier
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            async with running_node(
                fake, ProbeConfig(quote_ids=IDS), IDS, exec_overrides={"lookup_delay_secs": 0.1}
            ) as rn:
                fake.answer_unreadably("/v1/orders", method="POST")
                coid = _submit_bid(rn)
                await wait_for(lambda: rn.node.cache.order(coid).status == OrderStatus.ACCEPTED)
                (venue_order,) = _venue_orders(fake, coid)
                assert not rn.probe.events_of(coid, OrderRejected)
                assert len(fake.requests_to("/v1/orders", "POST")) == 1  # looked up, not placed again
                fake.exchange.fill_order(venue_order.uuid)
                await wait_for(lambda: rn.node.cache.order(coid).status == OrderStatus.FILLED)

    asyncio.run(run())
