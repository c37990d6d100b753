"""Running an in-process fake (an object with ``async start()`` / ``async stop()``) on its own loop and thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any
from typing import Self
from typing import TypeVar

T = TypeVar("T")


class LoopThread:
    """
    Mixin: :meth:`start_in_thread`, :meth:`call` and :meth:`stop_thread` for a fake whose ``start()`` stores
    its running loop in ``self._loop``, for a node that runs elsewhere (another loop, another process).
    """

    thread_name = "fake"
    start_timeout_s = 10.0
    _loop: asyncio.AbstractEventLoop | None
    _thread: threading.Thread | None

    async def start(self) -> Any:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    def start_in_thread(self) -> Self:
        """Run ``start()`` on a new event loop in a daemon thread; return once it has started."""
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not ready.wait(self.start_timeout_s):
            raise RuntimeError(f"{self.thread_name} did not start")
        return self

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        """Run a coroutine on the fake's loop from another thread."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop_thread(self) -> None:
        """Stop the loop (``stop()`` runs on it) and join the thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(self.start_timeout_s)
