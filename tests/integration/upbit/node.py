"""
A real NautilusTrader ``TradingNode`` running the Upbit data and execution clients against the fake venue,
with a small probe strategy the tests drive (subscribe, submit, cancel, modify) and whose received data
and order events they inspect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from nautilus_trader.cache.config import CacheConfig
from nautilus_trader.common.config import DatabaseConfig
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.config import LiveDataEngineConfig
from nautilus_trader.config import LiveExecEngineConfig
from nautilus_trader.config import LiveRiskEngineConfig
from nautilus_trader.config import StrategyConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.events import OrderEvent
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import TraderId
from nautilus_trader.trading.strategy import Strategy

from adapters.upbit import UpbitDataClientConfig
from adapters.upbit import UpbitExecClientConfig
from adapters.upbit import UpbitLiveDataClientFactory
from adapters.upbit import UpbitLiveExecClientFactory
from tests.fakes.upbit import DEFAULT_ACCESS_KEY
from tests.fakes.upbit import DEFAULT_SECRET_KEY
from tests.fakes.upbit import FakeUpbitServer
from tests.integration.upbit.harness import wait_for


class ProbeConfig(StrategyConfig, frozen=True):
    """Which data the probe subscribes on start."""

    quote_ids: tuple[str, ...] = ()
    trade_ids: tuple[str, ...] = ()
    book_ids: tuple[str, ...] = ()


class Probe(Strategy):
    """Subscribes what its config says and records every quote, trade, book and order event."""

    def __init__(self, config: ProbeConfig) -> None:
        super().__init__(config)
        self.quotes: list[QuoteTick] = []
        self.trades: list[TradeTick] = []
        self.books: list[OrderBookDeltas] = []
        self.order_events: list[OrderEvent] = []

    def on_start(self) -> None:
        for iid in self.config.quote_ids:
            self.subscribe_quote_ticks(InstrumentId.from_str(iid))
        for iid in self.config.trade_ids:
            self.subscribe_trade_ticks(InstrumentId.from_str(iid))
        for iid in self.config.book_ids:
            self.subscribe_order_book_deltas(InstrumentId.from_str(iid), BookType.L2_MBP)

    def on_stop(self) -> None:
        pass  # leave orders and subscriptions as they are: tests inspect them after the stop

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.quotes.append(tick)

    def on_trade_tick(self, tick: TradeTick) -> None:
        self.trades.append(tick)

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        self.books.append(deltas)

    def on_order_event(self, event: OrderEvent) -> None:
        self.order_events.append(event)

    def events_of(self, client_order_id: object, kind: type | None = None) -> list[OrderEvent]:
        return [
            e
            for e in self.order_events
            if e.client_order_id == client_order_id and (kind is None or isinstance(e, kind))
        ]


@dataclass
class RunningNode:
    node: TradingNode
    probe: Probe
    fake: FakeUpbitServer

    @property
    def data_client(self) -> Any:
        return self.node.kernel.data_engine._clients[next(iter(self.node.kernel.data_engine._clients))]

    @property
    def exec_client(self) -> Any:
        return next(iter(self.node.kernel.exec_engine._clients.values()))


def upbit_exec_config(fake: FakeUpbitServer, instrument_ids: tuple[str, ...], **overrides: Any) -> UpbitExecClientConfig:
    """The Upbit execution client against ``fake``, loading ``instrument_ids``."""
    return UpbitExecClientConfig(
        base_url_http=fake.base_url_http,
        base_url_ws_private=fake.base_url_ws_private,
        access_key=fake.access_key,
        secret_key=fake.secret_key,
        instrument_provider=InstrumentProviderConfig(load_ids=frozenset(instrument_ids)),
        **overrides,
    )


@contextlib.asynccontextmanager
async def started(node: TradingNode, strategy: Strategy) -> AsyncIterator[None]:
    """Run a built node until ``strategy`` runs; stop and dispose it on exit."""
    task = asyncio.get_running_loop().create_task(node.run_async())
    try:
        await wait_for(lambda: strategy.is_running or task.done(), timeout=20)
        if task.done():
            task.result()
        assert strategy.is_running, "the node did not start"
        yield
    finally:
        await node.stop_async()
        await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        node.kernel.dispose()


def node_config(
    fake: FakeUpbitServer,
    instrument_ids: tuple[str, ...],
    trader_id: str = "TESTER-001",
    bypass_risk: bool = False,
    redis_cache: bool = False,
    exec_overrides: dict[str, Any] | None = None,
    data_overrides: dict[str, Any] | None = None,
) -> TradingNodeConfig:
    provider = InstrumentProviderConfig(load_ids=frozenset(instrument_ids))
    return TradingNodeConfig(
        trader_id=TraderId(trader_id),
        logging=LoggingConfig(log_level="WARNING", log_colors=False),
        data_engine=LiveDataEngineConfig(graceful_shutdown_on_exception=True),
        risk_engine=LiveRiskEngineConfig(bypass=bypass_risk, graceful_shutdown_on_exception=True),
        exec_engine=LiveExecEngineConfig(
            reconciliation=True,
            reconciliation_lookback_mins=60,
            inflight_check_interval_ms=1_000,
            graceful_shutdown_on_exception=True,
        ),
        cache=CacheConfig(database=DatabaseConfig(type="redis"), buffer_interval_ms=None) if redis_cache else None,
        data_clients={
            "UPBIT": UpbitDataClientConfig(
                base_url_http=fake.base_url_http,
                base_url_ws=fake.base_url_ws,
                access_key=fake.access_key,
                secret_key=fake.secret_key,
                instrument_provider=provider,
                **(data_overrides or {}),
            ),
        },
        exec_clients={"UPBIT": upbit_exec_config(fake, instrument_ids, **(exec_overrides or {}))},
        timeout_connection=15.0,
        timeout_reconciliation=10.0,
        timeout_portfolio=5.0,
        timeout_disconnection=5.0,
        timeout_post_stop=0.1,
    )


@contextlib.asynccontextmanager
async def running_node(
    fake: FakeUpbitServer,
    probe_config: ProbeConfig,
    instrument_ids: tuple[str, ...],
    **kwargs: Any,
) -> AsyncIterator[RunningNode]:
    """Build and start a node; stop it on exit (the fake keeps running)."""
    config = node_config(fake, instrument_ids, **kwargs)
    node = TradingNode(config=config, loop=asyncio.get_running_loop())
    probe = Probe(probe_config)
    node.trader.add_strategy(probe)
    node.add_data_client_factory("UPBIT", UpbitLiveDataClientFactory)
    node.add_exec_client_factory("UPBIT", UpbitLiveExecClientFactory)
    node.build()
    async with started(node, probe):
        yield RunningNode(node, probe, fake)


DEFAULT_KEYS = (DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
