"""
Inline dispatch: the live engines' hot endpoints run on the caller's stack, as in a backtest.

In a ``TradingNode`` every quote, order command and execution command crosses an ``asyncio.Queue`` of its
engine (``LiveDataEngine.process``, ``LiveRiskEngine.execute``, ``LiveExecutionEngine.execute`` only
enqueue) and is handled later by the queue's task. All of them run on the one event-loop thread, so the
queues add no parallelism: they add one loop turn per hop, and while a message waits, whatever else is
ready on the loop (other venues' frames, timers, I/O callbacks) runs first. On the paper benchmark the three
hops were most of the tick-to-order latency (quote -> strategy about 0.45 ms, risk queue 0.4 ms, execution
queue 0.2 ms at the median, several ms at p99).

:func:`install_inline_dispatch` re-registers those three message-bus endpoints (NautilusTrader's public
``MessageBus.deregister`` / ``register``, as layers of :mod:`arb_plugin.endpoints`: next to the engine, behind
the risk guard's check of released orders) with handlers that call the engine's own handler at once -
``DataEngine._handle_data``, ``RiskEngine._execute_command``, ``ExecutionEngine._execute_command``, the very
methods the queue tasks call - when all of these hold:

- the caller is on the node's event loop (NautilusTrader's live engines are loop-thread only anyway);
- the engine is running;
- its queue is empty, so nothing can overtake a message already queued (FIFO order is kept).

Otherwise the message is enqueued as before. (NautilusTrader 1.231's ``LiveClock`` runs timer and alert
callbacks on a thread of its own, not the loop's; the plugin's own callbacks, such as a leg timeout, are moved
onto the loop (``arb_plugin.timers``), and a message sent from any other callback on the clock's thread takes
the queue, exactly as without inline dispatch.) An exception is handled as the queue task handles it (the
engine's ``_handle_queue_exception``: logged, then a graceful shutdown when so configured): a bug in a
handler never surfaces in the WebSocket client that delivered the frame.

One event is run inline too: ``OrderDenied`` on ``ExecEngine.process``, which the risk engine sends while
the strategy's ``submit_order`` is still on the stack. The strategy then sees its order denied before
``submit_order`` returns - exactly as in ``BacktestEngine``, where it is tested: a denied first leg stops the
second. (A denied order was never submitted, so no other event of it can be queued: the denial may pass the
queue.) What stays queued: every other execution event (fills, order state), risk events and data
commands/requests; adapters' network I/O stays in its own tasks (a live execution client's ``submit_order``
schedules the HTTP request). A command issued while handling a quote runs before the next message is taken.
The trade-off: a slow strategy handler now delays the reading of the socket that delivered the quote, as it
delayed the queue's task before (same thread); nothing else changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from nautilus_trader.live.data_engine import LiveDataEngine
from nautilus_trader.live.execution_engine import LiveExecutionEngine
from nautilus_trader.live.risk_engine import LiveRiskEngine
from nautilus_trader.model.events import OrderDenied
from nautilus_trader.system.kernel import NautilusKernel

from arb_plugin.endpoints import RANK_DISPATCH
from arb_plugin.endpoints import add_layer
from arb_plugin.endpoints import remove_layer

_LAYER = "inline-dispatch"
_running_loop = asyncio._get_running_loop  # the C accessor asyncio itself uses (None off a loop thread)


@dataclass
class InlineDispatch:
    """
    The installed inline endpoints of one kernel, with counters of how each message was dispatched.

    ``inline`` and ``queued`` count per endpoint; :meth:`uninstall` restores the engines' own handlers.
    """

    kernel: NautilusKernel
    inline: dict[str, int] = field(default_factory=dict)
    queued: dict[str, int] = field(default_factory=dict)
    _installed: list[str] = field(default_factory=list)

    def uninstall(self) -> None:
        """Give every endpoint back to its engine's own (queueing) handler (other layers on it stay)."""
        for endpoint in reversed(self._installed):
            remove_layer(self.kernel, endpoint, _LAYER)
        self._installed.clear()

    def _install(
        self,
        endpoint: str,
        engine: Any,
        original: Callable[[Any], None],
        handle: Callable[[Any], None],
        qsize: Callable[[], int],
        queue_name: str,
        only: type | None = None,
    ) -> None:
        # only: inline only messages of this type, whatever the queue holds (see the module docstring)
        loop = self.kernel.loop
        inline = self.inline
        queued = self.queued
        inline[endpoint] = 0
        queued[endpoint] = 0
        on_error = engine._handle_queue_exception

        def layer(enqueue: Callable[[Any], None]) -> Callable[[Any], None]:
            def dispatch(message: Any) -> None:
                if (
                    _running_loop() is loop
                    and engine.is_running
                    and (type(message) is only if only is not None else not qsize())
                ):
                    inline[endpoint] += 1
                    try:
                        handle(message)
                    except Exception as e:
                        on_error(e, queue_name)
                else:
                    queued[endpoint] += 1
                    enqueue(message)

            return dispatch

        # next to the engine: a layer in front of it (the risk guard's check of released orders) runs first
        add_layer(self.kernel, endpoint, original, _LAYER, RANK_DISPATCH, layer)
        self._installed.append(endpoint)


def install_inline_dispatch(kernel: NautilusKernel) -> InlineDispatch:
    """
    Run the data, risk-command and execution-command endpoints (and ``OrderDenied``) of a built live kernel inline.

    Call it after the node is built and after :func:`arb_plugin.risk.gate.install_risk_guard` (which replaces
    the risk engine), before the node starts.

    Parameters
    ----------
    kernel : NautilusKernel
        The kernel of a built ``TradingNode`` (``node.kernel``).

    Returns
    -------
    InlineDispatch
        Its counters, and :meth:`InlineDispatch.uninstall`.

    Raises
    ------
    TypeError
        If the kernel's engines are not NautilusTrader's live engines.
    RuntimeError
        If an engine is already running.

    """
    data, risk, execution = kernel.data_engine, kernel.risk_engine, kernel.exec_engine
    for engine, kind in ((data, LiveDataEngine), (risk, LiveRiskEngine), (execution, LiveExecutionEngine)):
        if not isinstance(engine, kind):
            raise TypeError(f"inline dispatch needs a live kernel: {type(engine).__name__} is not a {kind.__name__}")
        if engine.is_running:
            raise RuntimeError("install inline dispatch after the node is built and before it starts")
    dispatch = InlineDispatch(kernel)
    dispatch._install("DataEngine.process", data, data.process, data._handle_data, data.data_qsize, "Data")
    dispatch._install("RiskEngine.execute", risk, risk.execute, risk._execute_command, risk.cmd_qsize, "command")
    dispatch._install(
        "ExecEngine.execute",
        execution,
        execution.execute,
        execution._execute_command,
        execution.cmd_qsize,
        "command",
    )
    dispatch._install(
        "ExecEngine.process",
        execution,
        execution.process,
        execution._handle_event_with_tracking,
        execution.evt_qsize,
        "event",
        only=OrderDenied,
    )
    return dispatch
