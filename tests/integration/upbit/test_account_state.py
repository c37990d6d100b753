"""
The Upbit account inside a TradingNode follows the venue's balances whatever order the private stream,
the order events and the ``/v1/accounts`` snapshots arrive in (the fake's ``hold_private`` and
``delay_next`` fix the order).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from nautilus_trader.accounting.factory import AccountFactory
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import QueryAccount
from nautilus_trader.model.currencies import BTC as BTC_CCY
from nautilus_trader.model.currencies import KRW as KRW_CCY
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.upbit.constants import UPBIT_VENUE
from tests.fakes.upbit import FakeUpbitServer
from tests.integration.upbit.harness import wait_for
from tests.integration.upbit.node import ProbeConfig
from tests.integration.upbit.node import RunningNode
from tests.integration.upbit.node import running_node

pytestmark = pytest.mark.integration

BTC = InstrumentId.from_str("KRW-BTC.UPBIT")
PROBE = ProbeConfig(quote_ids=("KRW-BTC.UPBIT",))


def _venue_total(fake: FakeUpbitServer, currency: str) -> Decimal:
    return sum(fake.exchange.balances.get(currency, []), Decimal(0))


def _query_account(rn: RunningNode) -> QueryAccount:
    return QueryAccount(
        trader_id=rn.node.trader_id,
        account_id=rn.exec_client.account_id,
        command_id=UUID4(),
        ts_init=0,
    )


def test_fill_after_its_my_asset_frame_is_not_added_twice_when_a_backtest_marked_upbit_calculated() -> None:
    # A backtest of a venue named UPBIT in this process (the arb backtests run one) registers UPBIT in
    # NautilusTrader's process-wide list of accounts calculated from fills; nothing removes it. Do the same.
    AccountFactory.register_calculated_account(UPBIT_VENUE.value)

    async def run() -> None:
        async with FakeUpbitServer() as fake:
            fake.exchange.set_balance("KRW", "100000000")
            fake.exchange.set_balance("BTC", "0.1")
            async with running_node(fake, PROBE, ("KRW-BTC.UPBIT",)) as rn:
                probe = rn.probe
                account = rn.node.cache.account_for_venue(UPBIT_VENUE)
                assert account is not None
                assert not account.calculate_account_state  # the venue reports this account's balances

                order = probe.order_factory.limit(
                    BTC, OrderSide.BUY, Quantity.from_str("0.002"), Price.from_str("100000000")
                )
                probe.submit_order(order)
                await wait_for(lambda: rn.node.cache.order(order.client_order_id).status == OrderStatus.ACCEPTED)
                (venue_order,) = [
                    o for o in fake.exchange.orders.values() if o.identifier == order.client_order_id.value
                ]

                # the order: myAsset (BTC +0.0005) reaches the node before the myOrder trade
                fake.hold_private("myOrder")
                fake.exchange.fill_order(venue_order.uuid, "0.0005")
                venue_btc = _venue_total(fake, "BTC")
                assert venue_btc == Decimal("0.1005")
                await wait_for(lambda: account.balance_total(BTC_CCY).as_decimal() == venue_btc)
                assert await fake.release_private("myOrder") == 1
                await wait_for(lambda: bool(probe.events_of(order.client_order_id, OrderFilled)))

                # the fill was already in the reported balance: it must not be added on top
                assert account.balance_total(BTC_CCY).as_decimal() == venue_btc
                assert account.balance_total(KRW_CCY).as_decimal() == _venue_total(fake, "KRW").quantize(Decimal(1))
                assert all(e.is_reported for e in account.events)

    asyncio.run(run())


def test_accounts_snapshot_older_than_a_my_asset_frame_does_not_undo_it() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            fake.exchange.set_balance("KRW", "100000000")
            fake.exchange.set_balance("BTC", "0.1")
            async with running_node(fake, PROBE, ("KRW-BTC.UPBIT",)) as rn:
                account = rn.node.cache.account_for_venue(UPBIT_VENUE)
                calls = len(fake.requests_to("/v1/accounts"))
                # the snapshot is taken when the request arrives and answered a second later
                fake.delay_next("/v1/accounts", 1.0, method="GET")
                query = asyncio.get_running_loop().create_task(rn.exec_client._query_account(_query_account(rn)))
                await wait_for(lambda: len(fake.requests_to("/v1/accounts")) == calls + 1)

                # meanwhile BTC changes; the myAsset frame is applied before the old snapshot arrives
                fake.exchange.set_balance("BTC", "0.25")
                fake.exchange.set_balance("KRW", "90000000")
                await wait_for(lambda: account.balance_total(BTC_CCY).as_decimal() == Decimal("0.25"))
                await wait_for(lambda: account.balance_total(KRW_CCY).as_decimal() == Decimal(90000000))
                assert not query.done()
                await asyncio.wait_for(query, timeout=10)

                snapshot = account.last_event
                assert snapshot is not None and snapshot.is_reported
                assert account.balance_total(BTC_CCY).as_decimal() == Decimal("0.25")
                assert account.balance_total(KRW_CCY).as_decimal() == Decimal(90000000)

                # with no frame in flight the snapshot is applied as it is
                fake.exchange.balances["BTC"] = [Decimal("0.3"), Decimal(0)]  # changed without a myAsset frame
                await rn.exec_client._query_account(_query_account(rn))
                assert account.balance_total(BTC_CCY).as_decimal() == Decimal("0.3")

    asyncio.run(run())


def test_currency_missing_from_accounts_snapshot_is_reported_as_zero() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            fake.exchange.set_balance("KRW", "100000000")
            fake.exchange.set_balance("BTC", "0.1")
            async with running_node(fake, PROBE, ("KRW-BTC.UPBIT",)) as rn:
                account = rn.node.cache.account_for_venue(UPBIT_VENUE)
                assert account.balance_total(BTC_CCY).as_decimal() == Decimal("0.1")

                # all BTC gone while no frame told the node (stream down): Upbit lists no BTC row any more
                del fake.exchange.balances["BTC"]
                assert "BTC" not in {row["currency"] for row in fake.exchange.account_rows()}
                await rn.exec_client._query_account(_query_account(rn))

                balance = account.balance(BTC_CCY)
                assert balance is not None
                assert balance.total.as_decimal() == 0 and balance.free.as_decimal() == 0

    asyncio.run(run())
