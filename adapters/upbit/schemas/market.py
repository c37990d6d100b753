"""Quotation REST payloads: ``/v1/market/all``, ``/v1/orderbook``, ``/v1/trades/ticks``, ``/v1/candles``."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import BarType
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import OrderBookDeltas
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.upbit.enums import UpbitEnumParser
from adapters.upbit.parsing import POW10
from adapters.upbit.parsing import SCALE
from adapters.upbit.parsing import decimal_to_raw
from adapters.upbit.parsing import millis_to_nanos
from adapters.upbit.parsing import round_units

_ENUMS = UpbitEnumParser()
_ADD = BookAction.ADD
_CLEAR = BookAction.CLEAR
_NO_SIDE = OrderSide.NO_ORDER_SIDE
_BUY = OrderSide.BUY
_SELL = OrderSide.SELL
_F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)
_F_LAST_SNAPSHOT = int(RecordFlag.F_SNAPSHOT) | int(RecordFlag.F_LAST)


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


def units_to_quote_tick(
    units: list[UpbitOrderbookUnit],
    instrument_id: InstrumentId,
    price_precision: int,
    size_precision: int,
    ts_event: int,
    ts_init: int,
) -> QuoteTick | None:
    """Return the top of book as a ``QuoteTick``; ``None`` when a side is empty (zero padding)."""
    if not units:
        return None
    top = units[0]
    if not (top.bid_price and top.ask_price and top.bid_size and top.ask_size):
        return None
    return QuoteTick.from_raw(
        instrument_id,
        decimal_to_raw(top.bid_price, price_precision),
        decimal_to_raw(top.ask_price, price_precision),
        price_precision,
        price_precision,
        decimal_to_raw(top.bid_size, size_precision),
        decimal_to_raw(top.ask_size, size_precision),
        size_precision,
        size_precision,
        ts_event,
        ts_init,
    )


def units_to_snapshot(
    units: list[UpbitOrderbookUnit],
    instrument_id: InstrumentId,
    price_precision: int,
    size_precision: int,
    sequence: int,
    ts_event: int,
    ts_init: int,
) -> OrderBookDeltas:
    """
    Return the whole book as snapshot ``OrderBookDeltas``: ``CLEAR`` then one ``ADD`` per level.

    Upbit sends the full book on every frame with no sequence or checksum, so the book is replaced, never
    merged; zero price/size padding levels are dropped. Prices and sizes go to fixed-point exactly as in
    :func:`decimal_to_raw` (inlined here: this runs for every level of every frame).
    """
    from_raw = OrderBookDelta.from_raw
    p_pow, p_scale = POW10[price_precision], SCALE[price_precision]
    s_pow, s_scale = POW10[size_precision], SCALE[size_precision]
    deltas: list[OrderBookDelta] = []
    append = deltas.append
    pending: tuple[OrderSide, int, int] | None = None
    for unit in units:
        for side, price, size in (
            (_BUY, unit.bid_price, unit.bid_size),
            (_SELL, unit.ask_price, unit.ask_size),
        ):
            if not (price and size):
                continue  # zero padding of a thin side
            scaled = price * p_pow
            price_units = int(scaled)
            if price_units != scaled:
                price_units = round_units(price, price_precision)
            scaled = size * s_pow
            size_units = int(scaled)
            if size_units != scaled:
                size_units = round_units(size, size_precision)
            if pending is not None:
                append(
                    from_raw(
                        instrument_id,
                        _ADD,
                        pending[0],
                        pending[1],
                        price_precision,
                        pending[2],
                        size_precision,
                        0,
                        _F_SNAPSHOT,
                        sequence,
                        ts_event,
                        ts_init,
                    ),
                )
            pending = (side, price_units * p_scale, size_units * s_scale)
    clear = from_raw(
        instrument_id,
        _CLEAR,
        _NO_SIDE,
        0,
        price_precision,
        0,
        size_precision,
        0,
        _F_SNAPSHOT if pending is not None else _F_LAST_SNAPSHOT,
        sequence,
        ts_event,
        ts_init,
    )
    if pending is not None:
        append(
            from_raw(
                instrument_id,
                _ADD,
                pending[0],
                pending[1],
                price_precision,
                pending[2],
                size_precision,
                0,
                _F_LAST_SNAPSHOT,
                sequence,
                ts_event,
                ts_init,
            ),
        )
    deltas.insert(0, clear)
    return OrderBookDeltas(instrument_id, deltas)


class UpbitOrderbook(msgspec.Struct, frozen=True):
    """``GET /v1/orderbook`` row: up to 30 units, bids descending, asks ascending."""

    market: str
    timestamp: int
    orderbook_units: list[UpbitOrderbookUnit]
    total_ask_size: Decimal | None = None
    total_bid_size: Decimal | None = None
    level: Decimal | None = None

    def parse_to_quote_tick(
        self,
        instrument_id: InstrumentId,
        price_precision: int,
        size_precision: int,
        ts_init: int,
    ) -> QuoteTick | None:
        """Return the top of book (``None`` when a side is empty)."""
        return units_to_quote_tick(
            self.orderbook_units,
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
        return units_to_snapshot(
            self.orderbook_units,
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
