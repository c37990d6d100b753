"""
An in-process Binance spot server speaking the real protocol on 127.0.0.1 (for NautilusTrader's built-in
Binance adapter, reference §2).

REST (``http://127.0.0.1:{port}``):

- ``GET /api/v3/ping``, ``GET /api/v3/time``;
- ``GET /api/v3/exchangeInfo`` with ``symbol=`` or ``symbols=["A","B"]`` filters (``-1121 Invalid
  symbol.`` for an unknown one), entries as given (the project's ``arb_plugin.instruments`` data);
- ``GET /sapi/v1/asset/tradeFee``: SIGNED; checks ``X-MBX-APIKEY`` and the HMAC-SHA256 ``signature`` of the
  query string (``-2014``/``-1022`` errors as Binance sends them).

WebSocket (``ws://127.0.0.1:{port}``), combined streams:

- ``/stream?streams=btcusdt@bookTicker`` opens with those streams; ``SUBSCRIBE`` / ``UNSUBSCRIBE`` /
  ``LIST_SUBSCRIPTIONS`` requests are answered ``{"result": ..., "id": n}``;
- every tick, each connection gets ``{"stream": "btcusdt@bookTicker", "data": {"u", "s", "b", "B", "a",
  "A"}}`` for its subscribed symbols, prices and sizes padded to 8 decimals as Binance sends them
  (reference §9 P1/P14), from real prices replayed by :class:`QuoteReplay`.

Test levers: :meth:`FakeBinanceSpot.drop_connections` cuts every WebSocket (TCP abort, or a close frame)
and can refuse new ones for a while; ``replay[symbol].factor`` moves a symbol's prices.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType
from aiohttp import web

from tests.fakes.binance.replay import BookTop
from tests.fakes.binance.replay import QuoteReplay
from tests.fakes.threaded import LoopThread

EIGHT_DP = Decimal("0.00000001")


def fmt8(value: Decimal) -> str:
    """Binance's wire format: always 8 decimals (``"58967.02000000"``)."""
    return str(value.quantize(EIGHT_DP))


class _Connection:
    def __init__(self, ws: web.WebSocketResponse, request: web.Request, streams: list[str]) -> None:
        self.ws = ws
        self.request = request
        self.streams: list[str] = list(streams)
        self.connected_ns = time.time_ns()


