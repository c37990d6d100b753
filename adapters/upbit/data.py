"""
The Upbit market data client.

Every subscription of the client is multiplexed on **one** public WebSocket connection: Upbit replaces a
connection's subscription set with each request, so every change re-sends the full set. Orderbook frames
carry the whole book (no deltas, no sequence): each frame yields a top-of-book ``QuoteTick`` and/or a
snapshot ``OrderBookDeltas`` (``CLEAR`` + levels) that replaces the book. Quote-only subscriptions ask for
``KRW-BTC.1`` (one level) and book subscriptions for the smallest of 1/5/15/30 levels covering their depth.
Trades are de-duplicated by ``sequential_id``.

While the socket is down (between a drop and the reconnect) the client polls REST (``/v1/orderbook``,
``/v1/trades/ticks``) so quotes keep flowing; ``ws_latency`` (exchange timestamp to receipt) is recorded
for every frame. Malformed or unknown frames are counted and logged with their type and market, never
raised.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from datetime import timedelta
from typing import TYPE_CHECKING

import msgspec
import pandas as pd
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.common.enums import LogColor
from nautilus_trader.data.messages import RequestBars
from nautilus_trader.data.messages import RequestInstrument
from nautilus_trader.data.messages import RequestInstruments
from nautilus_trader.data.messages import RequestOrderBookSnapshot
from nautilus_trader.data.messages import RequestQuoteTicks
from nautilus_trader.data.messages import RequestTradeTicks
from nautilus_trader.data.messages import SubscribeBars
from nautilus_trader.data.messages import SubscribeInstrument
from nautilus_trader.data.messages import SubscribeInstruments
from nautilus_trader.data.messages import SubscribeOrderBook
from nautilus_trader.data.messages import SubscribeQuoteTicks
from nautilus_trader.data.messages import SubscribeTradeTicks
from nautilus_trader.data.messages import UnsubscribeInstrument
from nautilus_trader.data.messages import UnsubscribeInstruments
from nautilus_trader.data.messages import UnsubscribeOrderBook
from nautilus_trader.data.messages import UnsubscribeQuoteTicks
from nautilus_trader.data.messages import UnsubscribeTradeTicks
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import DataType
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AggregationSource
from nautilus_trader.model.enums import BarAggregation
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import PriceType
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from adapters.upbit.config import UpbitDataClientConfig
from adapters.upbit.constants import UPBIT_WS_ORDERBOOK_COUNTS
from adapters.upbit.constants import UPBIT_WS_ORDERBOOK_MAX_UNITS
from adapters.upbit.enums import UpbitCandleInterval
from adapters.upbit.http.client import UpbitHttpClient
from adapters.upbit.http.error import UpbitError
from adapters.upbit.http.market import UpbitMarketHttpAPI
from adapters.upbit.orderbook import CompiledPathUnavailable
from adapters.upbit.orderbook import RawBook
from adapters.upbit.orderbook import RawCache
from adapters.upbit.orderbook import UnitsMemo
from adapters.upbit.orderbook import UnitTokens
from adapters.upbit.orderbook import compiled_units_parser
from adapters.upbit.parsing import nanos_to_iso
from adapters.upbit.providers import UpbitInstrumentProvider
from adapters.upbit.providers import UpbitUnknownMarketError
from adapters.upbit.providers import upbit_market
from adapters.upbit.schemas.market import UpbitOrderbook
from adapters.upbit.schemas.ws import DEFAULT_UNIT_KEYS
from adapters.upbit.schemas.ws import SIMPLE_UNIT_KEYS
from adapters.upbit.schemas.ws import UpbitWsControl
from adapters.upbit.schemas.ws import UpbitWsOrderbook
from adapters.upbit.schemas.ws import UpbitWsOrderbookSimple
from adapters.upbit.schemas.ws import UpbitWsOrderbookUnit
from adapters.upbit.schemas.ws import UpbitWsOrderbookUnitSimple
from adapters.upbit.schemas.ws import UpbitWsPublicMsg
from adapters.upbit.schemas.ws import UpbitWsPublicMsgSimple
from adapters.upbit.schemas.ws import UpbitWsTicker
from adapters.upbit.schemas.ws import UpbitWsTickerSimple
from adapters.upbit.schemas.ws import UpbitWsTrade
from adapters.upbit.schemas.ws import UpbitWsTradeSimple
from adapters.upbit.websocket.client import UpbitWebSocketClient
from adapters.upbit.websocket.latency import WsLatencyStats

if TYPE_CHECKING:
    from adapters.upbit.units_parser import ParsedBook
    from adapters.upbit.units_parser import UnitsParser

_TYPE_RE = re.compile(rb'"(?:type|ty)"\s*:\s*"([A-Za-z0-9_.]+)"')
_CODE_RE = re.compile(rb'"(?:code|cd)"\s*:\s*"([A-Za-z0-9_.\-]+)"')
_TRADES_PAGE = 500
_CANDLES_PAGE = 200


class _MarketState:
    """Hot per-market cache: what is subscribed and how to parse it."""

    __slots__ = (
        "book_depth",
        "book_memo",
        "instrument_id",
        "last_book_ts",
        "last_frame_ns",
        "price_precision",
        "price_raw",
        "recent_sids",
        "sequence",
        "sid_set",
        "size_precision",
        "size_raw",
        "subscribed_ns",
        "wants_book",
        "wants_quotes",
        "wants_trades",
        "warned_silent",
    )

    def __init__(self, instrument: Instrument, dedup_window: int) -> None:
        self.instrument_id = instrument.id
        self.price_precision = instrument.price_precision
        self.size_precision = instrument.size_precision
        self.price_raw = RawCache(instrument.price_precision)  # orderbook price token -> raw value
        self.size_raw = RawCache(instrument.size_precision)
        self.book_memo = UnitsMemo()  # the last units array, unit by unit, with its raw values
        self.wants_quotes = False
        self.wants_book = False
        self.wants_trades = False
        self.book_depth = 0  # 0 = every level the frame carries
        self.sequence = 0
        self.last_book_ts = 0  # exchange ms of the last book emitted (WS or REST)
        self.last_frame_ns = 0
        self.subscribed_ns = 0
        self.warned_silent = False
        self.sid_set: set[int] = set()
        self.recent_sids: deque[int] = deque(maxlen=dedup_window)

    def set_precisions(self, price_precision: int, size_precision: int) -> None:
        """Take new precisions (an instrument update); the token caches start afresh if they changed."""
        if (price_precision, size_precision) != (self.price_precision, self.size_precision):
            self.book_memo = UnitsMemo()  # its raw values are at the old precisions
        if price_precision != self.price_precision:
            self.price_precision = price_precision
            self.price_raw = RawCache(price_precision)
        if size_precision != self.size_precision:
            self.size_precision = size_precision
            self.size_raw = RawCache(size_precision)

    def seen_trade(self, sid: int) -> bool:
        """Return True for a duplicate ``sequential_id``; remember new ones (bounded window)."""
        if sid in self.sid_set:
            return True
        if len(self.recent_sids) == self.recent_sids.maxlen:
            self.sid_set.discard(self.recent_sids[0])
        self.recent_sids.append(sid)
        self.sid_set.add(sid)
        return False

    def orderbook_count(self) -> int:
        """Return how many levels to subscribe: 1 for quotes only, else the smallest count covering depth."""
        need = 1 if not self.wants_book else (self.book_depth or UPBIT_WS_ORDERBOOK_MAX_UNITS)
        return next((c for c in UPBIT_WS_ORDERBOOK_COUNTS if c >= need), UPBIT_WS_ORDERBOOK_MAX_UNITS)


class UpbitDataClient(LiveMarketDataClient):
    """
    Provides a market data client for Upbit.

    Parameters
    ----------
    loop : asyncio.AbstractEventLoop
        The event loop for the client.
    client : UpbitHttpClient
        The Upbit HTTP client.
    msgbus : MessageBus
        The message bus for the client.
    cache : Cache
        The cache for the client.
    clock : LiveClock
        The clock for the client.
    instrument_provider : UpbitInstrumentProvider
        The instrument provider.
    base_url_ws : str
        The public WebSocket URL.
    config : UpbitDataClientConfig
        The configuration for the client.
    name : str, optional
        The custom client ID.

    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client: UpbitHttpClient,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: UpbitInstrumentProvider,
        base_url_ws: str,
        config: UpbitDataClientConfig,
        name: str | None = None,
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=ClientId(name or config.venue.value),
            venue=config.venue,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=instrument_provider,
        )
        self._config = config
        self._upbit_provider = instrument_provider
        self._http_client = client
        self._http_market = UpbitMarketHttpAPI(client)
        self._ws_client = UpbitWebSocketClient(
            clock=clock,
            base_url=base_url_ws,
            handler=self._handle_ws_message,
            name="public",
            on_connected=self._on_ws_connected,
            on_disconnected=self._on_ws_disconnected,
            ws_format=config.ws_format,
            keepalive_secs=config.keepalive_secs,
            reconnect_delay_initial_secs=config.reconnect_delay_initial_secs,
            reconnect_delay_max_secs=config.reconnect_delay_max_secs,
            reconnect_backoff_factor=config.reconnect_backoff_factor,
            reconnect_jitter_ratio=config.reconnect_jitter_ratio,
            proxy_url=config.proxy_url,
        )
        self._decoder_public = msgspec.json.Decoder(
            UpbitWsPublicMsgSimple if config.ws_format == "SIMPLE" else UpbitWsPublicMsg,
        )
        self._decoder_control = msgspec.json.Decoder(UpbitWsControl)
        self._unit_tokens = (
            UnitTokens(SIMPLE_UNIT_KEYS, UpbitWsOrderbookUnitSimple)
            if config.ws_format == "SIMPLE"
            else UnitTokens(DEFAULT_UNIT_KEYS, UpbitWsOrderbookUnit)
        )
        # the compiled path for frames in Upbit's exact layout (None: the Python path only)
        self._units_parser: UnitsParser | None = None
        try:
            self._units_parser = compiled_units_parser(
                SIMPLE_UNIT_KEYS if config.ws_format == "SIMPLE" else DEFAULT_UNIT_KEYS,
            )
        except CompiledPathUnavailable as e:
            self._log.warning(f"Orderbook frames take the pure-Python path (~3x slower): {e}")
        self._markets: dict[str, _MarketState] = {}
        self._poll_task: asyncio.Task | None = None
        self._watchdog_task: asyncio.Task | None = None
        self._update_instruments_task: asyncio.Task | None = None
        self._precision_reload: asyncio.Task | None = None
        self.ws_latency = WsLatencyStats()
        self.frame_counts: dict[str, int] = {"orderbook": 0, "trade": 0, "ticker": 0, "status": 0}
        self.python_path_books = 0  # orderbook frames that took the pure-Python path (see _units_parser)
        self.bad_frames: dict[tuple[str, str], int] = {}  # (type, market) -> malformed/unknown count
        self.ws_errors: list[tuple[str, str]] = []  # (name, message) of error frames
        self.rest_polls = 0

        self._log.info(f"Base url HTTP {client.base_url}", LogColor.BLUE)
        self._log.info(f"Base url WebSocket {base_url_ws}", LogColor.BLUE)
        self._log.info(f"{config.ws_format=}, {config.rest_poll_interval_secs=}", LogColor.BLUE)

    @property
    def ws_client(self) -> UpbitWebSocketClient:
        """Return the public WebSocket client (one connection for every subscription)."""
        return self._ws_client

    # -- connection -----------------------------------------------------------------------------------
    async def _connect(self) -> None:
        await self._instrument_provider.initialize()
        self._send_all_instruments_to_data_engine()
        await self._ws_client.connect()
        self._watchdog_task = self.create_task(self._snapshot_watchdog())
        interval = self._config.update_instruments_interval_mins
        if interval:
            self._update_instruments_task = self.create_task(self._update_instruments(interval))

    async def _disconnect(self) -> None:
        for task in (self._update_instruments_task, self._watchdog_task, self._poll_task):
            if task is not None and not task.done():
                task.cancel()
        self._update_instruments_task = self._watchdog_task = self._poll_task = None
        await self._ws_client.disconnect()
        await self._http_client.close()  # shared: reopened on the next request of another client

    def _send_all_instruments_to_data_engine(self) -> None:
        for instrument in self._instrument_provider.get_all().values():
            self._handle_data(instrument)
        for currency in self._instrument_provider.currencies().values():
            self._cache.add_currency(currency)

    async def _update_instruments(self, interval_mins: int) -> None:
        while True:
            await asyncio.sleep(interval_mins * 60)
            await self._reload_instruments()

    async def _reload_instruments(self) -> None:
        try:
            await self._instrument_provider.initialize(reload=True)
            self._send_all_instruments_to_data_engine()
            for state in self._markets.values():
                instrument = self._instrument_provider.find(state.instrument_id)
                if instrument is not None:
                    state.set_precisions(instrument.price_precision, instrument.size_precision)
        except UpbitError as e:
            self._log.error(f"Cannot reload Upbit instruments: {e}")
        finally:
            self._precision_reload = None

    def _on_ws_connected(self, is_reconnect: bool) -> None:
        if self._poll_task is not None:
            self._poll_task.cancel()
            self._poll_task = None
        if is_reconnect:
            self._log.info("Public stream reconnected; full subscription set re-sent", LogColor.GREEN)

    def _on_ws_disconnected(self) -> None:
        self._log.warning("Public stream down: polling REST until it reconnects")
        if self._poll_task is None or self._poll_task.done():
            self._poll_task = self.create_task(self._poll_rest())

    # -- subscriptions --------------------------------------------------------------------------------
    async def _market_state(self, instrument_id: InstrumentId) -> _MarketState | None:
        market = upbit_market(instrument_id)
        state = self._markets.get(market)
        if state is not None:
            return state
        instrument = self._instrument_provider.find(instrument_id)
        if instrument is None:
            try:
                await self._instrument_provider.load_async(instrument_id)
            except UpbitUnknownMarketError as e:
                self._log.error(f"Cannot subscribe to {instrument_id}: {e}")
                return None
            except UpbitError as e:
                self._log.error(f"Cannot subscribe to {instrument_id}: instruments unavailable ({e})")
                return None
            instrument = self._instrument_provider.find(instrument_id)
            if instrument is None:
                self._log.error(f"Cannot subscribe to {instrument_id}: not an Upbit market")
                return None
            self._handle_data(instrument)
        state = _MarketState(instrument, self._config.trade_dedup_window)
        self._markets[market] = state
        return state

    def _resubscribe(self) -> None:
        books = []
        trades = []
        now = self._clock.timestamp_ns()
        for market, state in self._markets.items():
            if state.wants_quotes or state.wants_book:
                count = state.orderbook_count()
                books.append(market if count == UPBIT_WS_ORDERBOOK_MAX_UNITS else f"{market}.{count}")
            if state.wants_trades:
                trades.append(market)
            if (state.wants_quotes or state.wants_book or state.wants_trades) and not state.subscribed_ns:
                state.subscribed_ns = now
        self._ws_client.set_codes("orderbook", books)
        self._ws_client.set_codes("trade", trades)

    async def _subscribe_quote_ticks(self, command: SubscribeQuoteTicks) -> None:
        state = await self._market_state(command.instrument_id)
        if state is not None:
            state.wants_quotes = True
            self._resubscribe()

    async def _subscribe_order_book_deltas(self, command: SubscribeOrderBook) -> None:
        if command.book_type == BookType.L3_MBO:
            self._log.error(f"Cannot subscribe to {command.instrument_id} L3_MBO: Upbit publishes L2 books")
            return
        state = await self._market_state(command.instrument_id)
        if state is not None:
            depth = max(command.depth or 0, 0)  # 0 (or a negative depth NautilusTrader lets through): every level
            if not state.wants_book:
                state.book_depth = depth
            elif state.book_depth and depth:
                state.book_depth = max(state.book_depth, depth)  # the deepest subscriber's depth
            else:
                state.book_depth = 0  # a subscriber already wants, or now wants, every level
            state.wants_book = True
            self._resubscribe()

    async def _subscribe_trade_ticks(self, command: SubscribeTradeTicks) -> None:
        state = await self._market_state(command.instrument_id)
        if state is not None:
            state.wants_trades = True
            self._resubscribe()

    async def _subscribe_bars(self, command: SubscribeBars) -> None:
        self._log.error(
            f"Cannot subscribe to {command.bar_type}: Upbit bars are available by request only "
            "(request_bars reads the REST candles); aggregate bars internally from trades instead",
        )

    async def _subscribe_instruments(self, command: SubscribeInstruments) -> None:
        pass  # instruments are sent on connect and on every reload

    async def _subscribe_instrument(self, command: SubscribeInstrument) -> None:
        pass

    async def _unsubscribe_instruments(self, command: UnsubscribeInstruments) -> None:
        pass

    async def _unsubscribe_instrument(self, command: UnsubscribeInstrument) -> None:
        pass

    async def _unsubscribe_quote_ticks(self, command: UnsubscribeQuoteTicks) -> None:
        state = self._markets.get(upbit_market(command.instrument_id))
        if state is not None:
            state.wants_quotes = False
            self._resubscribe()

    async def _unsubscribe_order_book_deltas(self, command: UnsubscribeOrderBook) -> None:
        state = self._markets.get(upbit_market(command.instrument_id))
        if state is not None:
            state.wants_book = False
            state.book_depth = 0
            self._resubscribe()

    async def _unsubscribe_trade_ticks(self, command: UnsubscribeTradeTicks) -> None:
        state = self._markets.get(upbit_market(command.instrument_id))
        if state is not None:
            state.wants_trades = False
            self._resubscribe()

    # -- WebSocket frames (hot path) ------------------------------------------------------------------
    def _handle_ws_message(self, raw: bytes) -> None:
        ts_init = self._clock.timestamp_ns()
        try:
            msg = self._decoder_public.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            self._handle_control_or_bad(raw)
            return
        code = msg.code
        state = self._markets.get(code)
        if state is None:
            state = self._markets.get(code.partition(".")[0])
            if state is None:
                self._count_bad(raw, "not subscribed")
                return
        try:
            self.ws_latency.record(ts_init - msg.timestamp * 1_000_000)
            state.last_frame_ns = ts_init
            if type(msg) is UpbitWsOrderbook or type(msg) is UpbitWsOrderbookSimple:
                self.frame_counts["orderbook"] += 1
                book: RawBook | ParsedBook | None = None
                if self._units_parser is not None:
                    book = self._units_parser.parse(msg.orderbook_units, state.price_precision, state.size_precision)
                if book is None:  # not built, or a layout or number form it leaves to the Python path
                    self.python_path_books += 1
                    book = self._unit_tokens.to_book(
                        msg.orderbook_units, state.price_raw, state.size_raw, state.book_memo
                    )
                self._on_book(book, msg.timestamp, state, ts_init)
            elif type(msg) is UpbitWsTrade or type(msg) is UpbitWsTradeSimple:
                self.frame_counts["trade"] += 1
                if state.wants_trades and not state.seen_trade(msg.sequential_id):
                    self._handle_data(
                        msg.parse_to_trade_tick(
                            state.instrument_id, state.price_precision, state.size_precision, ts_init
                        ),
                    )
            elif type(msg) is UpbitWsTicker or type(msg) is UpbitWsTickerSimple:
                self.frame_counts["ticker"] += 1
                if msg.market_state == "DELISTED" or msg.delisting_date:
                    self._log.warning(
                        f"{state.instrument_id}: market_state={msg.market_state}, delisting_date={msg.delisting_date}",
                    )
        except Exception as e:
            self._count_bad(raw, f"{type(e).__name__}: {e}")

    def _on_book(self, book: RawBook | ParsedBook, ts_ms: int, state: _MarketState, ts_init: int) -> None:
        if ts_ms < state.last_book_ts:
            return  # older than what REST polling already emitted
        crossed = book.crossed()
        if crossed is not None:
            self._locked_book(state, *crossed)
            return
        state.last_book_ts = ts_ms
        ts_event = ts_ms * 1_000_000
        if state.wants_quotes:
            quote = book.to_quote(state.instrument_id, state.price_precision, state.size_precision, ts_event, ts_init)
            if quote is not None:
                self._handle_data(quote)
        if state.wants_book:
            if state.book_depth:
                book = book.truncated(state.book_depth)
            state.sequence += 1
            self._handle_data(
                book.to_deltas(
                    state.instrument_id,
                    state.price_precision,
                    state.size_precision,
                    state.sequence,
                    ts_event,
                    ts_init,
                ),
            )

    def _locked_book(self, state: _MarketState, bid_raw: int, ask_raw: int) -> None:
        # Upbit never sends a locked or crossed book: at the instrument's precision two prices became one (the
        # tick moved to a finer band since the instruments were loaded). Such a book is not emitted, and the
        # instruments are reloaded at once for the new precision.
        self.frame_counts["locked"] = count = self.frame_counts.get("locked", 0) + 1
        if count <= 10 or count % 1000 == 0:
            self._log.warning(
                f"{state.instrument_id}: book locked or crossed at price precision {state.price_precision} "
                f"(bid raw {bid_raw} >= ask raw {ask_raw}; {count} so far): not emitted, reloading instruments",
            )
        if self._precision_reload is None:
            self._precision_reload = self.create_task(self._reload_instruments())

    def _handle_control_or_bad(self, raw: bytes) -> None:
        try:
            control = self._decoder_control.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            self._count_bad(raw, "malformed")
            return
        if control.status is not None:
            self.frame_counts["status"] += 1
            return
        if control.error is not None:
            name, message = str(control.error.name), str(control.error.message)
            self.ws_errors.append((name, message))
            self._log.error(f"Upbit WebSocket error {name}: {message} (the server closes the connection)")
            return
        self._count_bad(raw, "unknown frame")

    def _count_bad(self, raw: bytes, reason: str) -> None:
        type_match = _TYPE_RE.search(raw)
        code_match = _CODE_RE.search(raw)
        type_ = type_match.group(1).decode() if type_match else "?"
        market = code_match.group(1).decode() if code_match else "?"
        key = (type_, market)
        count = self.bad_frames.get(key, 0) + 1
        self.bad_frames[key] = count
        if count <= 10 or count % 1000 == 0:
            self._log.warning(
                f"Dropped Upbit frame type={type_} market={market} ({reason}; {count} so far): {raw[:120]!r}",
            )

    # -- REST fallback --------------------------------------------------------------------------------
    async def _poll_rest(self) -> None:
        interval = self._config.rest_poll_interval_secs
        while not self._ws_client.is_connected:
            try:
                await self._poll_once()
            except UpbitError as e:
                self._log.warning(f"REST fallback poll failed: {e}")
            await asyncio.sleep(interval)

    async def _poll_once(self) -> None:
        self.rest_polls += 1
        books = [m for m, s in self._markets.items() if s.wants_quotes or s.wants_book]
        for i in range(0, len(books), 50):
            for book in await self._http_market.query_orderbooks(books[i : i + 50]):
                state = self._markets.get(book.market)
                if state is not None and book.timestamp > state.last_book_ts:
                    try:
                        raw_book = book.to_raw_book(state.price_precision, state.size_precision)
                    except ValueError as e:  # a value out of any price or size range: this book only
                        self._log.warning(f"REST orderbook of {book.market} dropped: {e}")
                        continue
                    self._on_book(raw_book, book.timestamp, state, self._clock.timestamp_ns())
        for market, state in list(self._markets.items()):
            if not state.wants_trades:
                continue
            trades = await self._http_market.query_trades(market, count=50)
            ts_init = self._clock.timestamp_ns()
            for trade in sorted(trades, key=lambda t: t.timestamp):
                if not state.seen_trade(trade.sequential_id):
                    self._handle_data(
                        trade.parse_to_trade_tick(
                            state.instrument_id, state.price_precision, state.size_precision, ts_init
                        ),
                    )

    async def _snapshot_watchdog(self) -> None:
        timeout_ns = int(self._config.snapshot_timeout_secs * 1e9)
        while True:
            await asyncio.sleep(self._config.snapshot_timeout_secs / 2)
            now = self._clock.timestamp_ns()
            for state in self._markets.values():
                if (
                    state.subscribed_ns
                    and not state.last_frame_ns
                    and not state.warned_silent
                    and self._ws_client.is_connected
                    and now - state.subscribed_ns > timeout_ns
                ):
                    state.warned_silent = True
                    self._log.error(
                        f"No data for {state.instrument_id} {self._config.snapshot_timeout_secs:g}s after "
                        "subscribing: Upbit ignores unknown or delisted codes silently",
                    )

    # -- requests -------------------------------------------------------------------------------------
    async def _request_instrument(self, request: RequestInstrument) -> None:
        instrument = self._instrument_provider.find(request.instrument_id)
        if instrument is None:
            try:
                await self._instrument_provider.load_async(request.instrument_id)
            except UpbitUnknownMarketError as e:
                self._log.error(f"Cannot find instrument {request.instrument_id}: {e}")
                return
            instrument = self._instrument_provider.find(request.instrument_id)
        if instrument is None:
            self._log.error(f"Cannot find instrument {request.instrument_id}")
            return
        self._handle_instrument(instrument, request.id, request.start, request.end, request.params)

    async def _request_instruments(self, request: RequestInstruments) -> None:
        instruments = list(self._instrument_provider.get_all().values())
        self._handle_instruments(request.venue, instruments, request.id, request.start, request.end, request.params)

    async def _request_quote_ticks(self, request: RequestQuoteTicks) -> None:
        # Upbit keeps no quote history: answer with the current top of book (the only quote there is)
        self._log.warning(
            f"Upbit has no historical quotes: returning the current top of book for {request.instrument_id}",
        )
        state = await self._market_state(request.instrument_id)
        if state is None:
            return
        books = await self._http_market.query_orderbooks([upbit_market(request.instrument_id)], count=1)
        ticks: list[QuoteTick] = []
        for book in books:
            quote = book.parse_to_quote_tick(
                state.instrument_id,
                state.price_precision,
                state.size_precision,
                self._clock.timestamp_ns(),
            )
            if quote is not None:
                ticks.append(quote)
        self._handle_quote_ticks(request.instrument_id, ticks, request.id, request.start, request.end, request.params)

    async def _request_trade_ticks(self, request: RequestTradeTicks) -> None:
        state = await self._market_state(request.instrument_id)
        if state is None:
            return
        market = upbit_market(request.instrument_id)
        limit = request.limit or _TRADES_PAGE
        start_ms = int(request.start.timestamp() * 1000) if request.start is not None else None
        end_ms = int(request.end.timestamp() * 1000) if request.end is not None else None
        ticks: dict[int, TradeTick] = {}
        cursor: int | None = None
        ts_init = self._clock.timestamp_ns()
        while len(ticks) < limit:
            page = await self._http_market.query_trades(market, count=_TRADES_PAGE, cursor=cursor)
            if not page:
                break
            for trade in page:
                if (start_ms is None or trade.timestamp >= start_ms) and (end_ms is None or trade.timestamp <= end_ms):
                    ticks[trade.sequential_id] = trade.parse_to_trade_tick(
                        state.instrument_id,
                        state.price_precision,
                        state.size_precision,
                        ts_init,
                    )
            oldest = min(page, key=lambda t: t.timestamp)
            if len(page) < _TRADES_PAGE or (start_ms is not None and oldest.timestamp < start_ms):
                break
            cursor = page[-1].sequential_id
        result = sorted(ticks.values(), key=lambda t: t.ts_event)[-limit:]
        self._handle_trade_ticks(request.instrument_id, result, request.id, request.start, request.end, request.params)

    async def _request_bars(self, request: RequestBars) -> None:
        bar_type = request.bar_type
        spec = bar_type.spec
        if spec.price_type != PriceType.LAST or bar_type.aggregation_source != AggregationSource.EXTERNAL:
            self._log.error(f"Cannot request {bar_type}: Upbit candles are LAST-price EXTERNAL bars")
            return
        try:
            interval, unit, step = candle_endpoint(spec.aggregation, spec.step)
        except ValueError as e:
            self._log.error(f"Cannot request {bar_type}: {e}")
            return
        state = await self._market_state(bar_type.instrument_id)
        if state is None:
            return
        market = upbit_market(bar_type.instrument_id)
        limit = request.limit or 0
        start_ns = pd.Timestamp(request.start).value if request.start is not None else None
        to: str | None = nanos_to_iso(pd.Timestamp(request.end).value) if request.end is not None else None
        now_ns = self._clock.timestamp_ns()
        bars: dict[int, Bar] = {}
        while True:
            candles = await self._http_market.query_candles(market, interval, unit=unit, to=to, count=_CANDLES_PAGE)
            if not candles:
                break
            for candle in candles:
                open_ns = pd.Timestamp(candle.candle_date_time_utc, tz="UTC").value
                close_ns = candle_close_ns(open_ns, interval, step)
                if close_ns > now_ns or (start_ns is not None and open_ns < start_ns):
                    continue  # still forming, or before the requested start
                bars[close_ns] = candle.parse_to_bar(
                    bar_type, state.price_precision, state.size_precision, close_ns, now_ns
                )
            oldest = min(candles, key=lambda c: c.candle_date_time_utc)
            oldest_ns = pd.Timestamp(oldest.candle_date_time_utc, tz="UTC").value
            if len(candles) < _CANDLES_PAGE or (start_ns is not None and oldest_ns <= start_ns):
                break
            if limit and len(bars) >= limit:
                break
            to = nanos_to_iso(oldest_ns)
        result = [bars[k] for k in sorted(bars)]
        if limit:
            result = result[-limit:]
        self._handle_bars(bar_type, result, request.id, request.start, request.end, request.params)

    async def _request_order_book_snapshot(self, request: RequestOrderBookSnapshot) -> None:
        state = await self._market_state(request.instrument_id)
        if state is None:
            return
        count = min(request.limit or UPBIT_WS_ORDERBOOK_MAX_UNITS, UPBIT_WS_ORDERBOOK_MAX_UNITS)
        books: list[UpbitOrderbook] = await self._http_market.query_orderbooks(
            [upbit_market(request.instrument_id)], count
        )
        snapshots: list[OrderBookDeltas] = []
        for book in books:
            state.sequence += 1
            snapshots.append(
                book.parse_to_order_book_deltas(
                    state.instrument_id,
                    state.price_precision,
                    state.size_precision,
                    state.sequence,
                    self._clock.timestamp_ns(),
                ),
            )
        self._handle_data_response(
            data_type=DataType(OrderBookDeltas, metadata={"instrument_id": request.instrument_id}),
            data=snapshots,
            correlation_id=request.id,
            start=None,
            end=None,
            params=request.params,
        )


