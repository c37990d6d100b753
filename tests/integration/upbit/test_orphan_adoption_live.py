"""
Restart with an order the resumed state does not know, end to end in a live TradingNode: the Upbit leg of an
entry filled at the (fake) venue, the process died before the pair's new state reached the store, and the
state resumed is FLAT. NautilusTrader's reconciliation finds the order through the real Upbit execution client
under its client order id; ArbitrageStrategy claims it (its legs are its external order claims), adopts it
as an entry with one leg filled, and unwinds it with one Upbit BUY that reaches the venue. Nothing else is
sent; without the adoption nothing would be, and the short leg would stay.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.common.actor import Actor
from nautilus_trader.config import LiveExecEngineConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId

from adapters.upbit import UpbitLiveExecClientFactory
from arb_plugin.events import RESUME_CACHE_KEY
from arb_plugin.events import PairSnapshot
from arb_plugin.events import PairStatus
from arb_plugin.instruments import btcusdt_binance
from arb_plugin.instruments import fx_proxy_instrument
from arb_plugin.instruments import krw_btc_upbit
from arb_plugin.nodes.paper import SandboxLiveExecClientFactory
from arb_plugin.nodes.paper import install_paper_venue
from arb_plugin.order_ids import ClientOrderIds
from arb_plugin.strategy import ArbitrageStrategy
from tests.fakes.upbit import FakeUpbitServer
from tests.integration.upbit.harness import wait_for
from tests.integration.upbit.node import started
from tests.integration.upbit.node import upbit_exec_config
from tests.support import clientless_node_config
from tests.support import strategy_config

pytestmark = pytest.mark.integration

BTC_U = InstrumentId.from_str("KRW-BTC.UPBIT")


class _Quotes(Actor):
    """Stands in for the market data clients: the three instruments' quotes every 100 ms."""

    def __init__(self, quotes: dict[InstrumentId, tuple[str, str]]) -> None:
        super().__init__()
        self.quotes = quotes

    def on_start(self) -> None:
        self.clock.set_timer_ns("quotes", 100_000_000, 0, 0, self._send)

    def _send(self, _: object) -> None:
        ts = self.clock.timestamp_ns()
        for instrument_id, (bid, ask) in self.quotes.items():
            instrument = self.cache.instrument(instrument_id)
            if instrument is None:
                continue
            size = instrument.make_qty(1)
            quote = QuoteTick(instrument_id, instrument.make_price(bid), instrument.make_price(ask), size, size, ts, ts)
            self.msgbus.send("DataEngine.process", quote)


def test_an_entry_leg_found_at_the_venue_after_a_restart_is_adopted_and_unwound() -> None:
    now_s = int(time.time())
    # the strategy's ids: trader TESTER-001 (tag 001), ArbitrageStrategy-000 (tag 000)
    last_known = f"O-{ClientOrderIds.time_key((now_s - 120) * 10**9)[0]}-001-000-5"
    orphan_id = f"O-{ClientOrderIds.time_key((now_s - 60) * 10**9)[0]}-001-000-6"

    async def run() -> None:
        async with FakeUpbitServer() as fake:
            fake.exchange.set_balance("KRW", "100000000")
            fake.exchange.set_balance("BTC", "1")
            book = fake.exchange.markets["KRW-BTC"].book[0]
            sell = {
                "market": "KRW-BTC",
                "side": "ask",
                "volume": "0.01",
                "price": "104000000",
                "ord_type": "limit",
                "identifier": orphan_id,
            }
            fake.exchange.fill_order(fake.exchange.place(sell).uuid)  # the entry's Upbit leg, filled while down
            placed_before = set(fake.exchange.orders)

            config = clientless_node_config(
                exec_engine=LiveExecEngineConfig(
                    reconciliation=True, reconciliation_lookback_mins=60, graceful_shutdown_on_exception=True
                ),
                exec_clients={
                    "UPBIT": upbit_exec_config(fake, (str(BTC_U),)),
                    "BINANCE": SandboxExecutionClientConfig(
                        venue="BINANCE",
                        account_type="CASH",
                        oms_type="NETTING",
                        starting_balances=["100000 USDT", "1 BTC"],
                    ),
                },
                timeout_connection=15.0,
                timeout_reconciliation=10.0,
            )
            node = TradingNode(config=config, loop=asyncio.get_running_loop())
            strategy = ArbitrageStrategy(
                strategy_config(
                    market_data="quotes", fx_data="quotes", entry_threshold_bps=Decimal(10_000), stale_quote_ms=2000
                )
            )
            node.trader.add_strategy(strategy)
            fx = fx_proxy_instrument()
            node.trader.add_actor(
                _Quotes(
                    {
                        btcusdt_binance().id: ("74000.00", "74001.00"),
                        BTC_U: (str(book["bid_price"]), str(book["ask_price"])),
                        fx.id: ("1400", "1401"),
                    }
                )
            )
            node.add_exec_client_factory("UPBIT", UpbitLiveExecClientFactory)
            node.add_exec_client_factory("BINANCE", SandboxLiveExecClientFactory)
            node.build()
            install_paper_venue(node.kernel)
            for instrument in (btcusdt_binance(), krw_btc_upbit(), fx):  # what data clients would add
                node.kernel.cache.add_instrument(instrument)
            flat = PairSnapshot(symbol="BTCUSDT", status=PairStatus.FLAT, ts_event=1, last_order_id=last_known)
            node.kernel.cache.add(RESUME_CACHE_KEY.format(symbol="BTCUSDT"), flat.to_json())
            async with started(node, strategy):
                pair = strategy._pairs["BTCUSDT"]
                await wait_for(lambda: strategy.counters["unwinds"] >= 1 and not pair.book.has_open_orders, 30)
                await wait_for(lambda: pair.book.status is PairStatus.FLAT, 30)

                assert strategy.counters["orphans_adopted"] == 1
                adopted = node.kernel.cache.order(ClientOrderId(orphan_id))
                assert adopted is not None and adopted.strategy_id == strategy.id  # claimed
                new_at_venue = [o for uuid, o in fake.exchange.orders.items() if uuid not in placed_before]
                assert [(o.side, o.volume) for o in new_at_venue] == [("bid", Decimal("0.01"))]  # the unwind only
                sent = [
                    o for o in node.kernel.cache.orders(strategy_id=strategy.id) if o.client_order_id.value != orphan_id
                ]
                assert [(o.instrument_id, o.side, "intent=unwind" in (o.tags or [])) for o in sent] == [
                    (BTC_U, OrderSide.BUY, True),
                ]
                assert pair.book.is_flat and pair.book.round_trips == 1

    asyncio.run(run())
