"""
Subscription changes on a live Upbit WebSocket reach the venue, including one made while the previous
request is still being sent (every request replaces the whole set, so a change left behind is a silent gap).
"""

from __future__ import annotations

import asyncio

import pytest
from nautilus_trader.common.component import LiveClock

from adapters.upbit.websocket.client import UpbitWebSocketClient
from tests.fakes.upbit import FakeUpbitServer
from tests.integration.upbit.harness import wait_for

pytestmark = pytest.mark.integration


def test_a_change_made_while_a_request_is_on_its_way_is_sent_after_it() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            client = UpbitWebSocketClient(LiveClock(), fake.base_url_ws, lambda raw: None)
            client.set_codes("orderbook", ["KRW-BTC"])
            await client.connect()
            try:
                await wait_for(lambda: fake.subscribed_codes() == {"KRW-BTC"})
                ws = client._ws
                assert ws is not None
                # hold the next request on its way to the socket (built, not yet written)
                release, held = asyncio.Event(), asyncio.Event()
                send_bytes = ws.send_bytes

                async def slow_send(data: bytes, *args: object, **kwargs: object) -> None:
                    held.set()
                    await release.wait()
                    await send_bytes(data, *args, **kwargs)  # type: ignore[arg-type]

                ws.send_bytes = slow_send  # type: ignore[method-assign]
                client.subscribe("orderbook", ["KRW-ETH"])
                await asyncio.wait_for(held.wait(), 5)
                client.subscribe("orderbook", ["KRW-XRP"])  # while {BTC, ETH} is on its way
                ws.send_bytes = send_bytes  # type: ignore[method-assign]
                release.set()
                await wait_for(lambda: fake.subscribed_codes() == {"KRW-BTC", "KRW-ETH", "KRW-XRP"})
                assert client.requests_sent == 3  # on connect, {BTC, ETH}, then {BTC, ETH, XRP}
            finally:
                await client.disconnect()

    asyncio.run(run())
