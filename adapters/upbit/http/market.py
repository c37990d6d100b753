"""Quotation endpoints (public, metered per IP): markets, tick sizes, tickers, books, trades, candles."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from adapters.upbit.enums import UPBIT_MINUTE_UNITS
from adapters.upbit.enums import UpbitCandleInterval
from adapters.upbit.http.client import UpbitHttpClient
from adapters.upbit.http.client import decode
from adapters.upbit.schemas.market import UpbitCandle
from adapters.upbit.schemas.market import UpbitMarketInfo
from adapters.upbit.schemas.market import UpbitOrderbook
from adapters.upbit.schemas.market import UpbitOrderbookInstrument
from adapters.upbit.schemas.market import UpbitTicker
from adapters.upbit.schemas.market import UpbitTrade


class UpbitMarketHttpAPI:
    """
    Provides access to the Upbit quotation REST API.

    Parameters
    ----------
    client : UpbitHttpClient
        The Upbit HTTP client.

    """

    def __init__(self, client: UpbitHttpClient) -> None:
        self.client = client
        self._dec_markets = msgspec.json.Decoder(list[UpbitMarketInfo])
        self._dec_instruments = msgspec.json.Decoder(list[UpbitOrderbookInstrument])
        self._dec_tickers = msgspec.json.Decoder(list[UpbitTicker])
        self._dec_orderbooks = msgspec.json.Decoder(list[UpbitOrderbook])
        self._dec_trades = msgspec.json.Decoder(list[UpbitTrade])
        self._dec_candles = msgspec.json.Decoder(list[UpbitCandle])

    async def query_markets(self, is_details: bool = True) -> list[UpbitMarketInfo]:
        """``GET /v1/market/all``: every listed pair (with ``market_event`` flags when ``is_details``)."""
        raw = await self.client.send_request(
            "GET",
            "/v1/market/all",
            {"is_details": is_details},
            group="market",
        )
        return decode(self._dec_markets, raw, "GET /v1/market/all")

    async def query_orderbook_instruments(self, markets: Sequence[str]) -> list[UpbitOrderbookInstrument]:
        """``GET /v1/orderbook/instruments``: the tick size per pair."""
        raw = await self.client.send_request(
            "GET",
            "/v1/orderbook/instruments",
            {"markets": list(markets)},
            group="orderbook",
        )
        return decode(self._dec_instruments, raw, "GET /v1/orderbook/instruments")

    async def query_tickers(self, markets: Sequence[str]) -> list[UpbitTicker]:
        """``GET /v1/ticker`` (one unknown code fails the whole call with 404 ``Code not found``)."""
        raw = await self.client.send_request("GET", "/v1/ticker", {"markets": list(markets)}, group="ticker")
        return decode(self._dec_tickers, raw, "GET /v1/ticker")

    async def query_tickers_by_quote(self, quote_currencies: Sequence[str]) -> list[UpbitTicker]:
        """``GET /v1/ticker/all``: every pair of the given quote markets."""
        raw = await self.client.send_request(
            "GET",
            "/v1/ticker/all",
            {"quote_currencies": list(quote_currencies)},
            group="ticker",
        )
        return decode(self._dec_tickers, raw, "GET /v1/ticker/all")

    async def query_orderbooks(self, markets: Sequence[str], count: int | None = None) -> list[UpbitOrderbook]:
        """``GET /v1/orderbook``: the current books (up to 30 units, ``count`` 1-30)."""
        raw = await self.client.send_request(
            "GET",
            "/v1/orderbook",
            {"markets": list(markets), "count": count},
            group="orderbook",
        )
        return decode(self._dec_orderbooks, raw, "GET /v1/orderbook")

    async def query_trades(
        self,
        market: str,
        count: int = 100,
        cursor: int | None = None,
        to: str | None = None,
        days_ago: int | None = None,
    ) -> list[UpbitTrade]:
        """``GET /v1/trades/ticks``: recent trades, newest first (``count`` <= 500)."""
        raw = await self.client.send_request(
            "GET",
            "/v1/trades/ticks",
            {"market": market, "count": count, "cursor": cursor, "to": to, "days_ago": days_ago},
            group="crix-trades",
        )
        return decode(self._dec_trades, raw, "GET /v1/trades/ticks")

    async def query_candles(
        self,
        market: str,
        interval: UpbitCandleInterval,
        unit: int | None = None,
        to: str | None = None,
        count: int = 200,
    ) -> list[UpbitCandle]:
        """
        ``GET /v1/candles/{interval}[/{unit}]``: up to 200 candles before ``to`` (exclusive), newest first.

        Only periods with trades produce candles (gaps are possible).
        """
        path = f"/v1/candles/{interval.value}"
        if interval == UpbitCandleInterval.MINUTES:
            if unit not in UPBIT_MINUTE_UNITS:
                raise ValueError(f"minute candle unit {unit} not one of {UPBIT_MINUTE_UNITS}")
            path += f"/{unit}"
        raw = await self.client.send_request(
            "GET",
            path,
            {"market": market, "to": to, "count": count},
            group="candles",
        )
        return decode(self._dec_candles, raw, f"GET {path}")
