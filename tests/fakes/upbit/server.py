"""
An in-process fake of ``api.upbit.com`` on 127.0.0.1 that speaks Upbit's protocol (upbit-api.md).

REST: the quotation and exchange endpoints the adapter uses, JSON bodies in Upbit's shapes (exchange
numbers as decimal strings, quotation numbers as JSON numbers), ``Remaining-Req`` on every answer with
per-group limits enforced (429 as plain text, then 418 with a block period for callers that keep going),
JWT verification including ``query_hash`` over the received query/body, error envelopes from the recorded
fixtures. WebSocket: binary frames, one subscription set per connection that each request *replaces*,
snapshots on subscribe, ``.N`` orderbook counts, unknown codes ignored silently, error frames (NO_TICKET,
INVALID_PARAM, WRONG_FORMAT, INVALID_AUTH) followed by a close, private ``myOrder``/``myAsset`` events, an
optional idle timeout (Upbit closes silent sockets after ~60 s) and abrupt drops on demand.

Typical use::

    async with FakeUpbitServer() as fake:
        config = UpbitDataClientConfig(base_url_http=fake.base_url_http, base_url_ws=fake.base_url_ws)
        ...
        await fake.drop_connections("public")
        fake.fail_next("/v1/orders", status=429)
        fake.exchange.fill_order(uuid, "0.001")
        fake.hold_private("myOrder")  # deliver myAsset before myOrder; then await fake.release_private("myOrder")
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from typing import Any

import msgspec
from aiohttp import WSMsgType
from aiohttp import web

from tests.fakes.upbit import fixtures
from tests.fakes.upbit.exchange import ExchangeError
from tests.fakes.upbit.exchange import FakeExchange
from tests.fakes.upbit.exchange import FakeOrder
from tests.fakes.upbit.exchange import FakeTrade
from tests.fakes.upbit.exchange import fmt
from tests.fakes.upbit.exchange import now_ms
from tests.fakes.upbit.jwt import JwtRejected
from tests.fakes.upbit.jwt import JwtVerifier
from tests.fakes.upbit.jwt import query_string_from_body
from tests.fakes.upbit.jwt import query_string_from_url

DEFAULT_ACCESS_KEY = "fake-access-key-0123456789abcdefghijklmnop"
DEFAULT_SECRET_KEY = "fake-secret-key-0123456789abcdefghijklmnop"

# header group -> (requests per window, window seconds, deprecated `min` value shown in the header)
RATE_LIMITS: dict[str, tuple[int, float, int]] = {
    "market": (10, 1.0, 600),
    "candles": (10, 1.0, 600),
    "crix-trades": (10, 1.0, 600),
    "ticker": (10, 1.0, 600),
    "orderbook": (10, 1.0, 600),
    "default": (30, 1.0, 1800),
    "order": (8, 1.0, 480),
    "order-test": (8, 1.0, 480),
    "order-cancel-all": (1, 2.0, 30),
}
PUBLIC_TYPES = ("ticker", "trade", "orderbook")
PRIVATE_TYPES = ("myOrder", "myAsset")
ORDERBOOK_COUNTS = (1, 5, 15, 30)


def group_of(method: str, path: str) -> str:
    """Return the ``Remaining-Req`` group of an endpoint (header names, which differ from the docs')."""
    if path == "/v1/market/all":
        return "market"
    if path.startswith("/v1/candles"):
        return "candles"
    if path == "/v1/trades/ticks":
        return "crix-trades"
    if path.startswith("/v1/ticker"):
        return "ticker"
    if path.startswith("/v1/orderbook"):
        return "orderbook"
    if method == "POST" and path in ("/v1/orders", "/v1/orders/cancel_and_new"):
        return "order"
    if method == "POST" and path == "/v1/orders/test":
        return "order-test"
    if method == "DELETE" and path == "/v1/orders/open":
        return "order-cancel-all"
    return "default"


def java_number(value: Decimal | int) -> msgspec.Raw:
    """
    Write a number the way Upbit's WebSocket does: exponent form outside [1e-3, 1e7) (``1.16539E8``,
    ``7.9276E-4``), plain otherwise.
    """
    value = Decimal(value)
    if value == 0:
        return msgspec.Raw(b"0")
    magnitude = abs(value)
    if Decimal("0.001") <= magnitude < Decimal(10_000_000):
        text = fmt(value) or "0"
        if "." not in text:
            text += ".0"
        return msgspec.Raw(text.encode())
    sign, digits, exponent = value.normalize().as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits))
    power = len(mantissa) - 1 + exponent
    text = f"{'-' if sign else ''}{mantissa[0]}.{mantissa[1:] or '0'}E{power}"
    return msgspec.Raw(text.encode())


def rest_number(value: Decimal | int) -> msgspec.Raw:
    """Write a quotation REST number (``103460000.0``)."""
    value = Decimal(value)
    text = fmt(value) or "0"
    return msgspec.Raw((text if "." in text else text + ".0").encode())


