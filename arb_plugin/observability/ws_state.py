"""
Is a venue's market-data WebSocket connected? (for ``/health``: ``ws_binance``, ``ws_upbit``).

NautilusTrader's data clients do not publish their connection state; a ``LiveMarketDataClient`` stays
"connected" while its socket reconnects underneath. So the probe asks the socket itself:

- our Upbit data client exposes its one multiplexed socket publicly: ``ws_client.is_connected`` and
  ``ws_client.subscriptions``;
- NautilusTrader's Binance data client keeps two ``BinanceWebSocketClient`` s, ``_ws_client`` (trades,
  bars, tickers) and ``_ws_public_client`` (``bookTicker``, depth); each keeps one Rust ``WebSocketClient``
  per connection in ``_clients``, which answers ``is_active()`` / ``is_reconnecting()`` (a socket that is
reconnecting still reports ``is_active()``: it counts as up only when not reconnecting). Those attributes
  are private: NautilusTrader is pinned (``==1.231.0``) and ``tests/unit/live/test_ws_state.py`` fails if
  they move.
"""

from __future__ import annotations

from typing import Any

BINANCE_WS_ATTRIBUTES = ("_ws_client", "_ws_public_client")


def binance_ws_state(client: Any) -> tuple[bool, str]:
    """``(connected, detail)`` of a NautilusTrader Binance data client's market-stream connections."""
    clients: list[Any] = [getattr(client, name, None) for name in BINANCE_WS_ATTRIBUTES]
    if any(ws is None or getattr(ws, "_clients", None) is None for ws in clients):
        return False, "no WebSocket client (adapter layout changed?)"
    sockets = [c for ws in clients for c in ws._clients.values() if c is not None]
    streams = sum(len(ws.subscriptions) for ws in clients)
    if not sockets:
        return False, f"not connected ({streams} stream(s) subscribed)"
    reconnecting = sum(1 for c in sockets if c.is_reconnecting())
    active = sum(1 for c in sockets if c.is_active() and not c.is_reconnecting())
    detail = f"{active}/{len(sockets)} connection(s) active, {streams} stream(s)"
    if reconnecting:
        detail += f", {reconnecting} reconnecting"
    return active == len(sockets), detail


def venue_ws_state(client: Any) -> tuple[bool, str]:
    """``(connected, detail)`` for a venue's data client (``None``: no client registered)."""
    if client is None:
        return False, "no data client for this venue"
    ws = getattr(client, "ws_client", None)
    if ws is not None and hasattr(ws, "is_connected"):
        return upbit_ws_state(ws)
    return binance_ws_state(client)


def upbit_ws_state(ws: Any) -> tuple[bool, str]:
    """``(connected, detail)`` of ``adapters.upbit``'s public WebSocket client (public API)."""
    codes = sum(len(c) for c in ws.subscriptions.values())
    if ws.is_connected:
        return True, f"connected, {codes} subscribed code(s)"
    return False, f"not connected ({codes} subscribed code(s); reconnecting, REST polling meanwhile)"
