"""The WebSocket client's pure parts: the full-set request and the reconnect backoff."""

from __future__ import annotations

import json

from nautilus_trader.common.component import LiveClock

from adapters.upbit.websocket.client import UpbitWebSocketClient


def _client(**kwargs: object) -> UpbitWebSocketClient:
    return UpbitWebSocketClient(LiveClock(), "ws://127.0.0.1:1/websocket/v1", lambda raw: None, **kwargs)  # type: ignore[arg-type]


def test_request_carries_the_full_set_with_ticket_and_format() -> None:
    client = _client(ws_format="SIMPLE")
    client.set_codes("orderbook", ["KRW-BTC.1", "KRW-ETH"])
    client.set_codes("trade", ["KRW-BTC"])
    client.subscribe("myAsset")
    request = json.loads(client.build_request())
    assert set(request[0]) == {"ticket"}
    assert request[1:-1] == [
        {"type": "orderbook", "codes": ["KRW-BTC.1", "KRW-ETH"]},
        {"type": "trade", "codes": ["KRW-BTC"]},
        {"type": "myAsset"},  # no codes: Upbit refuses codes on myAsset
    ]
    assert request[-1] == {"format": "SIMPLE"}
    client.set_codes("trade", [])
    assert "trade" not in client.subscriptions
    assert json.loads(client.build_request())[0]["ticket"] != request[0]["ticket"]  # a fresh ticket


def test_backoff_grows_exponentially_with_bounded_jitter_and_a_cap() -> None:
    client = _client(
        reconnect_delay_initial_secs=0.1,
        reconnect_delay_max_secs=2.0,
        reconnect_backoff_factor=2.0,
        reconnect_jitter_ratio=0.5,
    )
    for attempt, base in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (4, 1.6), (5, 2.0), (12, 2.0)]:
        delays = [client.backoff_delay(attempt) for _ in range(200)]
        assert all(base <= d <= base * 1.5 for d in delays), (attempt, min(delays), max(delays))
        assert max(delays) - min(delays) > base * 0.2  # jittered, not a fixed value
