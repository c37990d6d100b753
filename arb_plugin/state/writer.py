"""
StateWriter: runs a :class:`StateStore` on its own thread and event loop, off the trading loop.

The trading side (the StateBridge's handlers and timer, on NautilusTrader's loop or in a backtest's
simulated time) only hands over :class:`Batch` objects: an append to a deque and, at most once per wake,
a ``call_soon_threadsafe``. The writer drains every batch that arrived since its last pass, merges them
(latest value per key wins; every snapshot row is kept) and writes them in one store call: one Redis
round trip and one COPY. While a write is in flight new batches accumulate and are merged into the next
pass, so a backtest that produces state faster than Redis takes it never floods: it coalesces.

The same writer is used in a backtest and in a TradingNode: nothing here knows the mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Awaitable
from collections.abc import Callable
from typing import TypeVar

from arb_plugin.state.keys import Domain
from arb_plugin.state.records import KeyWrite
from arb_plugin.state.records import SnapshotRow
from arb_plugin.state.records import row_for
from arb_plugin.state.store import StateStore

T = TypeVar("T")


class Batch:
    """
    Key writes (latest per key) and snapshot rows (all of them) collected between two flushes.

    A durable key write becomes a row at once (so two transitions in one interval are both kept) and
    its Redis value joins the latest-per-key map.
    """

    __slots__ = ("rows", "writes")

    def __init__(self) -> None:
        self.writes: dict[tuple[Domain, str | None, str | None], KeyWrite] = {}
        self.rows: list[SnapshotRow] = []

    def __bool__(self) -> bool:
        return bool(self.writes) or bool(self.rows)

    def __len__(self) -> int:
        return len(self.writes) + len(self.rows)

    def add(self, write: KeyWrite) -> None:
        if write.durable:
            self.rows.append(row_for(write))
            write = write._replace(durable=False)
        self.writes[(write.domain, write.symbol, write.field)] = write

    def add_row(self, row: SnapshotRow) -> None:
        self.rows.append(row)

    def merge(self, other: Batch) -> None:
        self.writes.update(other.writes)
        self.rows.extend(other.rows)


class StateWriter:
    """
    Owns the store's thread and loop.

    Parameters
    ----------
    store : StateStore
        Created on any thread; connected and used only on the writer's loop.
    heartbeat_interval_secs : float
        Wall-clock interval of the session heartbeat (only after :meth:`enable_heartbeat`).
    renew_interval_secs : float
        Wall-clock interval at which the TTL of every live key is renewed (see ``StateStore.renew``).
    on_problem : Callable[[str], None]
        Reports write failures (the writer keeps going; rows are retried).
    on_session_lost : Callable[[str], None], optional
        Called (on the writer's thread) with the reason when a heartbeat finds that this process no longer
        owns its session: whoever owns the trading must stop it.
    """

    def __init__(
        self,
        store: StateStore,
        heartbeat_interval_secs: float,
        on_problem: Callable[[str], None],
        renew_interval_secs: float = 60.0,
        name: str = "arb-state-writer",
        on_session_lost: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self._on_session_lost = on_session_lost
        self._heartbeat_secs = heartbeat_interval_secs
        self._problem = on_problem
        self._name = name
        self._inbox: deque[Batch] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._wake: asyncio.Event | None = None
        self._wake_scheduled = False
        self._stopping = False
        self._heartbeat_on = False
        self._next_heartbeat = 0.0
        self._renew_secs = renew_interval_secs
        self._next_renew = time.monotonic() + renew_interval_secs
        self._lock: asyncio.Lock | None = None
        self._main: asyncio.Future[None] | None = None
        self.batches_written = 0
        self.passes = 0

    # -- lifecycle (called from the trading thread) --------------------------------------------------

    def start(self, timeout_secs: float = 30.0) -> None:
        """Start the thread and connect the store (blocks until connected; raises its error)."""
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            self._wake = asyncio.Event()
            self._lock = asyncio.Lock()
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        ready.wait(timeout_secs)
        self.call(self.store.connect, timeout_secs)
        assert self._loop is not None
        self._main = asyncio.run_coroutine_threadsafe(self._run(), self._loop)  # type: ignore[assignment]

    def call(self, fn: Callable[[], Awaitable[T]], timeout_secs: float = 30.0) -> T:
        """Run ``fn()`` on the writer's loop and wait for its result (start-up and shutdown only)."""
        if self._loop is None:
            raise RuntimeError("StateWriter is not started")

        async def wrapped() -> T:
            return await fn()

        return asyncio.run_coroutine_threadsafe(wrapped(), self._loop).result(timeout_secs)

    def enable_heartbeat(self) -> None:
        self._heartbeat_on = True

    def submit(self, batch: Batch) -> None:
        """Hand over a batch (never blocks, no I/O on the caller's thread)."""
        self._inbox.append(batch)
        if not self._wake_scheduled and self._loop is not None:
            self._wake_scheduled = True
            self._loop.call_soon_threadsafe(self._set_wake)

    def drain(self, timeout_secs: float = 30.0) -> None:
        """Block until every batch handed over so far is written (or has failed and been reported)."""
        self.call(self._process, timeout_secs)

    def stop(self, timeout_secs: float = 30.0) -> None:
        """Write what is left, close the store, end the thread."""
        if self._loop is None:
            return
        try:
            self._stopping = True
            self.drain(timeout_secs)
            self.call(self.store.close, timeout_secs)
        finally:
            loop = self._loop
            if self._main is not None:
                self._main.cancel()
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout_secs)
            self._loop = None

    @property
    def backlog(self) -> int:
        """Batches handed over and not yet taken by the writer."""
        return len(self._inbox)

    # -- the writer's loop ---------------------------------------------------------------------------

    def _set_wake(self) -> None:
        self._wake_scheduled = False
        assert self._wake is not None
        self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=0.5)
            self._wake.clear()
            await self._process()
            await self._maybe_heartbeat()
            await self._maybe_renew()

    async def _process(self) -> None:
        assert self._lock is not None
        async with self._lock:
            merged = Batch()
            while self._inbox:
                merged.merge(self._inbox.popleft())
            self.passes += 1
            try:
                if merged:
                    await self.store.write(merged.writes.values(), merged.rows)
                    self.batches_written += 1
                else:
                    await self.store.maintain()
            except Exception as e:
                self._problem(
                    f"state write failed ({type(e).__name__}: {e}); {self.store.pending_rows} rows kept for retry",
                )

    async def _maybe_renew(self) -> None:
        now = time.monotonic()
        if now < self._next_renew:
            return
        self._next_renew = now + self._renew_secs
        try:
            await self.store.renew()
        except Exception as e:
            self._problem(f"TTL renewal failed ({type(e).__name__}: {e})")

    async def _maybe_heartbeat(self) -> None:
        if not self._heartbeat_on:
            return
        now = time.monotonic()
        if now < self._next_heartbeat:
            return
        self._next_heartbeat = now + self._heartbeat_secs
        try:
            alive = await self.store.heartbeat()
        except Exception as e:
            self._problem(f"session heartbeat failed ({type(e).__name__}: {e})")
            return
        if not alive and self._on_session_lost is not None:
            self._on_session_lost(
                f"session {self.store.session_id} is no longer this process's (marked crashed after its "
                "heartbeat lapsed, or resumed by another process): stopping",
            )