class FakeBinanceSpot(LoopThread):
    """
    The fake server.

    Parameters
    ----------
    symbols : list[dict]
        ``exchangeInfo`` symbol entries.
    replay : dict[str, QuoteReplay]
        Quotes per symbol (``"BTCUSDT"``).
    api_key, api_secret : str, optional
        When given, signed endpoints require them.
    tick_interval_s : float, optional
        Time between quote frames; ``None``: no frames of its own, the caller drives :meth:`tick`.
    """

    thread_name = "fake-binance"
    start_timeout_s = 10.0

    def __init__(
        self,
        symbols: list[dict[str, Any]],
        replay: dict[str, QuoteReplay],
        api_key: str | None = None,
        api_secret: str | None = None,
        tick_interval_s: float | None = 0.05,
        fee: str = "0.00100000",
    ) -> None:
        self.symbols = {s["symbol"]: s for s in symbols}
        self.replay = replay
        self.api_key = api_key
        self.api_secret = api_secret
        self.tick_interval_s = tick_interval_s
        self.fee = fee
        self.port = 0
        self.connections: list[_Connection] = []
        self.requests: list[tuple[str, str]] = []  # (method, path?query)
        self.ws_handshakes = 0
        self.ws_refused = 0
        self.frames_sent = 0
        self.subscribe_requests: list[list[str]] = []
        self.last_quote: dict[str, BookTop] = {}
        self._update_id = 1_000_000
        self._refuse_until = 0.0
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- addresses -----------------------------------------------------------------------------------

    @property
    def base_url_http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url_ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    # -- lifecycle (in the caller's loop) ----------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v3/ping", self._ping)
        app.router.add_get("/api/v3/time", self._time)
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        app.router.add_get("/sapi/v1/asset/tradeFee", self._trade_fee)
        app.router.add_get("/stream", self._stream)
        app.router.add_get("/ws", self._stream)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._loop = asyncio.get_running_loop()
        if self.tick_interval_s is not None:
            self._ticker = asyncio.create_task(self._tick_forever())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for conn in list(self.connections):
            await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- test levers ---------------------------------------------------------------------------------

    async def drop_connections(self, refuse_for_s: float = 0.0, abort: bool = True) -> int:
        """
        Cut every WebSocket connection; refuse new ones for ``refuse_for_s`` seconds (HTTP 503).

        ``abort=True`` resets the TCP connection without a close frame (a network failure);
        ``abort=False`` sends a close frame (going away), as Binance does on its 24 h limit.
        """
        self._refuse_until = time.monotonic() + refuse_for_s
        dropped = 0
        for conn in list(self.connections):
            dropped += 1
            if abort:
                transport = conn.request.transport
                if transport is not None:
                    transport.abort()
            else:
                await conn.ws.close(code=1001, message=b"going away")
        self.connections.clear()
        return dropped

    # -- REST ----------------------------------------------------------------------------------------

    def _record(self, request: web.Request) -> None:
        self.requests.append((request.method, request.path_qs))

    @staticmethod
    def _error(status: int, code: int, msg: str) -> web.Response:
        return web.json_response({"code": code, "msg": msg}, status=status)

    async def _ping(self, request: web.Request) -> web.Response:
        self._record(request)
        return web.json_response({})

    async def _time(self, request: web.Request) -> web.Response:
        self._record(request)
        return web.json_response({"serverTime": time.time_ns() // 1_000_000})

    def _select(self, request: web.Request) -> list[dict[str, Any]] | web.Response:
        names: list[str]
        if "symbol" in request.query:
            names = [request.query["symbol"]]
        elif "symbols" in request.query:
            try:
                names = json.loads(request.query["symbols"])
            except json.JSONDecodeError:
                return self._error(400, -1100, "Illegal characters found in parameter 'symbols'.")
        else:
            return list(self.symbols.values())
        unknown = [n for n in names if n not in self.symbols]
        if unknown:
            return self._error(400, -1121, "Invalid symbol.")
        return [self.symbols[n] for n in names]

    async def _exchange_info(self, request: web.Request) -> web.Response:
        self._record(request)
        selected = self._select(request)
        if isinstance(selected, web.Response):
            return selected
        return web.json_response({
            "timezone": "UTC",
            "serverTime": time.time_ns() // 1_000_000,
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
            ],
            "exchangeFilters": [],
            "symbols": selected,
        })

    def _check_signed(self, request: web.Request) -> web.Response | None:
        if self.api_key is None or self.api_secret is None:
            return self._error(401, -2014, "API-key format invalid.")
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            return self._error(401, -2014, "API-key format invalid.")
        query = request.query_string
        payload, sep, signature = query.rpartition("&signature=")
        expected = hmac.new(self.api_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not sep or not hmac.compare_digest(signature, expected):
            return self._error(400, -1022, "Signature for this request is not valid.")
        if "timestamp" not in request.query:
            return self._error(400, -1102, "Mandatory parameter 'timestamp' was not sent.")
        return None

    async def _trade_fee(self, request: web.Request) -> web.Response:
        self._record(request)
        denied = self._check_signed(request)
        if denied is not None:
            return denied
        selected = self._select(request)
        if isinstance(selected, web.Response):
            return selected
        return web.json_response([
            {"symbol": s["symbol"], "makerCommission": self.fee, "takerCommission": self.fee} for s in selected
        ])

    async def _not_found(self, request: web.Request) -> web.Response:
        self._record(request)
        return self._error(404, -1000, f"fake Binance: {request.method} {request.path} not implemented")

    # -- WebSocket -----------------------------------------------------------------------------------

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        if time.monotonic() < self._refuse_until:
            self.ws_refused += 1
            return web.Response(status=503, text="Service Unavailable")
        streams = [s for s in request.query.get("streams", "").split("/") if s]
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        await ws.prepare(request)
        self.ws_handshakes += 1
        conn = _Connection(ws, request, streams)
        self.connections.append(conn)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_request(conn, msg.data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            if conn in self.connections:
                self.connections.remove(conn)
        return ws

    async def _on_request(self, conn: _Connection, text: str) -> None:
        try:
            req = json.loads(text)
            method, req_id = req["method"], req["id"]
        except (json.JSONDecodeError, KeyError, TypeError):
            await conn.ws.send_str(json.dumps({"code": 2, "msg": "Invalid request", "id": None}))
            return
        params = req.get("params") or []
        if method == "SUBSCRIBE":
            self.subscribe_requests.append(list(params))
            for stream in params:
                if stream not in conn.streams:
                    conn.streams.append(stream)
            result: Any = None
        elif method == "UNSUBSCRIBE":
            conn.streams = [s for s in conn.streams if s not in params]
            result = None
        elif method == "LIST_SUBSCRIPTIONS":
            result = list(conn.streams)
        else:
            await conn.ws.send_str(json.dumps({"code": 2, "msg": f"Invalid request: unknown method {method}",
                                               "id": req_id}))
            return
        await conn.ws.send_str(json.dumps({"result": result, "id": req_id}))

    async def _tick_forever(self) -> None:
        assert self.tick_interval_s is not None
        while True:
            await asyncio.sleep(self.tick_interval_s)
            await self.tick()

    async def tick(self) -> int:
        """Send every connection the next quote of each symbol it subscribed to; return frames sent."""
        frames: dict[str, str] = {}
        for symbol, replay in self.replay.items():
            top = replay.next()
            self.last_quote[symbol] = top
            self._update_id += 1
            stream = f"{symbol.lower()}@bookTicker"
            frames[stream] = json.dumps({
                "stream": stream,
                "data": {"u": self._update_id, "s": symbol, "b": fmt8(top.bid), "B": fmt8(top.bid_qty),
                         "a": fmt8(top.ask), "A": fmt8(top.ask_qty)},
            }, separators=(",", ":"))
        sent = 0
        for conn in list(self.connections):
            for stream in conn.streams:
                frame = frames.get(stream)
                if frame is None or conn.ws.closed:
                    continue
                try:
                    await conn.ws.send_str(frame)
                    sent += 1
                except (ConnectionError, RuntimeError):
                    break
        self.frames_sent += sent
        return sent
