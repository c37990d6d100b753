"""Build the real Upbit clients against a fake venue, outside a TradingNode, and capture what they emit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from collections.abc import Callable
from typing import Any

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.data.messages import SubscribeQuoteTicks
from nautilus_trader.data.messages import SubscribeTradeTicks
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import TraderId

from adapters.upbit.config import UpbitDataClientConfig
from adapters.upbit.constants import UPBIT_VENUE
from adapters.upbit.data import UpbitDataClient
from adapters.upbit.http.client import UpbitHttpClient
from adapters.upbit.providers import UpbitInstrumentProvider
from tests.fakes.upbit import DEFAULT_ACCESS_KEY
from tests.fakes.upbit import DEFAULT_SECRET_KEY
from tests.fakes.upbit import FakeUpbitServer


async def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, interval: float = 0.01) -> None:
    """
    Wait until ``predicate()`` is true; fail with an AssertionError after ``timeout`` seconds.

    The timeout only bounds a failing test (a loaded CI machine may be slow): it is generous on purpose.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def make_data_client(
    fake: FakeUpbitServer,
    instrument_ids: list[str],
    **config: Any,
) -> tuple[UpbitDataClient, list[Any]]:
    """Return a real ``UpbitDataClient`` on the fake and the list its data lands in."""
    loop = asyncio.get_running_loop()
    clock = LiveClock()
    trader_id = TraderId("TESTER-001")
    msgbus = MessageBus(trader_id, clock)
    cache = Cache()
    http = UpbitHttpClient(clock, fake.base_url_http, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
    provider = UpbitInstrumentProvider(
        http,
        clock,
        InstrumentProviderConfig(load_ids=frozenset(InstrumentId.from_str(i) for i in instrument_ids)),
    )
    client = UpbitDataClient(
        loop=loop,
        client=http,
        msgbus=msgbus,
        cache=cache,
        clock=clock,
        instrument_provider=provider,
        base_url_ws=fake.base_url_ws,
        config=UpbitDataClientConfig(base_url_http=fake.base_url_http, base_url_ws=fake.base_url_ws, **config),
    )
    received: list[Any] = []
    client._handle_data = received.append  # type: ignore[method-assign]  # capture instead of the engine
    return client, received


def command_kwargs() -> dict[str, Any]:
    return {"client_id": None, "venue": UPBIT_VENUE, "command_id": UUID4(), "ts_init": 0}


async def sub_quotes(client: UpbitDataClient, instrument_id: InstrumentId) -> None:
    await client._subscribe_quote_ticks(SubscribeQuoteTicks(instrument_id=instrument_id, **command_kwargs()))


async def sub_trades(client: UpbitDataClient, instrument_id: InstrumentId) -> None:
    await client._subscribe_trade_ticks(SubscribeTradeTicks(instrument_id=instrument_id, **command_kwargs()))


@contextlib.asynccontextmanager
async def connected_data_client(
    fake: FakeUpbitServer,
    instrument_ids: list[str],
    **config: Any,
) -> AsyncIterator[tuple[UpbitDataClient, list[Any]]]:
    """:func:`make_data_client`, connected; disconnected and its HTTP client closed on the way out."""
    client, received = make_data_client(fake, instrument_ids, **config)
    await client._connect()
    try:
        yield client, received
    finally:
        await client._disconnect()
        await client._http_client.close()