SIMPLE_KEYS = {
    "type": "ty",
    "code": "cd",
    "timestamp": "tms",
    "total_ask_size": "tas",
    "total_bid_size": "tbs",
    "orderbook_units": "obu",
    "ask_price": "ap",
    "bid_price": "bp",
    "ask_size": "as",
    "bid_size": "bs",
    "level": "lv",
    "stream_type": "st",
    "trade_price": "tp",
    "trade_volume": "tv",
    "ask_bid": "ab",
    "sequential_id": "sid",
    "trade_timestamp": "ttms",
    "trade_date": "td",
    "trade_time": "ttm",
    "market_state": "ms",
    "delisting_date": "dd",
}


def simplify(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {SIMPLE_KEYS.get(k, k): simplify(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [simplify(v) for v in obj]
    return obj


@dataclass
class RecordedRequest:
    method: str
    path: str
    raw_query: str
    query: list[tuple[str, str]]
    body: dict[str, Any] | None
    headers: dict[str, str]
    group: str
    ts: float
    status: int = 0


@dataclass
class RecordedWsRequest:
    connection: int
    kind: str
    payload: Any
    ts: float


@dataclass
class Fault:
    path: str
    method: str | None
    count: int
    status: int | None = None
    body: bytes | None = None
    delay: float = 0.0
    execute: bool = True
    unreadable: bool = False  # executed, answered 2xx with a body the client's schema refuses

    def matches(self, method: str, path: str) -> bool:
        return self.count > 0 and self.path == path and (self.method is None or self.method == method)


@dataclass
class WsConnection:
    id: int
    kind: str  # "public" | "private"
    ws: web.WebSocketResponse
    request: web.Request
    headers: dict[str, str]
    subscriptions: dict[str, list[str]] = field(default_factory=dict)
    simple: bool = False
    last_activity: float = field(default_factory=time.monotonic)
    sent_frames: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # frames leave in the order they were made


class FakeUpbitServer:
    """
    A fake Upbit venue on ``127.0.0.1:<free port>`` (REST + public and private WebSocket).

    Parameters
    ----------
    access_key, secret_key : str
        The one key pair the fake accepts.
    enforce_rate_limits : bool, default True
        Answer 429 (then 418) when a group exceeds its documented per-second limit.
    block_secs : float, default 3.0
        How long a 418 blocks a group.
    ws_idle_timeout : float, optional
        Close a socket abruptly (no close frame) after this long without any client frame (Upbit: ~60 s).
    cancel_delay : float, default 0.05
        Delay between a cancel request and the cancel taking effect (cancels are asynchronous).

    """

    def __init__(
        self,
        access_key: str = DEFAULT_ACCESS_KEY,
        secret_key: str = DEFAULT_SECRET_KEY,
        enforce_rate_limits: bool = True,
        block_secs: float = 3.0,
        ws_idle_timeout: float | None = None,
        cancel_delay: float = 0.05,
    ) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.exchange = FakeExchange()
        self.verifier = JwtVerifier(access_key, secret_key)
        self.enforce_rate_limits = enforce_rate_limits
        self.block_secs = block_secs
        self.ws_idle_timeout = ws_idle_timeout
        self.cancel_delay = cancel_delay
        self.requests: list[RecordedRequest] = []
        self.ws_requests: list[RecordedWsRequest] = []
        self.ws_connects: list[WsConnection] = []
        self.connections: dict[int, WsConnection] = {}
        self.faults: list[Fault] = []
        self.refuse_ws_connections = False  # answer WebSocket upgrades with 503 (an outage)
        self._held_types: set[str] = set()  # private frame types held back (see hold_private)
        self._held_frames: list[tuple[str, WsConnection, dict[str, Any]]] = []
        self._windows: dict[str, tuple[float, int]] = {}
        self._last_429: dict[str, float] = {}
        self._blocked_until: dict[str, float] = {}
        self._conn_ids = itertools.count(1)
        self._sid = itertools.count(17_900_000_000_000_000)
        self._tasks: set[asyncio.Task] = set()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self.exchange.order_listeners.append(self._on_order_event)
        self.exchange.asset_listeners.append(self._on_asset_event)

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> FakeUpbitServer:
        app = web.Application()
        app.router.add_get("/websocket/v1", self._ws_public)
        app.router.add_get("/websocket/v1/private", self._ws_private)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self._port = server.sockets[0].getsockname()[1]
        if self.ws_idle_timeout:
            self._spawn(self._idle_watchdog())
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self.connections.values()):
            with contextlib.suppress(Exception):
                await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeUpbitServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url_http(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url_ws(self) -> str:
        return f"ws://127.0.0.1:{self._port}/websocket/v1"

    @property
    def base_url_ws_private(self) -> str:
        return f"ws://127.0.0.1:{self._port}/websocket/v1/private"

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- controls -------------------------------------------------------------------------------------
    def fail_next(
        self,
        path: str,
        status: int = 429,
        method: str | None = None,
        count: int = 1,
        body: bytes | None = None,
    ) -> None:
        """Answer the next ``count`` requests to ``path`` with ``status`` (429: Upbit's plain text body)."""
        self.faults.append(Fault(path, method, count, status=status, body=body))

    def delay_next(
        self,
        path: str,
        secs: float,
        method: str | None = None,
        count: int = 1,
        execute: bool = True,
    ) -> None:
        """
        Hold the next answers to ``path`` for ``secs``.

        With ``execute`` the request takes effect first (a client timing out does not know it did);
        without, the request is answered 503 after the delay and has no effect.
        """
        self.faults.append(Fault(path, method, count, delay=secs, execute=execute))

    def answer_unreadably(self, path: str, method: str | None = None) -> None:
        """
        Execute the next request to ``path`` but answer it with a body whose ``state`` is a value the client
        does not know (what a change of Upbit's schema looks like to a deployed client).
        """
        self.faults.append(Fault(path, method, 1, unreadable=True))

    def add_market(
        self,
        market: str,
        price: Decimal | str,
        tick_size: Decimal | str | None = None,
        warning: bool = False,
        korean_name: str | None = None,
        english_name: str | None = None,
    ) -> None:
        """List a pair (``market/all`` row with ``market_event``) with a book around ``price``."""
        base = market.split("-", 1)[1]
        caution = {k: False for k in fixtures.market_rows()[0]["market_event"]["caution"]}
        row = {
            "market": market,
            "korean_name": korean_name or base,
            "english_name": english_name or base,
            "market_event": {"warning": warning, "caution": caution},
        }
        self.exchange.add_market(row, Decimal(price), Decimal(tick_size) if tick_size is not None else None)

    def set_price(self, market: str, price: Decimal | str) -> None:
        """Move a pair: a fresh book around ``price`` on its tick grid (push it with ``publish_orderbook``)."""
        state = self.exchange.markets[market]
        state.price = Decimal(price)
        state.book = fixtures.derived_book(market, state.price, state.tick_size, use_recording=False)

    async def drop_connections(self, kind: str = "all") -> int:
        """Drop WebSocket connections abruptly (no close frame, like a 1006); return how many."""
        dropped = 0
        for conn in list(self.connections.values()):
            if kind in ("all", conn.kind):
                transport = conn.request.transport
                if transport is not None:
                    transport.close()
                self.connections.pop(conn.id, None)
                dropped += 1
        await asyncio.sleep(0)
        return dropped

    def hold_private(self, type_: str) -> None:
        """Hold back private ``type_`` frames (``myOrder`` / ``myAsset``) until :meth:`release_private`."""
        self._held_types.add(type_)

    async def release_private(self, type_: str) -> int:
        """Send the held ``type_`` frames in the order they were made; return how many were sent."""
        self._held_types.discard(type_)
        held = [(c, f) for t, c, f in self._held_frames if t == type_]
        self._held_frames = [h for h in self._held_frames if h[0] != type_]
        for conn, frame in held:
            await self._send(conn, frame)
        return len(held)

    def _publish_private(self, type_: str, conn: WsConnection, frame: dict[str, Any]) -> None:
        if type_ in self._held_types:
            self._held_frames.append((type_, conn, frame))
        else:
            self._spawn(self._send(conn, frame))

    def subscribed_codes(self, kind: str = "public", type_: str = "orderbook") -> set[str]:
        """Return the codes of ``type_`` subscribed on live connections of ``kind``."""
        out: set[str] = set()
        for conn in self.connections.values():
            if conn.kind == kind:
                out.update(conn.subscriptions.get(type_, []))
        return out

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    # -- REST -----------------------------------------------------------------------------------------
    def _rate_check(self, group: str) -> tuple[int | None, int]:
        """Return ``(status to refuse with or None, requests left this window)``."""
        now = time.monotonic()
        if self._blocked_until.get(group, 0.0) > now:
            return 418, 0
        limit, window, _ = RATE_LIMITS.get(group, (10, 1.0, 600))
        start, used = self._windows.get(group, (now, 0))
        if now - start >= window:
            start, used = now, 0
        if used >= limit and self.enforce_rate_limits:
            last = self._last_429.get(group)
            self._last_429[group] = now
            if last is not None and now - last < window:
                self._blocked_until[group] = now + self.block_secs
                return 418, 0
            return 429, 0
        used += 1
        self._windows[group] = (start, used)
        return None, max(0, limit - used)

    def _headers(self, group: str, left: int) -> dict[str, str]:
        minute = RATE_LIMITS.get(group, (10, 1.0, 600))[2]
        return {"Remaining-Req": f"group={group}; min={minute}; sec={left}"}

    def _too_many(self, status: int, group: str) -> web.Response:
        headers = self._headers(group, 0)
        if status == 429:
            return web.Response(status=429, text="Too many API requests.", headers=headers)
        body = fixtures.error_body(
            "too_many_requests", f"요청 수 제한을 초과하여 {self.block_secs:g}초 동안 차단되었습니다."
        )
        return web.Response(status=418, body=body, content_type="application/json", headers=headers)

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        method, path = request.method, request.path
        raw_query = request.rel_url.raw_query_string
        body: dict[str, Any] | None = None
        if request.can_read_body:
            body = json.loads(await request.read() or b"{}")
        record = RecordedRequest(
            method=method,
            path=path,
            raw_query=raw_query,
            query=list(request.query.items()),
            body=body,
            headers=dict(request.headers),
            group=group_of(method, path),
            ts=time.monotonic(),
        )
        self.requests.append(record)
        response = await self._answer(request, record)
        record.status = response.status
        return response

    async def _answer(self, request: web.Request, record: RecordedRequest) -> web.StreamResponse:
        fault = next((f for f in self.faults if f.matches(record.method, record.path)), None)
        if fault is not None:
            fault.count -= 1
            if fault.status is not None:
                if fault.status == 429:
                    self._last_429[record.group] = time.monotonic()
                    return self._too_many(429, record.group)
                body = fault.body or fixtures.error_body("server_error", "injected failure")
                return web.Response(status=fault.status, body=body, content_type="application/json")
            if not fault.execute:
                await asyncio.sleep(fault.delay)
                return web.Response(status=503, body=fixtures.error_body("server_error", "unavailable"))
        status, left = self._rate_check(record.group)
        if status is not None:
            return self._too_many(status, record.group)
        headers = self._headers(record.group, left)
        try:
            result = self._dispatch(request, record)
            if fault is not None and fault.unreadable:
                result = {**result, "state": "reserved"}
            http_status = 201 if record.method == "POST" and record.path in ("/v1/orders", "/v1/orders/test") else 200
            response = web.Response(
                status=http_status,
                body=msgspec.json.encode(result),
                content_type="application/json",
                charset="UTF-8",
                headers=headers,
            )
        except JwtRejected as e:
            try:
                body = fixtures.recorded_error(e.name)
            except KeyError:
                body = fixtures.error_body(e.name, e.message)
            response = web.Response(status=e.status, body=body, content_type="application/json", headers=headers)
        except ExchangeError as e:
            response = web.Response(status=e.status, body=e.body, content_type="application/json", headers=headers)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        return response

    def _auth(self, request: web.Request, record: RecordedRequest) -> None:
        query = query_string_from_body(record.body) if record.body else query_string_from_url(record.raw_query)
        self.verifier.verify(request.headers.get("Authorization"), query)

    def _dispatch(self, request: web.Request, record: RecordedRequest) -> Any:
        method, path = record.method, record.path
        q = request.query
        ex = self.exchange
        # -- quotation (public) --
        if method == "GET" and path == "/v1/market/all":
            details = q.get("is_details", q.get("isDetails", "false")) == "true"
            rows = [m.row for m in ex.markets.values()]
            return rows if details else [{k: r[k] for k in ("market", "korean_name", "english_name")} for r in rows]
        if method == "GET" and path in ("/v1/ticker", "/v1/orderbook", "/v1/orderbook/instruments"):
            if "markets" not in q:
                raise ExchangeError(400, fixtures.raw("rest_error_400_missing_parameter.json"))
            codes = q["markets"].split(",")
            if any(c.upper() not in ex.markets for c in codes):
                raise ExchangeError(404, fixtures.raw("rest_error_404_code_not_found.json"))
            markets = [ex.markets[c.upper()] for c in codes]
            if path == "/v1/ticker":
                return [self._ticker_json(m) for m in markets]
            if path == "/v1/orderbook/instruments":
                return [
                    {
                        "market": m.code,
                        "quote_currency": m.quote,
                        "tick_size": fmt(m.tick_size),
                        "supported_levels": ["0"],
                    }
                    for m in markets
                ]
            count = q.get("count", "30")
            if not count.isdigit():
                raise ExchangeError(400, fixtures.raw("rest_error_400_type_mismatch.json"))
            return [self._orderbook_rest_json(m, int(count)) for m in markets]
        if method == "GET" and path == "/v1/ticker/all":
            quotes = q.get("quote_currencies", "KRW").split(",")
            return [self._ticker_json(m) for m in ex.markets.values() if m.quote in quotes]
        if method == "GET" and path == "/v1/trades/ticks":
            market = ex.markets.get(q.get("market", ""))
            if market is None:
                raise ExchangeError(404, fixtures.raw("rest_error_404_code_not_found.json"))
            trades = market.trades
            if "cursor" in q:
                cursor = int(q["cursor"])
                ids = [int(t["sequential_id"]) for t in trades]
                trades = trades[ids.index(cursor) + 1 :] if cursor in ids else []
            return [self._quotation_json(t) for t in trades[: int(q.get("count", "1"))]]
        if method == "GET" and path.startswith("/v1/candles/"):
            market = ex.markets.get(q.get("market", ""))
            if market is None:
                raise ExchangeError(404, fixtures.raw("rest_error_404_code_not_found.json"))
            key = path[len("/v1/candles/") :].replace("/", "_")
            rows = market.candles.get(key, [])
            if "to" in q:
                to = q["to"].replace("Z", "").split("+")[0]
                rows = [r for r in rows if r["candle_date_time_utc"] < to]
            return [self._quotation_json(r) for r in rows[: int(q.get("count", "1"))]]
        # -- exchange (private) --
        if not path.startswith("/v1/"):
            raise ExchangeError(404, fixtures.error_body("not_found", "Not Found"))
        self._auth(request, record)
        if method == "GET" and path == "/v1/accounts":
            return ex.account_rows()
        if method == "GET" and path == "/v1/orders/chance":
            return ex.chance(q.get("market", ""))
        if method == "POST" and path in ("/v1/orders", "/v1/orders/test"):
            order = ex.place(record.body or {}, test_only=path.endswith("/test"))
            return order.accepted_json or order.to_json()  # as accepted: fills come on the stream
        if method == "GET" and path == "/v1/order":
            return ex.find(q.get("uuid"), q.get("identifier")).to_json(with_trades=True)
        if method == "DELETE" and path == "/v1/order":
            order = ex.find(q.get("uuid"), q.get("identifier"))
            if not order.is_open:
                raise ExchangeError(404, fixtures.recorded_error("order_not_found"))
            snapshot = order.to_json()
            self._schedule_cancel(order)
            return snapshot
        if method == "GET" and path == "/v1/orders/uuids":
            uuids = q.getall("uuids[]", [])
            identifiers = q.getall("identifiers[]", [])
            if bool(uuids) == bool(identifiers):
                raise ExchangeError(400, fixtures.recorded_error("validation_error"))
            found = [ex.find(u, None) for u in uuids if u in ex.orders]
            found += [ex.orders[ex.identifiers[i]] for i in identifiers if ex.identifiers.get(i)]
            return [o.to_json(list_fields=True) for o in found]
        if method == "GET" and path == "/v1/orders/open":
            states = q.getall("states[]", []) or [q.get("state", "wait")]
            rows = [o for o in ex.orders.values() if o.state in states and q.get("market", o.market) == o.market]
            rows.sort(key=lambda o: o.created_ms, reverse=q.get("order_by", "desc") == "desc")
            page, limit = int(q.get("page", "1")), int(q.get("limit", "100"))
            return [o.to_json(list_fields=True) for o in rows[(page - 1) * limit : page * limit]]
        if method == "GET" and path == "/v1/orders/closed":
            states = q.getall("states[]", []) or ["done", "cancel"]
            start = int(q["start_time"]) if "start_time" in q else 0
            end = int(q["end_time"]) if "end_time" in q else 1 << 62
            rows = [
                o
                for o in ex.orders.values()
                if o.state in states and start <= o.created_ms <= end and q.get("market", o.market) == o.market
            ]
            rows.sort(key=lambda o: o.created_ms, reverse=q.get("order_by", "desc") == "desc")
            return [o.to_json(list_fields=True) for o in rows[: int(q.get("limit", "100"))]]
        if method == "DELETE" and path == "/v1/orders/uuids":
            uuids = q.getall("uuids[]", [])
            identifiers = q.getall("identifiers[]", [])
            targets = [ex.orders.get(u) for u in uuids]
            targets += [ex.orders.get(ex.identifiers.get(i) or "") for i in identifiers]
            return self._batch_cancel([t for t in targets if t is not None], len(targets))
        if method == "DELETE" and path == "/v1/orders/open":
            pairs = q["pairs"].split(",") if "pairs" in q else None
            quotes = q["quote_currencies"].split(",") if "quote_currencies" in q else None
            side = {"all": None, "bid": "bid", "ask": "ask"}[q.get("cancel_side", "all")]
            targets = [
                o
                for o in ex.orders.values()
                if o.state == "wait"
                and (pairs is None or o.market in pairs)
                and (quotes is None or o.market.split("-")[0] in quotes)
                and (side is None or o.side == side)
            ]
            return self._batch_cancel(targets[: int(q.get("count", "20"))], None)
        if method == "POST" and path == "/v1/orders/cancel_and_new":
            return self._cancel_and_new(record.body or {})
        raise ExchangeError(404, fixtures.error_body("not_found", "Not Found"))

    def _schedule_cancel(self, order: FakeOrder) -> None:
        async def later() -> None:
            await asyncio.sleep(self.cancel_delay)
            self.exchange.cancel(order)

        self._spawn(later())

    def _batch_cancel(self, orders: list[FakeOrder], asked: int | None) -> dict[str, Any]:
        ok = [o for o in orders if o.is_open]
        failed = [o for o in orders if not o.is_open]
        for order in ok:
            self._schedule_cancel(order)

        def ref(o: FakeOrder) -> dict[str, Any]:
            out = {"uuid": o.uuid, "market": o.market}
            if o.identifier:
                out["identifier"] = o.identifier
            return out

        return {
            "success": {"count": len(ok), "orders": [ref(o) for o in ok]},
            "failed": {"count": len(failed), "orders": [ref(o) for o in failed]},
        }

    def _cancel_and_new(self, body: dict[str, Any]) -> dict[str, Any]:
        ex = self.exchange
        old = ex.find(body.get("prev_order_uuid"), body.get("prev_order_identifier"))
        if not old.is_open:
            raise ExchangeError(404, fixtures.recorded_error("order_not_found"))
        snapshot = old.to_json()
        volume = body.get("new_volume")
        if volume == "remain_only":
            volume = fmt(old.remaining_volume)
        new_body = {
            "market": old.market,
            "side": old.side,
            "ord_type": body.get("new_ord_type", "limit"),
            "volume": volume,
            "price": body.get("new_price"),
            "identifier": body.get("new_identifier"),
            "time_in_force": body.get("new_time_in_force"),
        }
        new_body = {k: v for k, v in new_body.items() if v is not None}
        ex.cancel(old)  # the old order is cancelled first; its funds are released for the new one
        old.superseded_by = "pending"
        new = ex.place(new_body)
        old.superseded_by = new.uuid
        snapshot["new_order_uuid"] = new.uuid
        if new.identifier:
            snapshot["new_order_identifier"] = new.identifier
        return snapshot

    # -- JSON shapes ----------------------------------------------------------------------------------
    def _quotation_json(self, row: dict[str, Any]) -> dict[str, Any]:
        return {k: (rest_number(v) if isinstance(v, Decimal) and k != "sequential_id" else v) for k, v in row.items()}

    def _ticker_json(self, market: Any) -> dict[str, Any]:
        ts = now_ms()
        return {
            "market": market.code,
            "trade_price": rest_number(market.price),
            "trade_timestamp": ts,
            "timestamp": ts,
            "change": "EVEN",
        }

    def _orderbook_rest_json(self, market: Any, count: int) -> dict[str, Any]:
        units = market.book[: max(1, min(count, 30))]
        return {
            "market": market.code,
            "timestamp": now_ms(),
            "total_ask_size": rest_number(sum((u["ask_size"] for u in units), Decimal(0))),
            "total_bid_size": rest_number(sum((u["bid_size"] for u in units), Decimal(0))),
            "orderbook_units": [
                {
                    "bid_price": rest_number(u["bid_price"]),
                    "bid_size": rest_number(u["bid_size"]),
                    "ask_price": rest_number(u["ask_price"]),
                    "ask_size": rest_number(u["ask_size"]),
                }
                for u in units
            ],
            "level": 0,
        }

    def orderbook_frame(self, market: Any, count: int, stream_type: str) -> dict[str, Any]:
        units = market.book[:count]
        return {
            "type": "orderbook",
            "code": market.code,
            "timestamp": now_ms(),
            "total_ask_size": java_number(sum((u["ask_size"] for u in units), Decimal(0))),
            "total_bid_size": java_number(sum((u["bid_size"] for u in units), Decimal(0))),
            "orderbook_units": [
                {
                    "ask_price": java_number(u["ask_price"]),
                    "bid_price": java_number(u["bid_price"]),
                    "ask_size": java_number(u["ask_size"]),
                    "bid_size": java_number(u["bid_size"]),
                }
                for u in units
            ],
            "stream_type": stream_type,
            "level": 0,
        }

    def trade_frame(self, code: str, trade: dict[str, Any], stream_type: str) -> dict[str, Any]:
        return {
            "type": "trade",
            "code": code,
            "timestamp": now_ms(),
            "trade_date": trade.get("trade_date_utc"),
            "trade_time": trade.get("trade_time_utc"),
            "trade_timestamp": int(trade["timestamp"]),
            "trade_price": java_number(trade["trade_price"]),
            "trade_volume": java_number(trade["trade_volume"]),
            "ask_bid": trade["ask_bid"],
            "sequential_id": int(trade["sequential_id"]),
            "stream_type": stream_type,
        }

    def ticker_frame(self, market: Any, stream_type: str) -> dict[str, Any]:
        return {
            "type": "ticker",
            "code": market.code,
            "trade_price": java_number(market.price),
            "market_state": "ACTIVE",
            "delisting_date": None,
            "timestamp": now_ms(),
            "stream_type": stream_type,
        }

    # -- WebSocket ------------------------------------------------------------------------------------
    async def _ws_public(self, request: web.Request) -> web.StreamResponse:
        return await self._ws(request, "public")

    async def _ws_private(self, request: web.Request) -> web.StreamResponse:
        return await self._ws(request, "private")

    async def _ws(self, request: web.Request, kind: str) -> web.StreamResponse:
        if self.refuse_ws_connections:
            return web.Response(status=503, text="Service Unavailable")
        ws = web.WebSocketResponse(autoping=False, heartbeat=None)
        await ws.prepare(request)
        conn = WsConnection(next(self._conn_ids), kind, ws, request, dict(request.headers))
        self.ws_connects.append(conn)
        if kind == "private":
            try:
                self.verifier.verify(request.headers.get("Authorization"), "")
            except JwtRejected:
                await ws.send_bytes(fixtures.raw("ws_error_invalid_auth_docs.json"))
                await asyncio.sleep(0.05)
                await ws.close(code=1000)
                return ws
        self.connections[conn.id] = conn
        try:
            async for msg in ws:
                conn.last_activity = time.monotonic()
                if msg.type == WSMsgType.PING:
                    await ws.pong(msg.data)
                elif msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    data = msg.data if isinstance(msg.data, bytes) else msg.data.encode()
                    if not await self._on_ws_request(conn, data):
                        break
                elif msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break
        finally:
            self.connections.pop(conn.id, None)
        return ws

    async def _ws_error(self, conn: WsConnection, body: bytes) -> bool:
        await conn.ws.send_bytes(body)
        await asyncio.sleep(0.15)  # the server closes ~150 ms after an error frame
        await conn.ws.close(code=1000)
        return False

    async def _on_ws_request(self, conn: WsConnection, data: bytes) -> bool:
        if data.strip() == b"PING":
            await conn.ws.send_bytes(fixtures.raw("ws_status_up.json"))
            return True
        try:
            payload = json.loads(data, parse_float=Decimal)
        except json.JSONDecodeError:
            return await self._ws_error(conn, fixtures.raw("ws_error_wrong_format.json"))
        self.ws_requests.append(RecordedWsRequest(conn.id, conn.kind, payload, time.monotonic()))
        if not isinstance(payload, list) or not payload:
            return await self._ws_error(conn, fixtures.raw("ws_error_wrong_format.json"))
        if not isinstance(payload[0], dict) or not payload[0].get("ticket"):
            return await self._ws_error(conn, fixtures.raw("ws_error_no_ticket.json"))
        allowed = PUBLIC_TYPES if conn.kind == "public" else PRIVATE_TYPES
        subscriptions: dict[str, list[str]] = {}
        options: dict[str, dict[str, Any]] = {}
        simple = False
        for item in payload[1:]:
            if not isinstance(item, dict):
                return await self._ws_error(conn, fixtures.raw("ws_error_wrong_format.json"))
            if "format" in item:
                if item["format"] not in ("DEFAULT", "SIMPLE"):
                    return await self._ws_error(conn, fixtures.raw("ws_error_wrong_format.json"))
                simple = item["format"] == "SIMPLE"
                continue
            type_ = item.get("type")
            if type_ not in allowed:
                template = fixtures.load("ws_error_invalid_param.json")
                template["error"]["message"] = template["error"]["message"].replace("nope", str(type_))
                return await self._ws_error(conn, json.dumps(template, ensure_ascii=False).encode())
            codes = item.get("codes")
            if type_ == "myAsset" and codes:
                return await self._ws_error(conn, fixtures.raw("ws_error_wrong_format.json"))
            if conn.kind == "public" and not codes:
                return await self._ws_error(conn, fixtures.error_body("NO_CODES", "codes 가 존재하지 않습니다."))
            subscriptions[type_] = list(codes or [])
            options[type_] = item
        conn.subscriptions = subscriptions  # a new request replaces the whole set
        conn.simple = simple
        for type_, codes in subscriptions.items():
            if options[type_].get("is_only_realtime") or conn.kind == "private":
                continue
            for code in codes:
                await self._send_snapshot(conn, type_, code)
        return True

    async def _send_snapshot(self, conn: WsConnection, type_: str, code: str) -> None:
        market_code, _, count = code.partition(".")
        market = self.exchange.markets.get(market_code)  # lower case or unknown: silently nothing
        if market is None:
            return
        if type_ == "orderbook":
            n = int(count) if count.isdigit() and int(count) in ORDERBOOK_COUNTS else 30
            await self._send(conn, self.orderbook_frame(market, n, "SNAPSHOT"))
        elif type_ == "trade" and market.trades:
            await self._send(conn, self.trade_frame(market.code, market.trades[0], "SNAPSHOT"))
        elif type_ == "ticker":
            await self._send(conn, self.ticker_frame(market, "SNAPSHOT"))

    async def _send(self, conn: WsConnection, frame: dict[str, Any]) -> None:
        payload = msgspec.json.encode(simplify(frame) if conn.simple else frame)
        async with conn.lock:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.send_bytes(payload)
                conn.sent_frames += 1

    async def send_raw(self, data: bytes, kind: str = "public") -> None:
        """Send raw bytes to every connection of ``kind`` (malformed-frame tests)."""
        for conn in list(self.connections.values()):
            if conn.kind == kind:
                await conn.ws.send_bytes(data)

    def _subscribers(self, type_: str, market_code: str) -> list[tuple[WsConnection, str]]:
        out = []
        for conn in list(self.connections.values()):
            if conn.kind != "public":
                continue
            for code in conn.subscriptions.get(type_, []):
                if code.partition(".")[0] == market_code:
                    out.append((conn, code))
        return out

    async def publish_orderbook(self, market_code: str, units: list[dict[str, Decimal]] | None = None) -> None:
        """Replace a pair's book (optionally) and push it to its subscribers as a REALTIME frame."""
        if units is not None:
            self.exchange.set_book(market_code, units)
        market = self.exchange.markets[market_code]
        for conn, code in self._subscribers("orderbook", market_code):
            _, _, count = code.partition(".")
            n = int(count) if count.isdigit() and int(count) in ORDERBOOK_COUNTS else 30
            await self._send(conn, self.orderbook_frame(market, n, "REALTIME"))

    async def publish_trade(
        self,
        market_code: str,
        price: Decimal | str,
        volume: Decimal | str,
        ask_bid: str = "BID",
        sequential_id: int | None = None,
    ) -> dict[str, Any]:
        """Record a public trade and push it to the pair's trade subscribers; return the trade row."""
        market = self.exchange.markets[market_code]
        ts = now_ms()
        row = {
            "market": market_code,
            "timestamp": ts,
            "trade_price": Decimal(price),
            "trade_volume": Decimal(volume),
            "ask_bid": ask_bid,
            "sequential_id": sequential_id if sequential_id is not None else next(self._sid),
        }
        market.trades.insert(0, row)
        for conn, _ in self._subscribers("trade", market_code):
            await self._send(conn, self.trade_frame(market_code, row, "REALTIME"))
        return row

    async def publish_ticker(
        self, market_code: str, market_state: str = "ACTIVE", delisting_date: str | None = None
    ) -> None:
        market = self.exchange.markets[market_code]
        frame = self.ticker_frame(market, "REALTIME")
        frame["market_state"] = market_state
        frame["delisting_date"] = delisting_date
        for conn, _ in self._subscribers("ticker", market_code):
            await self._send(conn, frame)

    # -- private events -------------------------------------------------------------------------------
    def _private(self, type_: str, code: str | None = None) -> list[WsConnection]:
        out = []
        for conn in self.connections.values():
            if conn.kind != "private" or type_ not in conn.subscriptions:
                continue
            codes = conn.subscriptions[type_]
            if code is None or not codes or code in codes:
                out.append(conn)
        return out

    def _on_order_event(self, order: FakeOrder, trade: FakeTrade | None) -> None:
        ts = now_ms()
        avg = order.executed_funds / order.executed_volume if order.executed_volume else Decimal(0)
        event: dict[str, Any] = {
            "type": "myOrder",
            "code": order.market,
            "uuid": order.uuid,
            "ask_bid": order.side.upper(),
            "order_type": order.ord_type,
            "state": "trade" if trade is not None else order.state,
            "trade_uuid": trade.uuid if trade is not None else None,
            "price": java_number(trade.price if trade is not None else (order.price or Decimal(0))),
            "avg_price": java_number(avg),
            "volume": java_number(trade.volume)
            if trade is not None
            else (java_number(order.volume) if order.volume is not None else None),
            "remaining_volume": java_number(order.remaining_volume) if order.volume is not None else None,
            "executed_volume": java_number(order.executed_volume),
            "trades_count": len(order.trades),
            "reserved_fee": java_number(order.reserved_fee),
            "remaining_fee": java_number(max(Decimal(0), order.reserved_fee - order.paid_fee)),
            "paid_fee": java_number(order.paid_fee),
            "locked": java_number(order.locked),
            "executed_funds": java_number(order.executed_funds),
            "time_in_force": order.time_in_force,
            "trade_fee": java_number(trade.fee) if trade is not None else None,
            "is_maker": trade.is_maker if trade is not None else None,
            "identifier": order.identifier,
            "smp_type": order.smp_type,
            "prevented_volume": 0,
            "prevented_locked": 0,
            "trade_timestamp": trade.ts_ms if trade is not None else None,
            "order_timestamp": order.created_ms,
            "timestamp": ts,
            "stream_type": "REALTIME",
        }
        for conn in self._private("myOrder", order.market):
            self._publish_private("myOrder", conn, event)

    def _on_asset_event(self, currencies: list[str]) -> None:
        assets = []
        for currency in currencies:
            free, locked = self.exchange.balances.get(currency, [Decimal(0), Decimal(0)])
            assets.append({"currency": currency, "balance": java_number(free), "locked": java_number(locked)})
        ts = now_ms()
        event = {
            "type": "myAsset",
            "asset_uuid": "e635f223-1609-4969-8fb6-4376937baad6",
            "assets": assets,
            "asset_timestamp": ts,
            "timestamp": ts,
            "stream_type": "REALTIME",
        }
        for conn in self._private("myAsset"):
            self._publish_private("myAsset", conn, event)

    async def _idle_watchdog(self) -> None:
        assert self.ws_idle_timeout is not None
        while True:
            await asyncio.sleep(self.ws_idle_timeout / 4)
            now = time.monotonic()
            for conn in list(self.connections.values()):
                if now - conn.last_activity > self.ws_idle_timeout:
                    transport = conn.request.transport
                    if transport is not None:
                        transport.close()  # 1006, no close frame (as observed live)
                    self.connections.pop(conn.id, None)
