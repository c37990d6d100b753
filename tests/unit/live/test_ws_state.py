"""The WebSocket probe behind /health's ws_* checks (and the NautilusTrader layout it relies on)."""

from __future__ import annotations

import asyncio

from nautilus_trader.adapters.binance.websocket.client import BinanceWebSocketClient
from nautilus_trader.common.component import LiveClock

from arb_plugin.observability.ws_state import BINANCE_WS_ATTRIBUTES
from arb_plugin.observability.ws_state import binance_ws_state
from arb_plugin.observability.ws_state import venue_ws_state


class _Socket:
    def __init__(self, active: bool, reconnecting: bool) -> None:
        self._active, self._reconnecting = active, reconnecting

    def is_active(self) -> bool:
        return self._active

    def is_reconnecting(self) -> bool:
        return self._reconnecting


class _BinanceLike:
    """Shaped like NautilusTrader 1.231's Binance data client (two BinanceWebSocketClients)."""

    def __init__(self, sockets: list[_Socket | None]) -> None:
        loop = asyncio.new_event_loop()
        self._ws_client = BinanceWebSocketClient(LiveClock(), "ws://x", lambda raw: None, None, loop)
        self._ws_public_client = BinanceWebSocketClient(LiveClock(), "ws://x", lambda raw: None, None, loop)
        self._ws_public_client._clients = dict(enumerate(sockets))  # type: ignore[arg-type]
        self._ws_public_client._streams = ["btcusdt@bookTicker"]
        loop.close()


def test_nautilus_binance_websocket_layout_is_what_the_probe_reads() -> None:
    client = _BinanceLike([])
    for name in BINANCE_WS_ATTRIBUTES:
        ws = getattr(client, name)
        assert isinstance(ws._clients, dict)  # NautilusTrader 1.231 keeps its sockets here
        assert isinstance(ws.subscriptions, list)


def test_binance_states() -> None:
    assert binance_ws_state(_BinanceLike([])) == (False, "not connected (1 stream(s) subscribed)")
    assert binance_ws_state(_BinanceLike([_Socket(True, False)])) == (True, "1/1 connection(s) active, 1 stream(s)")
    assert binance_ws_state(_BinanceLike([_Socket(True, True)])) == (
        False, "0/1 connection(s) active, 1 stream(s), 1 reconnecting",
    )
    assert binance_ws_state(_BinanceLike([_Socket(True, False), None, _Socket(False, False)]))[0] is False
    assert binance_ws_state(object()) == (False, "no WebSocket client (adapter layout changed?)")


def test_upbit_client_and_missing_client() -> None:
    class _UpbitWs:
        is_connected = False
        subscriptions = {"orderbook": ["KRW-BTC.1", "KRW-USDT.1"]}

    class _Upbit:
        ws_client = _UpbitWs()

    upbit = _Upbit()
    assert venue_ws_state(upbit) == (False, "not connected (2 subscribed code(s); reconnecting, REST polling meanwhile)")
    upbit.ws_client.is_connected = True
    assert venue_ws_state(upbit) == (True, "connected, 2 subscribed code(s)")
    assert venue_ws_state(None) == (False, "no data client for this venue")
