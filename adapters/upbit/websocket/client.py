"""
One multiplexed Upbit WebSocket connection with its subscription set (upbit-api.md §6).

- Every request on a connection **replaces** its whole subscription set, so any change re-sends the full set
  (coalesced, at most ``UPBIT_WS_REQUESTS_PER_SEC`` requests per second per connection).
- Frames arrive as binary frames of UTF-8 JSON; the handler receives ``bytes`` either way.
- Keepalive: a protocol ping every ``keepalive_secs`` (the server closes sockets idle for ~60 s, without a
  close frame); a ping left without pong closes the socket so it can be reopened.
- Reconnect: exponential backoff with jitter (``initial * factor**attempt``, capped, plus up to
  ``jitter_ratio`` of it at random), then the full set is sent again.
- ``on_disconnected`` / ``on_connected(is_reconnect)`` report both edges (REST fallback starts and stops on
  them); ``header_factory`` is called on every connect (the private stream signs each upgrade afresh).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Callable
from collections.abc import Iterable

import aiohttp
import msgspec
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import Logger
from nautilus_trader.common.enums import LogColor

from adapters.upbit.constants import UPBIT_WS_KEEPALIVE_SECS
from adapters.upbit.constants import UPBIT_WS_REQUESTS_PER_SEC


class UpbitWebSocketClient:
    """
    Provides one Upbit WebSocket connection carrying every subscription of a client.

    Parameters
    ----------
    clock : LiveClock
        The clock for the client.
    base_url : str
        The WebSocket URL (public ``.../websocket/v1`` or private ``.../websocket/v1/private``).
    handler : Callable[[bytes], None]
        Called with every frame (on the event loop; must not block).
    name : str, default "public"
        A name for logs.
    header_factory : Callable[[], dict[str, str]], optional
        Headers of the upgrade request, built afresh for every connect (``Authorization``).
    on_connected : Callable[[bool], None], optional
        Called after each connect once the subscription request is sent (True on reconnects).
    on_disconnected : Callable[[], None], optional
        Called when an open connection is lost.
    ws_format : {"DEFAULT", "SIMPLE"}, default "DEFAULT"
        The payload format to request.
    keepalive_secs : float, default 20.0
        Interval of protocol pings.
    reconnect_delay_initial_secs, reconnect_delay_max_secs, reconnect_backoff_factor, reconnect_jitter_ratio
        The reconnect backoff.
    proxy_url : str, optional
        An HTTP proxy.

    """

    def __init__(
        self,
        clock: LiveClock,
        base_url: str,
        handler: Callable[[bytes], None],
        name: str = "public",
        header_factory: Callable[[], dict[str, str]] | None = None,
        on_connected: Callable[[bool], None] | None = None,
        on_disconnected: Callable[[], None] | None = None,
        ws_format: str = "DEFAULT",
        keepalive_secs: float = UPBIT_WS_KEEPALIVE_SECS,
        reconnect_delay_initial_secs: float = 0.1,
        reconnect_delay_max_secs: float = 30.0,
        reconnect_backoff_factor: float = 2.0,
        reconnect_jitter_ratio: float = 0.5,
        proxy_url: str | None = None,
    ) -> None:
        self._clock = clock
        self._log = Logger(f"{type(self).__name__}-{name}")
        self._url = base_url
        self._handler = handler
        self._header_factory = header_factory
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._format = ws_format
        self._keepalive = keepalive_secs
        self._delay_initial = reconnect_delay_initial_secs
        self._delay_max = reconnect_delay_max_secs
        self._backoff_factor = reconnect_backoff_factor
        self._jitter = reconnect_jitter_ratio
        self._proxy_url = proxy_url
        self._min_request_interval = 1.0 / UPBIT_WS_REQUESTS_PER_SEC
        # type -> codes, in subscription order (dicts keep order; values unused)
        self._subscriptions: dict[str, dict[str, None]] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task | None = None
        self._send_task: asyncio.Task | None = None
        self._wakeup: asyncio.Event | None = None
        self._stopping = False
        self._last_request_time = 0.0
        self._changes = 0  # subscription changes so far
        self._changes_sent = 0  # the changes the last request sent carried
        self.connects = 0
        self.disconnects = 0
        self.requests_sent = 0
        self.last_connected_ns = 0
        self.last_disconnected_ns = 0

    # -- state ----------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Return the WebSocket URL."""
        return self._url

    @property
    def is_connected(self) -> bool:
        """Return whether the connection is open."""
        return self._ws is not None and not self._ws.closed

    @property
    def subscriptions(self) -> dict[str, list[str]]:
        """Return the subscription set (type -> codes)."""
        return {t: list(codes) for t, codes in self._subscriptions.items()}

    def has_subscriptions(self) -> bool:
        """Return whether anything is subscribed (a type with codes, or a code-less type like ``myAsset``)."""
        return bool(self._subscriptions)

    # -- subscriptions ----------------------------------------------------------------------------------
    def set_codes(self, type_: str, codes: Iterable[str]) -> None:
        """Set the codes of one type (an empty list removes the type) and re-send the full set."""
        new = dict.fromkeys(codes)
        if new == self._subscriptions.get(type_, {}):
            return
        if new:
            self._subscriptions[type_] = new
        else:
            self._subscriptions.pop(type_, None)
        self._changed()

    def subscribe(self, type_: str, codes: Iterable[str] = ()) -> None:
        """Add ``codes`` to a type (a type without codes, e.g. ``myAsset``, is subscribed as is)."""
        current = dict(self._subscriptions.get(type_, {}))
        before = len(current)
        current.update(dict.fromkeys(codes))
        if type_ in self._subscriptions and len(current) == before:
            return
        self._subscriptions[type_] = current
        self._changed()

    def build_request(self) -> bytes:
        """Return the full subscription request: ticket, one entry per type, format."""
        request: list[dict[str, object]] = [{"ticket": str(uuid.uuid4())}]
        for type_, codes in self._subscriptions.items():
            entry: dict[str, object] = {"type": type_}
            if codes:
                entry["codes"] = list(codes)
            request.append(entry)
        request.append({"format": self._format})
        return msgspec.json.encode(request)

    def _changed(self) -> None:
        self._changes += 1
        if self._wakeup is not None:
            self._wakeup.set()
        if not self.is_connected:
            return  # the full set goes out on (re)connect
        if not self.has_subscriptions():
            # Upbit has no empty subscription: close, and reconnect once something is subscribed
            self._schedule(self._close_current())
            return
        if self._send_task is None or self._send_task.done():
            self._send_task = self._schedule(self._send_full_set_soon())

    def _schedule(self, coro: object) -> asyncio.Task:
        return asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]

    async def _send_full_set_soon(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0.01)  # coalesce a burst of subscribe calls into one request
        # a change made while a request is on its way (built, not yet sent) is sent by the next turn: none is
        # left out because this task was still running when it came
        while self._changes_sent != self._changes:
            wait = self._last_request_time + self._min_request_interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            ws = self._ws
            if ws is None or ws.closed or not self.has_subscriptions():
                return  # the full set goes out on (re)connect
            await self._send_request(ws)

    async def _send_request(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._last_request_time = asyncio.get_running_loop().time()
        payload = self.build_request()
        self._changes_sent = self._changes
        await ws.send_bytes(payload)
        self.requests_sent += 1
        self._log.debug(f"Subscribed {self.subscriptions}")

    async def _close_current(self) -> None:
        ws = self._ws
        if ws is not None and not ws.closed:
            await ws.close()

    # -- lifecycle --------------------------------------------------------------------------------------
    async def connect(self) -> None:
        """Start the connection loop (it connects as soon as something is subscribed)."""
        if self._task is not None and not self._task.done():
            return
        self._stopping = False
        self._wakeup = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"upbit-ws-{self._url}")

    async def disconnect(self) -> None:
        """Close the connection and stop reconnecting."""
        self._stopping = True
        if self._wakeup is not None:
            self._wakeup.set()
        for task in (self._send_task, self._task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = None
        self._send_task = None

    async def reconnect(self) -> None:
        """Drop the current connection (the loop reconnects and re-sends the full set)."""
        await self._close_current()

    def backoff_delay(self, attempt: int) -> float:
        """Return the delay before reconnect ``attempt`` (0 = first): exponential, capped, with jitter."""
        base = min(self._delay_max, self._delay_initial * self._backoff_factor**attempt)
        return base * (1.0 + self._jitter * random.random())  # jitter, not security

    async def _run(self) -> None:
        attempt = 0
        was_connected = False
        session = aiohttp.ClientSession()
        try:
            while not self._stopping:
                if not self.has_subscriptions():
                    assert self._wakeup is not None
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                try:
                    headers = self._header_factory() if self._header_factory else {}
                    ws = await session.ws_connect(
                        self._url,
                        headers=headers,
                        heartbeat=self._keepalive,
                        autoping=True,
                        proxy=self._proxy_url,
                        max_msg_size=0,
                    )
                except (aiohttp.ClientError, OSError, TimeoutError) as e:
                    delay = self.backoff_delay(attempt)
                    attempt += 1
                    self._log.warning(f"Cannot connect to {self._url} ({e!r}); retry in {delay:.2f}s")
                    await asyncio.sleep(delay)
                    continue
                attempt = 0
                await self._serve(ws, was_connected)
                was_connected = True
                if not self._stopping:
                    delay = self.backoff_delay(0)
                    self._log.warning(f"Connection to {self._url} lost; reconnecting in {delay:.2f}s")
                    await asyncio.sleep(delay)
        finally:
            current = self._ws
            self._ws = None
            if current is not None and not current.closed:
                await current.close()
            await session.close()

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse, is_reconnect: bool) -> None:
        self._ws = ws
        self.connects += 1
        self.last_connected_ns = self._clock.timestamp_ns()
        try:
            await self._send_request(ws)
            self._log.info(f"Connected to {self._url}", LogColor.BLUE)
            if self._on_connected is not None:
                self._on_connected(is_reconnect)
            handler = self._handler
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.BINARY or msg.type == aiohttp.WSMsgType.TEXT:
                    data = msg.data if msg.type == aiohttp.WSMsgType.BINARY else msg.data.encode()
                    try:
                        handler(data)
                    except Exception as e:  # a bad frame never takes the connection down
                        self._log.exception(f"Error handling a frame from {self._url}", e)
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    self._log.warning(f"WebSocket error on {self._url}: {ws.exception()!r}")
                    break
        except (aiohttp.ClientError, OSError, ConnectionError) as e:
            self._log.warning(f"WebSocket {self._url} failed: {e!r}")
        finally:
            self._ws = None
            if not ws.closed:
                await ws.close()
            self.disconnects += 1
            self.last_disconnected_ns = self._clock.timestamp_ns()
            if self._on_disconnected is not None and not self._stopping:
                self._on_disconnected()