def candle_endpoint(aggregation: BarAggregation, step: int) -> tuple[UpbitCandleInterval, int | None, int]:
    """Return the candle endpoint ``(interval, minute unit, step)`` for a bar specification."""
    if aggregation == BarAggregation.SECOND and step == 1:
        return UpbitCandleInterval.SECONDS, None, 1
    if aggregation == BarAggregation.MINUTE and step in (1, 3, 5, 10, 15, 30, 60, 240):
        return UpbitCandleInterval.MINUTES, step, step
    if aggregation == BarAggregation.HOUR and step in (1, 4):
        return UpbitCandleInterval.MINUTES, step * 60, step * 60
    if aggregation == BarAggregation.DAY and step == 1:
        return UpbitCandleInterval.DAYS, None, 1
    if aggregation == BarAggregation.WEEK and step == 1:
        return UpbitCandleInterval.WEEKS, None, 1
    if aggregation == BarAggregation.MONTH and step == 1:
        return UpbitCandleInterval.MONTHS, None, 1
    if aggregation == BarAggregation.YEAR and step == 1:
        return UpbitCandleInterval.YEARS, None, 1
    raise ValueError(
        "Upbit candles exist for 1-SECOND, 1/3/5/10/15/30/60/240-MINUTE, 1/4-HOUR, 1-DAY, 1-WEEK, 1-MONTH and 1-YEAR",
    )


def candle_close_ns(open_ns: int, interval: UpbitCandleInterval, step: int) -> int:
    """Return the close time of a candle that opened at ``open_ns`` (a bar's ``ts_event``)."""
    opened = pd.Timestamp(open_ns, unit="ns", tz="UTC")
    if interval == UpbitCandleInterval.SECONDS:
        closed = opened + timedelta(seconds=step)
    elif interval == UpbitCandleInterval.MINUTES:
        closed = opened + timedelta(minutes=step)
    elif interval == UpbitCandleInterval.DAYS:
        closed = opened + timedelta(days=1)
    elif interval == UpbitCandleInterval.WEEKS:
        closed = opened + timedelta(weeks=1)
    elif interval == UpbitCandleInterval.MONTHS:
        closed = opened + pd.DateOffset(months=1)
    else:
        closed = opened + pd.DateOffset(years=1)
    return int(closed.value)
