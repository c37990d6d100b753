"""
Timer and alert callbacks run on the node's event loop.

NautilusTrader 1.231's ``LiveClock`` calls a timer's or an alert's Python callback on a thread of its own
(its Rust runtime's), not on the event-loop thread where every other handler of a ``TradingNode`` runs; and
while the callback runs, the timer's name is still registered. A callback that touches what the loop's
handlers touch (a batch of state writes, a pair's book, the guard's trading day) would then run alongside
them, and re-arming an alert of the same name from a handler at that moment raises (a ``KeyError`` that
stops the node). :func:`on_loop` wraps a callback so that it runs on the loop, in turn with the handlers.
A ``TestClock`` (backtest) calls callbacks inline on the one thread: there is no running loop and the
callback is returned as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

from nautilus_trader.common.events import TimeEvent

TimeEventHandler = Callable[[TimeEvent], None]


def on_loop(callback: TimeEventHandler) -> TimeEventHandler:
    """
    Return ``callback`` made to run on the event loop running in the calling thread.

    Call it on the loop's thread (an actor's ``on_start`` or a handler). Without a running loop (a backtest)
    ``callback`` itself is returned. A time event arriving after the loop closed is dropped.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return callback
    loop_thread = threading.get_ident()

    def run_on_loop(event: TimeEvent) -> None:
        if threading.get_ident() == loop_thread:
            callback(event)
            return
        with contextlib.suppress(RuntimeError):  # the loop closed while the clock fired
            loop.call_soon_threadsafe(callback, event)

    return run_on_loop
