"""
Paper execution: NautilusTrader's ``SandboxExecutionClient`` whose simulated venue answers as a venue does, later.

A live execution client's ``submit_order`` only schedules the request and returns: the venue matches the order
while the node goes on. NautilusTrader's sandbox instead matches the order inside ``submit_order`` (its
``SimulatedExchange`` runs without a message queue in real time), so every order of a decision waits for the
simulated matching, fills and account update of the one sent before it, work a live node never does between
two legs. :class:`PaperExecutionClient` hands every trading command to the simulated venue on the next turn of
the event loop instead, in the order the commands came (a cancel never overtakes its submit).

Its market data waits too: the sandbox's data handler, subscribed before any strategy's, used to run the
simulated venue's matching on every quote before a strategy saw it, work a live node does not have on its path
from a quote to an order. The client queues the data and applies it on the next loop turn, and before any
command: the venue matches each order against its book as of that turn, with every quote published before it,
as a real venue matches the book it holds when the order arrives.

The simulated venue shares its order objects with the node's cache and relies, as in a backtest, on the
execution engine applying its events before it goes on: it accepts an IOC order, then cancels what did not
fill at once. A live node queues the events, so the venue met an order still ``INITIALIZED`` and could not
cancel it ("Cannot cancel an order with INITIALIZED from the matching engine", NautilusTrader issue #4112,
fixed after 1.231): the unfilled IOC order stayed in the simulated book and filled later. While a simulated
venue takes a command or market data, :func:`install_paper_venue` has the execution engine handle its events
at once (after any it had queued), as a backtest does; outside those turns events are queued as before.

:class:`SandboxLiveExecClientFactory` creates it. It keeps NautilusTrader's class name because the node builder
passes the portfolio only to a factory of that name (reference P12).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.adapters.sandbox.execution import SandboxExecutionClient
from nautilus_trader.adapters.sandbox.factory import SandboxLiveExecClientFactory as _NautilusSandboxFactory
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.core.data import Data
from nautilus_trader.live.execution_engine import LiveExecutionEngine
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.portfolio import PortfolioFacade
from nautilus_trader.system.kernel import NautilusKernel

from arb_plugin.endpoints import RANK_PAPER_VENUE
from arb_plugin.endpoints import add_layer

_venue_turns = 0  # > 0 while a simulated venue takes a command or market data (on the loop's thread)
_LAYER = "paper-venue-events"


@contextmanager
def _venue_turn() -> Iterator[None]:
    """While a simulated venue takes a command or market data: its events are handled at once."""
    global _venue_turns
    _venue_turns += 1
    try:
        yield
    finally:
        _venue_turns -= 1


_MAX_WAIT_TURNS = 1000  # loop turns a cancel or modify waits for its order's events (each turn runs every ready task)


class PaperExecutionClient(SandboxExecutionClient):
    """
    A ``SandboxExecutionClient`` whose simulated venue takes trading commands and market data on the next loop turn.

    Parameters
    ----------
    loop, portfolio, msgbus, cache, clock, config :
        As for NautilusTrader's ``SandboxExecutionClient``.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        portfolio: PortfolioFacade,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        config: SandboxExecutionClientConfig,
    ) -> None:
        super().__init__(loop, portfolio, msgbus, cache, clock, config)
        self._venue_data: list[Data] = []  # market data not applied to the simulated venue yet, in arrival order

    def on_data(self, data: Data) -> None:
        self._venue_data.append(data)
        if len(self._venue_data) == 1:
            self._loop.call_soon(self._apply_venue_data)

    def _apply_venue_data(self) -> None:
        pending, self._venue_data = self._venue_data, []
        with _venue_turn():
            for data in pending:
                SandboxExecutionClient.on_data(self, data)

    def _later(self, send: Callable[[Any], None], command: Any, waits: bool = False, turns: int = 0) -> None:
        self._loop.call_soon(self._deliver, send, command, waits, turns)

    def _deliver(self, send: Callable[[Any], None], command: Any, waits: bool, turns: int) -> None:
        if self._venue_data:  # the venue holds every quote published before the command's turn
            self._apply_venue_data()
        if not self._client.is_connected:
            self._log.warning(f"{command} not delivered: the simulated venue is disconnected")
            return
        if waits and turns < _MAX_WAIT_TURNS:
            order = self._cache.order(command.client_order_id)
            if order is not None and order.status == OrderStatus.INITIALIZED:
                # The simulated venue has the order but the node has not applied its events yet (a live node
                # queues them), and the venue ignores a cancel or modify of an order it sees as not submitted
                # where a real venue acts on it: wait for the events, as a venue's answer follows the request
                self._later(send, command, waits, turns + 1)
                return
        with _venue_turn():
            send(command)

    def submit_order(self, command: Any) -> None:
        self._later(self._client.submit_order, command)

    def submit_order_list(self, command: Any) -> None:
        self._later(self._client.submit_order_list, command)

    def modify_order(self, command: Any) -> None:
        self._later(self._client.modify_order, command, waits=True)

    def cancel_order(self, command: Any) -> None:
        self._later(self._client.cancel_order, command, waits=True)

    def cancel_all_orders(self, command: Any) -> None:
        self._later(self._client.cancel_all_orders, command)


class SandboxLiveExecClientFactory(_NautilusSandboxFactory):
    """Creates a :class:`PaperExecutionClient` (NautilusTrader's name, which its node builder recognises)."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: SandboxExecutionClientConfig,
        portfolio: PortfolioFacade,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> PaperExecutionClient:
        return PaperExecutionClient(loop, portfolio, msgbus, cache, clock, config)  # SandboxExecutionClient's order


def install_paper_venue(kernel: NautilusKernel) -> None:
    """
    Have the execution engine of a built live kernel handle the simulated venues' events during their turns.

    A layer of :mod:`arb_plugin.endpoints` on ``ExecEngine.process``: while a :class:`PaperExecutionClient`
    takes a command or market data, on the node's loop, the engine first handles what its queue holds (the
    order of events is kept) and then the event, as the queue's task would. Call it after the node is built.

    Raises
    ------
    TypeError
        If the kernel's execution engine is not NautilusTrader's live engine.
    ValueError
        If it is installed already.
    """
    engine = kernel.exec_engine
    if not isinstance(engine, LiveExecutionEngine):
        raise TypeError(f"the paper venue needs a live kernel: {type(engine).__name__} is not a LiveExecutionEngine")
    loop = kernel.loop
    queue = engine._evt_queue
    handle = engine._handle_event_with_tracking

    def handle_now(event: Any) -> None:
        try:
            handle(event)
        except Exception as e:  # as the queue's task: logged, then a graceful shutdown when so configured
            engine._handle_queue_exception(e, "event")

    def layer(below: Callable[[Any], None]) -> Callable[[Any], None]:
        def process(event: Any) -> None:
            if not _venue_turns or not engine.is_running or asyncio._get_running_loop() is not loop:
                below(event)
                return
            engine._record_local_activity(event)  # what the engine's own process() notes
            while not queue.empty():  # queued earlier: handled first
                handle_now(queue.get_nowait())
            handle_now(event)

        return process

    add_layer(kernel, "ExecEngine.process", engine.process, _LAYER, RANK_PAPER_VENUE, layer)
