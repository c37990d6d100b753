"""
The real UpbitDataClient and UpbitExecutionClient inside a NautilusTrader TradingNode, against the fake
venue: market data on one socket, the order lifecycle (fill, partial fill, cancel, modify, market buy by
amount), venue rejections, reconnects, 429 back-off, timeouts without duplicates.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.currencies import BTC as BTC_CCY
from nautilus_trader.model.currencies import XRP as XRP_CCY
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderAccepted
from nautilus_trader.model.events import OrderCanceled
from nautilus_trader.model.events import OrderCancelRejected
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.events import OrderRejected
from nautilus_trader.model.events import OrderUpdated
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.upbit.constants import UPBIT_VENUE
from tests.fakes.upbit import FakeUpbitServer
from tests.fakes.upbit import fixtures
from tests.integration.upbit.harness import wait_for
from tests.integration.upbit.node import ProbeConfig
from tests.integration.upbit.node import RunningNode
from tests.integration.upbit.node import running_node

pytestmark = pytest.mark.integration

IDS = ("KRW-BTC.UPBIT", "KRW-ETH.UPBIT", "KRW-XRP.UPBIT")
BTC = InstrumentId.from_str("KRW-BTC.UPBIT")


def buy_limit(factory: Any, quantity: str, price: str, **kwargs: Any) -> Any:
    """A limit BUY of KRW-BTC."""
    return factory.limit(BTC, OrderSide.BUY, Quantity.from_str(quantity), Price.from_str(price), **kwargs)


def _funded(fake: FakeUpbitServer) -> None:
    fake.exchange.set_balance("KRW", "100000000")
    fake.exchange.set_balance("BTC", "0.1")


def _status(rn: RunningNode, order: object) -> OrderStatus:
    return rn.node.cache.order(order.client_order_id).status  # type: ignore[attr-defined]


def _venue_orders(fake: FakeUpbitServer, client_order_id: object) -> list[object]:
    base = str(client_order_id)
    return [o for o in fake.exchange.orders.values() if o.identifier and o.identifier.startswith(base)]


def test_market_data_three_markets_one_connection_and_reconnect() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            probe = ProbeConfig(quote_ids=IDS, trade_ids=("KRW-BTC.UPBIT",), book_ids=("KRW-ETH.UPBIT",))
            async with running_node(fake, probe, IDS) as rn:
                await wait_for(lambda: {q.instrument_id.value for q in rn.probe.quotes} == set(IDS))
                await wait_for(lambda: bool(rn.probe.books))
                public = [c for c in fake.ws_connects if c.kind == "public"]
                assert len(public) == 1  # three markets, quotes + book + trades: one socket
                assert fake.subscribed_codes("public", "orderbook") == {"KRW-BTC.1", "KRW-ETH", "KRW-XRP.1"}
                assert fake.subscribed_codes("public", "trade") == {"KRW-BTC"}
                btc = next(q for q in rn.probe.quotes if q.instrument_id == BTC)
                assert btc.bid_price == Price.from_str(str(fixtures.recorded_book_units()[0]["bid_price"]))
                assert rn.node.cache.order_book(InstrumentId.from_str("KRW-ETH.UPBIT")) is not None

                await fake.drop_connections("public")
                await wait_for(lambda: len([c for c in fake.ws_connects if c.kind == "public"]) == 2)
                await wait_for(lambda: len(fake.subscribed_codes()) == 3)
                rn.probe.quotes.clear()
                for market in ("KRW-BTC", "KRW-ETH", "KRW-XRP"):
                    await fake.publish_orderbook(market)
                await wait_for(lambda: {q.instrument_id.value for q in rn.probe.quotes} == set(IDS))
                await fake.publish_trade("KRW-BTC", "103470000", "0.01", "BID")
                await wait_for(lambda: bool(rn.probe.trades))
                assert rn.data_client.ws_latency.count > 0

    asyncio.run(run())


def test_order_lifecycle_fill_partial_cancel_market_buy_and_modify() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            async with running_node(fake, ProbeConfig(quote_ids=("KRW-BTC.UPBIT",)), ("KRW-BTC.UPBIT",)) as rn:
                probe = rn.probe
                await wait_for(lambda: bool(probe.quotes))
                factory = probe.order_factory

                # 1. marketable limit buy: filled at the best ask
                taker = factory.limit(BTC, OrderSide.BUY, Quantity.from_str("0.001"), Price.from_str("103500000"))
                probe.submit_order(taker)
                await wait_for(lambda: _status(rn, taker) == OrderStatus.FILLED)
                (fill,) = probe.events_of(taker.client_order_id, OrderFilled)
                assert fill.last_px == Price.from_str("103493000")
                assert fill.last_qty == Quantity.from_str("0.00100000")
                assert str(fill.commission) == "52 KRW"  # 103493 KRW * 0.0005 = 51.7465 -> whole won
                assert probe.events_of(taker.client_order_id, OrderAccepted)

                # 2. resting limit: partial fill by a counterparty, then cancel (asynchronous on Upbit)
                resting = factory.limit(BTC, OrderSide.BUY, Quantity.from_str("0.002"), Price.from_str("100000000"))
                probe.submit_order(resting)
                await wait_for(lambda: _status(rn, resting) == OrderStatus.ACCEPTED)
                (venue_order,) = _venue_orders(fake, resting.client_order_id)
                fake.exchange.fill_order(venue_order.uuid, "0.0005")
                await wait_for(lambda: _status(rn, resting) == OrderStatus.PARTIALLY_FILLED)
                probe.cancel_order(rn.node.cache.order(resting.client_order_id))
                await wait_for(lambda: _status(rn, resting) == OrderStatus.CANCELED)
                cached = rn.node.cache.order(resting.client_order_id)
                assert cached.filled_qty == Quantity.from_str("0.00050000")
                assert probe.events_of(resting.client_order_id, OrderFilled)[0].liquidity_side.name == "MAKER"

                # 3. market buy for an amount: Upbit ends it in `cancel` with volume: filled, not canceled
                buy = factory.market(BTC, OrderSide.BUY, Quantity.from_str("10000"), quote_quantity=True)
                probe.submit_order(buy)
                await wait_for(lambda: _status(rn, buy) == OrderStatus.FILLED)
                (venue_buy,) = _venue_orders(fake, buy.client_order_id)
                assert (venue_buy.ord_type, venue_buy.state, venue_buy.price) == (
                    "price",
                    "cancel",
                    Decimal(10000),
                )
                cached = rn.node.cache.order(buy.client_order_id)
                assert cached.quantity.as_decimal() == venue_buy.executed_volume  # quote amount -> base volume
                assert not cached.is_quote_quantity
                assert not probe.events_of(buy.client_order_id, OrderCanceled)

                # 4. market sell by volume
                sell = factory.market(BTC, OrderSide.SELL, Quantity.from_str("0.0005"))
                probe.submit_order(sell)
                await wait_for(lambda: _status(rn, sell) == OrderStatus.FILLED)
                assert probe.events_of(sell.client_order_id, OrderFilled)[0].last_px == Price.from_str("103460000")

                # 5. modify through cancel_and_new: a new venue order id, no cancel of the client order
                order = factory.limit(BTC, OrderSide.BUY, Quantity.from_str("0.001"), Price.from_str("99000000"))
                probe.submit_order(order)
                await wait_for(lambda: _status(rn, order) == OrderStatus.ACCEPTED)
                old_id = rn.node.cache.order(order.client_order_id).venue_order_id
                probe.modify_order(rn.node.cache.order(order.client_order_id), price=Price.from_str("99500000"))
                await wait_for(lambda: bool(probe.events_of(order.client_order_id, OrderUpdated)))
                # the old order's `cancel` event arrives and must be ignored: a myAsset frame sent after it
                # (the private stream keeps order) shows the node has handled it
                await wait_for(
                    lambda: [o.state for o in _venue_orders(fake, order.client_order_id)] == ["cancel", "wait"]
                )
                fake.exchange.set_balance("XRP", "1")
                await wait_for(lambda: rn.node.cache.account_for_venue(UPBIT_VENUE).balance(XRP_CCY) is not None)
                cached = rn.node.cache.order(order.client_order_id)
                assert cached.status == OrderStatus.ACCEPTED
                assert cached.price == Price.from_str("99500000")
                assert cached.venue_order_id != old_id
                assert [o.state for o in _venue_orders(fake, order.client_order_id)] == ["cancel", "wait"]

                # 6. cancel all: every open order of the instrument through DELETE /v1/orders/uuids
                other = factory.limit(BTC, OrderSide.BUY, Quantity.from_str("0.001"), Price.from_str("98000000"))
                probe.submit_order(other)
                await wait_for(lambda: _status(rn, other) == OrderStatus.ACCEPTED)
                probe.cancel_all_orders(BTC)
                await wait_for(lambda: _status(rn, order) == OrderStatus.CANCELED)
                await wait_for(lambda: _status(rn, other) == OrderStatus.CANCELED)
                assert fake.requests_to("/v1/orders/uuids", "DELETE")

                # 7. a market buy for a base quantity cannot be placed on Upbit
                bad = factory.market(BTC, OrderSide.BUY, Quantity.from_str("0.001"))
                probe.submit_order(bad)
                await wait_for(lambda: _status(rn, bad) == OrderStatus.DENIED)
                (denied,) = probe.events_of(bad.client_order_id, OrderDenied)
                assert "quote_quantity=True" in denied.reason
                assert not _venue_orders(fake, bad.client_order_id)

                # 8. balances follow myAsset (and /v1/accounts): BTC as the venue holds it, to the satoshi
                account = rn.node.cache.account_for_venue(UPBIT_VENUE)
                venue_btc = sum(fake.exchange.balances["BTC"], Decimal(0))
                await wait_for(lambda: account.balance_total(BTC_CCY).as_decimal() == venue_btc)
                assert sum(1 for e in account.events if e.is_reported) > 1

                # 9. reconciliation reports: the venue's view of every order and trade, no spot positions
                mass = await rn.exec_client.generate_mass_status(lookback_mins=60)
                reports = mass.order_reports
                by_coid = {r.client_order_id: r for r in reports.values()}
                assert by_coid[taker.client_order_id].order_status == OrderStatus.FILLED
                assert by_coid[resting.client_order_id].order_status == OrderStatus.CANCELED
                assert by_coid[resting.client_order_id].filled_qty == Quantity.from_str("0.00050000")
                assert by_coid[buy.client_order_id].order_status == OrderStatus.FILLED  # `cancel` + volume
                venue_trades = {t.uuid for o in fake.exchange.orders.values() for t in o.trades}
                reported = {f.trade_id.value for fills in mass.fill_reports.values() for f in fills}
                assert reported == venue_trades
                assert not mass.position_reports

    asyncio.run(run())


def test_venue_rejections_carry_upbit_error_names() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            ids = ("KRW-BTC.UPBIT",)
            # the risk engine is bypassed so the venue's own checks are what refuses these
            async with running_node(fake, ProbeConfig(quote_ids=ids), ids, bypass_risk=True) as rn:
                probe, factory = rn.probe, rn.probe.order_factory
                await wait_for(lambda: bool(probe.quotes))
                cases = {
                    "insufficient_funds_bid": (Quantity.from_str("2"), Price.from_str("100000000")),
                    "under_min_total_bid": (Quantity.from_str("0.00001"), Price.from_str("100000000")),
                    "invalid_price_bid": (Quantity.from_str("0.001"), Price.from_str("100000500")),
                }
                orders = {}
                for name, (qty, px) in cases.items():
                    orders[name] = factory.limit(BTC, OrderSide.BUY, qty, px)
                    probe.submit_order(orders[name])
                for name, order in orders.items():
                    await wait_for(lambda o=order: _status(rn, o) == OrderStatus.REJECTED)
                    (rejected,) = probe.events_of(order.client_order_id, OrderRejected)
                    assert rejected.reason.startswith(name), rejected.reason
                # a refused cancel carries the name too
                resting = factory.limit(BTC, OrderSide.BUY, Quantity.from_str("0.001"), Price.from_str("90000000"))
                probe.submit_order(resting)
                await wait_for(lambda: _status(rn, resting) == OrderStatus.ACCEPTED)
                (venue_order,) = _venue_orders(fake, resting.client_order_id)
                fake.exchange.cancel(venue_order)  # cancelled on the venue side, the stream is slower
                fake.exchange.order_listeners.clear()  # ... so slow the node never hears of it
                probe.cancel_order(rn.node.cache.order(resting.client_order_id))
                await wait_for(lambda: bool(probe.events_of(resting.client_order_id, OrderCancelRejected)))
                (refused,) = probe.events_of(resting.client_order_id, OrderCancelRejected)
                assert refused.reason.startswith("order_not_found"), refused.reason
                # ... and the lookup that follows finds the order cancelled on the venue
                await wait_for(lambda: _status(rn, resting) == OrderStatus.CANCELED)

    asyncio.run(run())


def test_429_backs_off_and_retries_with_a_fresh_identifier() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            ids = ("KRW-BTC.UPBIT",)
            async with running_node(fake, ProbeConfig(quote_ids=ids), ids) as rn:
                probe = rn.probe
                await wait_for(lambda: bool(probe.quotes))
                fake.fail_next("/v1/orders", status=429, method="POST")
                order = probe.order_factory.limit(
                    BTC,
                    OrderSide.BUY,
                    Quantity.from_str("0.001"),
                    Price.from_str("100000000"),
                )
                probe.submit_order(order)
                await wait_for(lambda: _status(rn, order) == OrderStatus.ACCEPTED)
                posts = fake.requests_to("/v1/orders", "POST")
                assert [p.status for p in posts] == [429, 201]
                coid = order.client_order_id.value
                assert [p.body["identifier"] for p in posts] == [coid, f"{coid}-r1"]
                assert posts[1].ts - posts[0].ts >= 1.0  # backed off at least a second
                assert len(_venue_orders(fake, order.client_order_id)) == 1

    asyncio.run(run())


def test_timeout_looks_the_order_up_by_identifier_and_never_duplicates() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            ids = ("KRW-BTC.UPBIT",)
            overrides = {"http_timeout_secs": 1.0, "lookup_delay_secs": 0.5}
            async with running_node(fake, ProbeConfig(quote_ids=ids), ids, exec_overrides=overrides) as rn:
                probe = rn.probe
                await wait_for(lambda: bool(probe.quotes))
                factory = probe.order_factory
                # the order is created but its answer never arrives in time
                fake.delay_next("/v1/orders", 2.0, method="POST", execute=True)
                created = factory.limit(BTC, OrderSide.BUY, Quantity.from_str("0.001"), Price.from_str("100000000"))
                probe.submit_order(created)
                await wait_for(lambda: _status(rn, created) == OrderStatus.ACCEPTED)

                def lookups() -> list[object]:
                    return [r for r in fake.requests_to("/v1/order", "GET") if "identifier" in dict(r.query)]

                await wait_for(lambda: bool(lookups()))
                assert dict(lookups()[0].query)["identifier"] == created.client_order_id.value
                await wait_for(lambda: lookups()[0].status == 200)  # answered: a retry would follow it at once
                await asyncio.sleep(0.3)
                assert len(fake.requests_to("/v1/orders", "POST")) == 1  # found by identifier: no retry
                assert len(_venue_orders(fake, created.client_order_id)) == 1

                # the request times out and was not executed: looked up, absent, sent again
                fake.delay_next("/v1/orders", 2.0, method="POST", execute=False)
                retried = factory.limit(BTC, OrderSide.BUY, Quantity.from_str("0.001"), Price.from_str("100000000"))
                probe.submit_order(retried)
                await wait_for(lambda: _status(rn, retried) == OrderStatus.ACCEPTED)
                coid = retried.client_order_id.value
                posts = [p for p in fake.requests_to("/v1/orders", "POST") if p.body["identifier"].startswith(coid)]
                assert [p.body["identifier"] for p in posts] == [coid, f"{coid}-r1"]
                assert len(_venue_orders(fake, retried.client_order_id)) == 1

    asyncio.run(run())


def test_private_stream_drop_is_caught_up_by_lookups() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            ids = ("KRW-BTC.UPBIT",)
            overrides = {"rest_poll_interval_secs": 0.2, "reconnect_delay_initial_secs": 0.3}
            async with running_node(fake, ProbeConfig(quote_ids=ids), ids, exec_overrides=overrides) as rn:
                probe = rn.probe
                order = probe.order_factory.limit(
                    BTC,
                    OrderSide.BUY,
                    Quantity.from_str("0.001"),
                    Price.from_str("100000000"),
                )
                probe.submit_order(order)
                await wait_for(lambda: _status(rn, order) == OrderStatus.ACCEPTED)
                fake.refuse_ws_connections = True
                await fake.drop_connections("private")
                (venue_order,) = _venue_orders(fake, order.client_order_id)
                fake.exchange.fill_order(venue_order.uuid)  # filled while the stream is down
                await wait_for(lambda: _status(rn, order) == OrderStatus.FILLED)
                fills = probe.events_of(order.client_order_id, OrderFilled)
                assert [f.trade_id.value for f in fills] == [venue_order.trades[0].uuid]
                fake.refuse_ws_connections = False
                await wait_for(lambda: rn.exec_client.ws_client.is_connected)
                await asyncio.sleep(0.2)
                assert len(probe.events_of(order.client_order_id, OrderFilled)) == 1  # no double count

    asyncio.run(run())


def test_time_in_force_and_best_price_mapping() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            ids = ("KRW-BTC.UPBIT",)
            async with running_node(fake, ProbeConfig(quote_ids=ids), ids) as rn:
                probe, factory = rn.probe, rn.probe.order_factory
                await wait_for(lambda: bool(probe.quotes))
                ioc = factory.limit(
                    BTC,
                    OrderSide.BUY,
                    Quantity.from_str("0.001"),
                    Price.from_str("100000000"),
                    time_in_force=TimeInForce.IOC,
                )
                post_only = factory.limit(
                    BTC,
                    OrderSide.BUY,
                    Quantity.from_str("0.001"),
                    Price.from_str("100000000"),
                    post_only=True,
                )
                best = factory.market(BTC, OrderSide.SELL, Quantity.from_str("0.001"), time_in_force=TimeInForce.IOC)
                for order in (ioc, post_only, best):
                    probe.submit_order(order)
                await wait_for(lambda: _status(rn, ioc) == OrderStatus.CANCELED)  # nothing to take at 100M
                await wait_for(lambda: _status(rn, post_only) == OrderStatus.ACCEPTED)
                await wait_for(lambda: _status(rn, best) == OrderStatus.FILLED)
                bodies = {p.body["identifier"]: p.body for p in fake.requests_to("/v1/orders", "POST")}
                assert bodies[ioc.client_order_id.value]["time_in_force"] == "ioc"
                assert bodies[post_only.client_order_id.value]["time_in_force"] == "post_only"
                assert bodies[best.client_order_id.value]["ord_type"] == "best"
                assert bodies[best.client_order_id.value]["time_in_force"] == "ioc"
                assert all(
                    set(b) <= {"market", "side", "ord_type", "volume", "price", "time_in_force", "identifier"}
                    for b in bodies.values()
                )

    asyncio.run(run())


def test_cancel_is_confirmed_by_a_lookup_when_the_stream_stays_silent() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            _funded(fake)
            ids = ("KRW-BTC.UPBIT",)
            overrides = {"cancel_confirm_secs": 0.3}
            async with running_node(fake, ProbeConfig(quote_ids=ids), ids, exec_overrides=overrides) as rn:
                probe = rn.probe
                order = buy_limit(probe.order_factory, "0.001", "100000000")
                probe.submit_order(order)
                await wait_for(lambda: _status(rn, order) == OrderStatus.ACCEPTED)
                fake.exchange.order_listeners.clear()  # the venue stops telling the node about orders
                probe.cancel_order(rn.node.cache.order(order.client_order_id))
                await wait_for(lambda: _status(rn, order) == OrderStatus.CANCELED)
                (venue_order,) = _venue_orders(fake, order.client_order_id)
                lookups = [r for r in fake.requests_to("/v1/order", "GET") if dict(r.query).get("uuid")]
                assert dict(lookups[-1].query)["uuid"] == venue_order.uuid
                assert venue_order.state == "cancel"

    asyncio.run(run())
