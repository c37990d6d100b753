"""Run a ``FakeUpbitServer`` on its own event loop in a background thread (for code that owns its loop)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from collections.abc import Iterator
from typing import Any
from typing import TypeVar

from tests.fakes.upbit.server import FakeUpbitServer

T = TypeVar("T")


class ThreadedFakeUpbit:
    """A started fake on a background loop; ``run(coro)`` executes a coroutine on that loop."""

    def __init__(self, server: FakeUpbitServer, loop: asyncio.AbstractEventLoop) -> None:
        self.server = server
        self.loop = loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@contextlib.contextmanager
def fake_upbit_in_thread(**kwargs: Any) -> Iterator[ThreadedFakeUpbit]:
    """Start a ``FakeUpbitServer(**kwargs)`` in a daemon thread; stop it on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-upbit", daemon=True)
    thread.start()
    server = FakeUpbitServer(**kwargs)
    handle = ThreadedFakeUpbit(server, loop)
    handle.run(server.start())
    try:
        yield handle
    finally:
        handle.run(server.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
