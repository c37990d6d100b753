"""Quotation REST payloads: ``/v1/market/all``, ``/v1/orderbook``, ``/v1/trades/ticks``, ``/v1/candles``."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.upbit.enums import UpbitEnumParser
from adapters.upbit.orderbook import RawBook
from adapters.upbit.orderbook import book_to_deltas
from adapters.upbit.orderbook import book_to_quote
from adapters.upbit.parsing import decimal_to_raw
from adapters.upbit.parsing import millis_to_nanos

_ENUMS = UpbitEnumParser()


class UpbitMarketCaution(msgspec.Struct, frozen=True):
    """``market_event.caution`` flags (true for any alert level since 2026-01-29)."""

    PRICE_FLUCTUATIONS: bool = False
    TRADING_VOLUME_SOARING: bool = False
    DEPOSIT_AMOUNT_SOARING: bool = False
    GLOBAL_PRICE_DIFFERENCES: bool = False
    CONCENTRATION_OF_SMALL_ACCOUNTS: bool = False


class UpbitMarketEvent(msgspec.Struct, frozen=True):
    """``market_event`` of ``/v1/market/all?is_details=true`` (Korea)."""

    warning: bool = False
    caution: UpbitMarketCaution = UpbitMarketCaution()


class UpbitMarketInfo(msgspec.Struct, frozen=True):
    """One row of ``GET /v1/market/all`` (a delisted pair simply disappears from the list)."""

    market: str
    korean_name: str | None = None
    english_name: str | None = None
    market_event: UpbitMarketEvent | None = None
    market_warning: str | None = None  # legacy regional sites: "NONE" | "CAUTION"

    @property
    def quote_currency(self) -> str:
        """Return the quote currency code (pair codes are ``QUOTE-BASE``)."""
        return self.market.partition("-")[0]

    @property
    def base_currency(self) -> str:
        """Return the base currency code."""
        return self.market.partition("-")[2]

    @property
    def has_warning(self) -> bool:
        """Return whether Upbit flags the market (``warning`` or any ``caution``)."""
        if self.market_warning is not None and self.market_warning != "NONE":
            return True
        if self.market_event is None:
            return False
        caution = self.market_event.caution
        return self.market_event.warning or any(getattr(caution, name) for name in caution.__struct_fields__)

    def info(self) -> dict[str, object]:
        """Return the row as plain JSON-able values for ``Instrument.info``."""
        return msgspec.to_builtins(self)


class UpbitOrderbookInstrument(msgspec.Struct, frozen=True):
    """One row of ``GET /v1/orderbook/instruments``: the authoritative tick size per pair."""

    market: str
    tick_size: Decimal
    quote_currency: str | None = None
    supported_levels: list[str] = []


class UpbitOrderbookUnit(msgspec.Struct, frozen=True):
    """One level pair: the i-th best bid and the i-th best ask (zero-padded when a side is thin)."""

    ask_price: Decimal
    bid_price: Decimal
    ask_size: Decimal
    bid_size: Decimal


class UpbitOrderbook(msgspec.Struct, frozen=True):
    """``GET /v1/orderbook`` row: up to 30 units, bids descending, asks ascending."""

    market: str
    timestamp: int
    orderbook_units: list[UpbitOrderbookUnit]
    total_ask_size: Decimal | None = None
    total_bid_size: Decimal | None = None
    level: Decimal | None = None

    def to_raw_book(self, price_precision: int, size_precision: int) -> RawBook:
        """Return the book in raw fixed-point values (exact; zero padding dropped)."""
        units = self.orderbook_units
        return RawBook.from_sides(
            [decimal_to_raw(u.bid_price, price_precision) for u in units],
            [decimal_to_raw(u.bid_size, size_precision) for u in units],
            [decimal_to_raw(u.ask_price, price_precision) for u in units],
            [decimal_to_raw(u.ask_size, size_precision) for u in units],
        )

    def parse_to_quote_tick(
        self,
        instrument_id: InstrumentId,
        price_precision: int,
        size_precision: int,
        ts_init: int,
    ) -> QuoteTick | None:
        """Return the top of book (``None`` when a side is empty)."""
        return book_to_quote(
            self.to_raw_book(price_precision, size_precision),
            instrument_id,
            price_precision,
            size_precision,
            millis_to_nanos(self.timestamp),
            ts_init,
        )

    def parse_to_order_book_deltas(
        self,
        instrument_id: InstrumentId,
        price_precision: int,
        size_precision: int,
        sequence: int,
        ts_init: int,
    ) -> OrderBookDeltas:
        """Return the book as a snapshot (``CLEAR`` + ``ADD`` per level)."""
        return book_to_deltas(
            self.to_raw_book(price_precision, size_precision),
            instrument_id,
            price_precision,
            size_precision,
            sequence,
            millis_to_nanos(self.timestamp),
            ts_init,
        )


class UpbitTicker(msgspec.Struct, frozen=True):
    """``GET /v1/ticker`` / ``/v1/ticker/all`` row (the fields the adapter uses)."""

    market: str
    trade_price: Decimal
    timestamp: int
    trade_timestamp: int | None = None
    opening_price: Decimal | None = None
    high_price: Decimal | None = None
    low_price: Decimal | None = None
    prev_closing_price: Decimal | None = None
    change: str | None = None
    trade_volume: Decimal | None = None
    acc_trade_price_24h: Decimal | None = None
    acc_trade_volume_24h: Decimal | None = None


class UpbitTrade(msgspec.Struct, frozen=True):
    """``GET /v1/trades/ticks`` row; ``sequential_id`` is unique but does not order trades."""

    market: str
    timestamp: int
    trade_price: Decimal
    trade_volume: Decimal
    ask_bid: str
    sequential_id: int
    trade_date_utc: str | None = None
    trade_time_utc: str | None = None
    prev_closing_price: Decimal | None = None
    change_price: Decimal | None = None

    def parse_to_trade_tick(
        self,
        instrument_id: InstrumentId,
        price_precision: int,
        size_precision: int,
        ts_init: int,
    ) -> TradeTick:
        """Return the trade as a ``TradeTick`` (trade id = ``sequential_id``)."""
        return TradeTick.from_raw(
            instrument_id,
            decimal_to_raw(self.trade_price, price_precision),
            price_precision,
            decimal_to_raw(self.trade_volume, size_precision),
            size_precision,
            _ENUMS.parse_aggressor_side(self.ask_bid),
            TradeId(str(self.sequential_id)),
            millis_to_nanos(self.timestamp),
            ts_init,
        )


class UpbitCandle(msgspec.Struct, frozen=True):
    """``GET /v1/candles/*`` row; ``candle_date_time_utc`` is the naive UTC start of the period."""

    market: str
    candle_date_time_utc: str
    opening_price: Decimal
    high_price: Decimal
    low_price: Decimal
    trade_price: Decimal
    timestamp: int
    candle_acc_trade_volume: Decimal
    candle_acc_trade_price: Decimal | None = None
    candle_date_time_kst: str | None = None
    unit: int | None = None
    first_day_of_period: str | None = None
    prev_closing_price: Decimal | None = None
    change_price: Decimal | None = None
    change_rate: Decimal | None = None

    def parse_to_bar(
        self,
        bar_type: BarType,
        price_precision: int,
        size_precision: int,
        ts_event: int,
        ts_init: int,
    ) -> Bar:
        """Return the candle as a ``Bar`` closing at ``ts_event``."""
        return Bar(
            bar_type=bar_type,
            open=Price.from_raw(decimal_to_raw(self.opening_price, price_precision), price_precision),
            high=Price.from_raw(decimal_to_raw(self.high_price, price_precision), price_precision),
            low=Price.from_raw(decimal_to_raw(self.low_price, price_precision), price_precision),
            close=Price.from_raw(decimal_to_raw(self.trade_price, price_precision), price_precision),
            volume=Quantity.from_raw(
                decimal_to_raw(self.candle_acc_trade_volume, size_precision),
                size_precision,
            ),
            ts_event=ts_event,
            ts_init=ts_init,
        )
