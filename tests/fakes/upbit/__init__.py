"""
In-process fake Upbit venue (REST + public/private WebSocket) for tests and benchmarks.

``FakeUpbitServer`` binds ``127.0.0.1:0`` and exposes ``base_url_http``, ``base_url_ws`` and
``base_url_ws_private``; ``server.exchange`` holds markets, books, balances and orders (fed from the real
payloads in ``shared/fixtures/upbit``). See ``server.py`` for the controls (drops, injected 429s/errors,
delays, publishing, recorded requests).
"""

from tests.fakes.upbit.server import DEFAULT_ACCESS_KEY
from tests.fakes.upbit.server import DEFAULT_SECRET_KEY
from tests.fakes.upbit.server import FakeUpbitServer
from tests.fakes.upbit.server import RecordedRequest
from tests.fakes.upbit.server import RecordedWsRequest

__all__ = [
    "DEFAULT_ACCESS_KEY",
    "DEFAULT_SECRET_KEY",
    "FakeUpbitServer",
    "RecordedRequest",
    "RecordedWsRequest",
]
