"""The real UpbitDataClient against the fake venue: one multiplexed socket, full-book replace, reconnect."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import msgspec
import pandas as pd
import pytest
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.data.messages import RequestBars
from nautilus_trader.data.messages import RequestQuoteTicks
from nautilus_trader.data.messages import RequestTradeTicks
from nautilus_trader.data.messages import SubscribeOrderBook
from nautilus_trader.data.messages import SubscribeQuoteTicks
from nautilus_trader.data.messages import SubscribeTradeTicks
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.identifiers import InstrumentId

from adapters.upbit.constants import UPBIT_VENUE
from tests.fakes.upbit import FakeUpbitServer
from tests.fakes.upbit import fixtures
from tests.fakes.upbit.server import java_number
from tests.integration.upbit.harness import command_kwargs
from tests.integration.upbit.harness import connected_data_client
from tests.integration.upbit.harness import make_data_client
from tests.integration.upbit.harness import sub_quotes
from tests.integration.upbit.harness import sub_trades
from tests.integration.upbit.harness import wait_for

pytestmark = pytest.mark.integration

BTC = InstrumentId.from_str("KRW-BTC.UPBIT")
ETH = InstrumentId.from_str("KRW-ETH.UPBIT")
XRP = InstrumentId.from_str("KRW-XRP.UPBIT")


def trade_ticks(received: list[object]) -> list[TradeTick]:
    return [d for d in received if isinstance(d, TradeTick)]


def quotes(received: list[object], instrument_id: InstrumentId | None = None) -> list[QuoteTick]:
    return [
        d for d in received if isinstance(d, QuoteTick) and (instrument_id is None or d.instrument_id == instrument_id)
    ]


async def _subscribe_three(client: object) -> None:
    await sub_quotes(client, BTC)  # type: ignore[attr-defined]
    await sub_quotes(client, XRP)  # type: ignore[attr-defined]
    await sub_trades(client, BTC)  # type: ignore[attr-defined]
    await client._subscribe_order_book_deltas(  # type: ignore[attr-defined]
        SubscribeOrderBook(
            instrument_id=ETH,
            book_data_type=OrderBookDelta,
            book_type=BookType.L2_MBP,
            **command_kwargs(),
        ),
    )


def test_three_markets_on_one_connection_quotes_books_and_trades() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            async with connected_data_client(fake, ["KRW-BTC.UPBIT", "KRW-ETH.UPBIT", "KRW-XRP.UPBIT"]) as (client, received):
                await _subscribe_three(client)
                await wait_for(
                    lambda: (
                        quotes(received, BTC)
                        and quotes(received, XRP)
                        and any(isinstance(d, OrderBookDeltas) for d in received)
                    )
                )
                assert len(fake.ws_connects) == 1  # every market on one socket
                assert fake.subscribed_codes("public", "orderbook") == {"KRW-BTC.1", "KRW-XRP.1", "KRW-ETH"}
                assert fake.subscribed_codes("public", "trade") == {"KRW-BTC"}
                # the last request carries the full set (a request replaces the set)
                last = fake.ws_requests[-1].payload
                assert {t["type"] for t in last[1:-1]} == {"orderbook", "trade"}
                assert last[-1] == {"format": "DEFAULT"}

                btc = quotes(received, BTC)[0]
                book = fixtures.recorded_book_units()
                assert btc.bid_price.as_decimal() == book[0]["bid_price"]
                assert btc.ask_size.as_decimal() == book[0]["ask_size"]
                snapshot = next(d for d in received if isinstance(d, OrderBookDeltas))
                assert snapshot.instrument_id == ETH
                assert snapshot.deltas[0].action == BookAction.CLEAR
                assert len(snapshot.deltas) == 61

                # a new frame replaces the book: CLEAR + only the new levels
                received.clear()
                units = [dict(u) for u in fake.exchange.markets["KRW-ETH"].book[:2]]
                await fake.publish_orderbook("KRW-ETH", units)
                await wait_for(lambda: any(isinstance(d, OrderBookDeltas) for d in received))
                replaced = next(d for d in received if isinstance(d, OrderBookDeltas))
                assert [d.action for d in replaced.deltas] == [BookAction.CLEAR] + [BookAction.ADD] * 4

                # trades are de-duplicated by sequential_id
                received.clear()
                await fake.publish_trade("KRW-BTC", "103460000", "0.01", "BID", sequential_id=42)
                await fake.publish_trade("KRW-BTC", "103460000", "0.01", "BID", sequential_id=42)
                await fake.publish_trade("KRW-BTC", "103461000", "0.02", "ASK", sequential_id=43)
                await fake.publish_trade("KRW-BTC", "103462000", "0.03", "ASK", sequential_id=44)
                # frames arrive in order on the one socket: once 44 is in, the duplicate had its chance
                await wait_for(lambda: any(isinstance(d, TradeTick) and d.trade_id.value == "44" for d in received))
                trades = [d for d in received if isinstance(d, TradeTick)]
                assert [t.trade_id.value for t in trades] == ["42", "43", "44"]
                assert client.ws_latency.count == sum(client.frame_counts.values()) - client.frame_counts["status"]
                assert not client.bad_frames

    asyncio.run(run())


def test_reconnects_after_a_drop_and_resends_the_full_set() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            async with connected_data_client(fake, ["KRW-BTC.UPBIT", "KRW-ETH.UPBIT", "KRW-XRP.UPBIT"]) as (client, received):
                await _subscribe_three(client)
                await wait_for(lambda: len(fake.subscribed_codes()) == 3)
                await fake.drop_connections("public")
                received.clear()
                await wait_for(lambda: len(fake.ws_connects) == 2 and len(fake.subscribed_codes()) == 3)
                await wait_for(lambda: bool(quotes(received, BTC)))
                second = [r for r in fake.ws_requests if r.connection == fake.ws_connects[1].id]
                assert len(second) == 1  # one request with everything, not one per market
                assert {c for t in second[0].payload[1:-1] for c in t["codes"]} == {
                    "KRW-BTC.1",
                    "KRW-XRP.1",
                    "KRW-ETH",
                    "KRW-BTC",
                }

    asyncio.run(run())


def test_rest_polling_keeps_quotes_flowing_while_the_socket_is_down() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            async with connected_data_client(
                fake,
                ["KRW-BTC.UPBIT"],
                rest_poll_interval_secs=0.1,
                reconnect_delay_initial_secs=0.2,
                reconnect_delay_max_secs=0.5,
            ) as (client, received):
                await client._subscribe_quote_ticks(SubscribeQuoteTicks(instrument_id=BTC, **command_kwargs()))
                await client._subscribe_trade_ticks(SubscribeTradeTicks(instrument_id=BTC, **command_kwargs()))
                await wait_for(lambda: bool(quotes(received, BTC)))
                fake.refuse_ws_connections = True  # an outage: upgrades fail until it ends
                await fake.drop_connections("public")
                await wait_for(lambda: not client.ws_client.is_connected)
                received.clear()
                book = [dict(u) for u in fake.exchange.markets["KRW-BTC"].book]
                book[0]["bid_price"] = Decimal("103470000")
                fake.exchange.set_book("KRW-BTC", book)
                await fake.publish_trade("KRW-BTC", "103470000", "0.5", "BID", sequential_id=777)
                await wait_for(lambda: any(q.bid_price.as_decimal() == Decimal("103470000") for q in quotes(received)))
                await wait_for(lambda: any(isinstance(d, TradeTick) and d.trade_id.value == "777" for d in received))
                # a REST book holding a value out of any price range is dropped; polling goes on
                book[0]["ask_price"] = Decimal("2E13")
                fake.exchange.set_book("KRW-BTC", book)
                polls = client.rest_polls
                await wait_for(lambda: client.rest_polls >= polls + 2)
                book[0]["ask_price"], book[0]["bid_price"] = Decimal("103490000"), Decimal("103480000")
                fake.exchange.set_book("KRW-BTC", book)
                await wait_for(lambda: any(q.bid_price.as_decimal() == Decimal("103480000") for q in quotes(received)))
                assert not any(q.ask_price.as_decimal() > Decimal("1E9") for q in quotes(received))
                assert client.rest_polls >= 1
                assert fake.requests_to("/v1/orderbook")
                assert not client.ws_client.is_connected
                fake.refuse_ws_connections = False
                await wait_for(lambda: client.ws_client.is_connected)
                polls = client.rest_polls
                await asyncio.sleep(0.3)
                assert client.rest_polls == polls  # polling stopped once the socket is back
                trades = [d for d in received if isinstance(d, TradeTick) and d.trade_id.value == "777"]
                assert len(trades) == 1  # the reconnect snapshot of the same trade is dropped

    asyncio.run(run())


def test_keepalive_holds_a_quiet_socket_open() -> None:
    async def run() -> None:
        # pings every 0.5 s (aiohttp wants each pong within half of that) against a 1.5 s idle cut-off
        async with FakeUpbitServer(ws_idle_timeout=1.5) as fake:
            async with connected_data_client(fake, ["KRW-BTC.UPBIT"], keepalive_secs=0.5) as (client, received):
                await client._subscribe_quote_ticks(SubscribeQuoteTicks(instrument_id=BTC, **command_kwargs()))
                await wait_for(lambda: bool(quotes(received, BTC)))
                await asyncio.sleep(3.5)  # > 2 idle timeouts without any market data
                assert len(fake.ws_connects) == 1
                assert client.ws_client.is_connected

    asyncio.run(run())


def test_malformed_unknown_and_error_frames_are_counted_not_raised() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            async with connected_data_client(fake, ["KRW-BTC.UPBIT"]) as (client, received):
                await client._subscribe_quote_ticks(SubscribeQuoteTicks(instrument_id=BTC, **command_kwargs()))
                await wait_for(lambda: bool(quotes(received, BTC)))
                await fake.send_raw(
                    b'{"type":"orderbook","code":"KRW-BTC","timestamp":1,"orderbook_units":[{"ask_price":"x"}]}'
                )
                await fake.send_raw(b'{"type":"orderbook","code":"KRW-BTC","timest')  # truncated
                await fake.send_raw(b"\x00\xffnot json")
                await fake.send_raw(b'{"type":"candle.1s","code":"KRW-BTC","timestamp":1}')  # unknown type
                await fake.send_raw(fixtures.raw("ws_trade_default_live.json").replace(b"KRW-BTC", b"KRW-DOGE"))
                await fake.send_raw(fixtures.raw("ws_status_up.json"))
                await fake.send_raw(fixtures.raw("ws_error_invalid_param.json"))
                received.clear()
                await fake.publish_orderbook("KRW-BTC")
                await wait_for(lambda: bool(quotes(received, BTC)))  # still working
                assert client.bad_frames[("orderbook", "KRW-BTC")] == 2
                assert client.bad_frames[("candle.1s", "KRW-BTC")] == 1
                assert client.bad_frames[("?", "?")] == 1
                assert client.bad_frames[("trade", "KRW-DOGE")] == 1
                assert client.frame_counts["status"] == 1
                assert client.ws_errors == [("INVALID_PARAM", "nope 은 지원하지 않는 타입입니다.")]

    asyncio.run(run())


def test_a_book_locked_at_the_instruments_precision_is_not_emitted_and_reloads_instruments() -> None:
    # A tick band finer than the loaded precision turns two prices into one (bid 100.4 / ask 100.45 at
    # precision 0: both 100): that book and its quote are not emitted, and the instruments are reloaded
    locked = (
        b'{"type":"orderbook","code":"KRW-BTC","timestamp":%d,"stream_type":"REALTIME","orderbook_units":'
        b'[{"ask_price":100.45,"bid_price":100.4,"ask_size":1.0,"bid_size":1.0}]}'
    )

    async def run() -> None:
        async with FakeUpbitServer() as fake:
            async with connected_data_client(fake, ["KRW-BTC.UPBIT"]) as (client, received):
                await client._subscribe_quote_ticks(SubscribeQuoteTicks(instrument_id=BTC, **command_kwargs()))
                await wait_for(lambda: bool(quotes(received, BTC)))
                loads = len(fake.requests_to("/v1/market/all"))
                state = client._markets["KRW-BTC"]
                state.set_precisions(0, state.size_precision)
                received.clear()
                await fake.send_raw(locked % (state.last_book_ts + 1))
                await wait_for(lambda: client.frame_counts.get("locked") == 1)
                await wait_for(lambda: len(fake.requests_to("/v1/market/all")) > loads)  # reloaded at once
                assert quotes(received, BTC) == []
                assert not client.bad_frames

    asyncio.run(run())


def _without_ts_init(value: object) -> object:
    """The data as a dict without ``ts_init`` (the clock's at receipt), at every level."""
    if isinstance(value, dict):
        return {k: _without_ts_init(v) for k, v in value.items() if k != "ts_init"}
    if isinstance(value, list):
        return [_without_ts_init(v) for v in value]
    return value


def test_the_compiled_and_the_python_path_emit_the_same_data(monkeypatch: pytest.MonkeyPatch) -> None:
    # Upbit's frames as the fake writes them (Java number forms; 30, 15 and 1 units; a padded thin side),
    # through the real handler once with the compiled parser and once without it
    book = fixtures.recorded_book_units()
    thin = [{**u, "ask_price": Decimal(0), "ask_size": Decimal(0)} if i > 2 else u for i, u in enumerate(book)]
    frames = [
        msgspec.json.encode(
            {
                "type": "orderbook",
                "code": "KRW-BTC",
                "timestamp": 1_790_134_742_106 + i,
                "orderbook_units": [
                    {k: java_number(u[k]) for k in ("ask_price", "bid_price", "ask_size", "bid_size")} for u in units
                ],
                "stream_type": "REALTIME",
            },
        )
        for i, units in enumerate([book, book[:15], book[:1], thin])
    ]

    async def emitted(pure_python: bool) -> tuple[list[object], int]:
        if pure_python:
            monkeypatch.setenv("ARB_UPBIT_PURE_PYTHON", "1")
        else:
            monkeypatch.delenv("ARB_UPBIT_PURE_PYTHON", raising=False)
        async with FakeUpbitServer() as fake:
            client, received = make_data_client(fake, ["KRW-BTC.UPBIT"])
            await client._instrument_provider.initialize()
            state = await client._market_state(BTC)
            assert state is not None
            state.wants_quotes = state.wants_book = True
            for frame in frames:
                client._handle_ws_message(frame)
            await client._http_client.close()
        assert not client.bad_frames
        return [_without_ts_init(type(d).to_dict(d)) for d in received], client.python_path_books

    compiled, python = asyncio.run(emitted(False)), asyncio.run(emitted(True))
    assert len(compiled[0]) == 8  # a quote and a snapshot per frame
    assert compiled[0] == python[0]
    assert (compiled[1], python[1]) == (0, len(frames))


def test_book_depths_of_several_subscribers_and_out_of_range_values(monkeypatch: pytest.MonkeyPatch) -> None:
    def subscribe(depth: int) -> SubscribeOrderBook:
        return SubscribeOrderBook(
            instrument_id=BTC, book_data_type=OrderBookDelta, book_type=BookType.L2_MBP, depth=depth,
            **command_kwargs(),
        )

    async def run() -> None:
        async with FakeUpbitServer() as fake:
            client, received = make_data_client(fake, ["KRW-BTC.UPBIT"])
            await client._instrument_provider.initialize()
            state = await client._market_state(BTC)
            assert state is not None
            client._resubscribe = lambda: None  # no socket here: only the depth bookkeeping is under test
            await client._subscribe_order_book_deltas(subscribe(-1))  # NautilusTrader lets it through
            assert state.book_depth == 0  # every level, not "all but the last"
            await client._subscribe_order_book_deltas(subscribe(5))
            assert state.book_depth == 0  # the first subscriber still wants every level
            state.wants_book, state.book_depth = False, 0
            await client._subscribe_order_book_deltas(subscribe(5))
            await client._subscribe_order_book_deltas(subscribe(10))
            assert state.book_depth == 10  # the deepest of the two
            # a value beyond NautilusTrader's range (2e13 KRW) on either path: counted as a bad frame, never
            # handed to NautilusTrader's core (which would abort the process)
            frame = (
                b'{"type":"orderbook","code":"KRW-BTC","timestamp":1790134742106,"stream_type":"REALTIME",'
                b'"orderbook_units":[{"ask_price":2E13,"bid_price":1.0E8,"ask_size":1.0,"bid_size":1.0}]}'
            )
            client._handle_ws_message(frame)
            assert sum(client.bad_frames.values()) == 1 and received == []
            await client._http_client.close()

    asyncio.run(run())
    monkeypatch.setenv("ARB_UPBIT_PURE_PYTHON", "1")
    asyncio.run(run())


def test_unknown_market_is_not_subscribed_and_reported() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            async with connected_data_client(fake, ["KRW-BTC.UPBIT"]) as (client, received):
                nope = InstrumentId.from_str("KRW-NOPE.UPBIT")
                await client._subscribe_quote_ticks(SubscribeQuoteTicks(instrument_id=nope, **command_kwargs()))
                await client._subscribe_quote_ticks(SubscribeQuoteTicks(instrument_id=BTC, **command_kwargs()))
                await wait_for(lambda: bool(quotes(received, BTC)))
                assert fake.subscribed_codes() == {"KRW-BTC.1"}
                assert "KRW-NOPE" not in client._markets

    asyncio.run(run())


def test_requests_bars_trades_and_current_quote() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            client, _ = make_data_client(fake, ["KRW-BTC.UPBIT"])
            responses: dict[str, list[object]] = {}
            client._handle_bars = lambda bar_type, bars, *a: responses.setdefault("bars", bars)  # type: ignore[method-assign]
            client._handle_trade_ticks = lambda i, ticks, *a: responses.setdefault("trades", ticks)  # type: ignore[method-assign]
            client._handle_quote_ticks = lambda i, ticks, *a: responses.setdefault("quotes", ticks)  # type: ignore[method-assign]
            await client._connect()
            try:
                bar_type = BarType.from_str("KRW-BTC.UPBIT-1-MINUTE-LAST-EXTERNAL")
                await client._request_bars(
                    RequestBars(
                        bar_type=bar_type,
                        start=pd.Timestamp("2026-03-11T00:00:00Z"),
                        end=None,
                        limit=0,
                        client_id=None,
                        venue=UPBIT_VENUE,
                        callback=None,
                        request_id=UUID4(),
                        ts_init=0,
                        params=None,
                    ),
                )
                (bar,) = responses["bars"]
                assert str(bar.close) == "103460000"
                assert bar.ts_event == pd.Timestamp("2026-03-11T14:41:00Z").value  # candle start + 1 minute
                await client._request_trade_ticks(
                    RequestTradeTicks(
                        instrument_id=BTC,
                        start=None,
                        end=None,
                        limit=10,
                        client_id=None,
                        venue=UPBIT_VENUE,
                        callback=None,
                        request_id=UUID4(),
                        ts_init=0,
                        params=None,
                    ),
                )
                (trade,) = responses["trades"]
                assert trade.trade_id.value == "17732400590950000"
                await client._request_quote_ticks(
                    RequestQuoteTicks(
                        instrument_id=BTC,
                        start=None,
                        end=None,
                        limit=1,
                        client_id=None,
                        venue=UPBIT_VENUE,
                        callback=None,
                        request_id=UUID4(),
                        ts_init=0,
                        params=None,
                    ),
                )
                (quote,) = responses["quotes"]
                assert str(quote.ask_price) == "103493000"
            finally:
                await client._disconnect()
                await client._http_client.close()

    asyncio.run(run())


def test_a_market_that_never_sends_data_is_reported() -> None:
    async def run() -> None:
        async with FakeUpbitServer() as fake:
            client, received = make_data_client(fake, ["KRW-BTC.UPBIT", "KRW-XRP.UPBIT"], snapshot_timeout_secs=0.3)
            await client._connect()
            try:
                fake.exchange.delist("KRW-XRP")  # delisted after instruments loaded: Upbit stays silent
                await sub_quotes(client, BTC)
                await sub_quotes(client, XRP)
                await wait_for(lambda: client._markets["KRW-XRP"].warned_silent)
                assert not client._markets["KRW-BTC"].warned_silent
                assert quotes(received, BTC)
            finally:
                await client._disconnect()

    asyncio.run(run())
