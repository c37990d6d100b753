"""
WebSocket payloads (upbit-api.md §6): public ``orderbook``/``trade``/``ticker`` in ``DEFAULT`` and ``SIMPLE``
format, private ``myOrder``/``myAsset``, and the ``{"status":"UP"}`` / ``{"error":{...}}`` control frames.

Frames arrive as binary WebSocket frames of UTF-8 JSON. Numbers are JSON numbers, sometimes in exponent
form or with more digits than float64: every price/size/amount field is a ``Decimal``. The public types are
tagged on ``type`` (DEFAULT) or ``ty`` (SIMPLE) so one typed decoder dispatches a frame in one pass; the
SIMPLE structs keep the DEFAULT attribute names, so the same parsing code serves both formats.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.objects import AccountBalance

from adapters.upbit.enums import UpbitEnumParser
from adapters.upbit.parsing import decimal_to_raw
from adapters.upbit.parsing import millis_to_nanos
from adapters.upbit.schemas.account import parse_account_balance
from adapters.upbit.schemas.error import UpbitErrorDetail

_ENUMS = UpbitEnumParser()


# -- orderbook --------------------------------------------------------------------------------------------
class UpbitWsOrderbookUnit(msgspec.Struct, frozen=True):
    """
    One unit of an orderbook frame (DEFAULT format), its numbers as the JSON tokens Upbit wrote.

    ``adapters.upbit.orderbook`` turns the tokens into exact fixed-point values; this Struct decodes the
    units arrays that do not have Upbit's usual layout.
    """

    ask_price: msgspec.Raw
    bid_price: msgspec.Raw
    ask_size: msgspec.Raw
    bid_size: msgspec.Raw


class UpbitWsOrderbook(msgspec.Struct, frozen=True, tag_field="type", tag="orderbook"):
    """
    A full book (every frame replaces the book: no deltas, no sequence, no checksum).

    ``orderbook_units`` stays raw JSON (checked by msgspec) for ``adapters.upbit.orderbook`` to split
    into number tokens in bulk; ``total_ask_size``, ``total_bid_size`` and ``level`` are skipped. This is
    the hot path.
    """

    code: str
    timestamp: int
    orderbook_units: msgspec.Raw
    stream_type: str | None = None


class UpbitWsOrderbookUnitSimple(
    msgspec.Struct,
    frozen=True,
    rename={"ask_price": "ap", "bid_price": "bp", "ask_size": "as", "bid_size": "bs"},
):
    """One unit of an orderbook frame (SIMPLE format), its numbers as JSON tokens."""

    ask_price: msgspec.Raw
    bid_price: msgspec.Raw
    ask_size: msgspec.Raw
    bid_size: msgspec.Raw


class UpbitWsOrderbookSimple(
    msgspec.Struct,
    frozen=True,
    tag_field="ty",
    tag="orderbook",
    rename={
        "code": "cd",
        "timestamp": "tms",
        "orderbook_units": "obu",
        "stream_type": "st",
    },
):
    """A full book in SIMPLE format (``tas``, ``tbs``, ``lv`` skipped like in DEFAULT)."""

    code: str
    timestamp: int
    orderbook_units: msgspec.Raw
    stream_type: str | None = None


DEFAULT_UNIT_KEYS = ("ask_price", "bid_price", "ask_size", "bid_size")
SIMPLE_UNIT_KEYS = ("ap", "bp", "as", "bs")


# -- trade ------------------------------------------------------------------------------------------------
def _trade_to_tick(
    msg: UpbitWsTrade | UpbitWsTradeSimple,
    instrument_id: InstrumentId,
    price_precision: int,
    size_precision: int,
    ts_init: int,
) -> TradeTick:
    return TradeTick.from_raw(
        instrument_id,
        decimal_to_raw(msg.trade_price, price_precision),
        price_precision,
        decimal_to_raw(msg.trade_volume, size_precision),
        size_precision,
        _ENUMS.parse_aggressor_side(msg.ask_bid),
        TradeId(str(msg.sequential_id)),
        millis_to_nanos(msg.trade_timestamp or msg.timestamp),
        ts_init,
    )


class UpbitWsTrade(msgspec.Struct, frozen=True, tag_field="type", tag="trade"):
    """A trade frame; ``sequential_id`` identifies the trade (same id on REST), but does not order it."""

    code: str
    timestamp: int
    trade_price: Decimal
    trade_volume: Decimal
    ask_bid: str
    sequential_id: int
    trade_timestamp: int | None = None
    trade_date: str | None = None
    trade_time: str | None = None
    prev_closing_price: Decimal | None = None
    change: str | None = None
    change_price: Decimal | None = None
    best_ask_price: Decimal | None = None
    best_ask_size: Decimal | None = None
    best_bid_price: Decimal | None = None
    best_bid_size: Decimal | None = None
    stream_type: str | None = None

    def parse_to_trade_tick(
        self,
        instrument_id: InstrumentId,
        price_precision: int,
        size_precision: int,
        ts_init: int,
    ) -> TradeTick:
        """Return the trade as a ``TradeTick`` (trade id = ``sequential_id``)."""
        return _trade_to_tick(self, instrument_id, price_precision, size_precision, ts_init)


class UpbitWsTradeSimple(
    msgspec.Struct,
    frozen=True,
    tag_field="ty",
    tag="trade",
    rename={
        "code": "cd",
        "timestamp": "tms",
        "trade_price": "tp",
        "trade_volume": "tv",
        "ask_bid": "ab",
        "sequential_id": "sid",
        "trade_timestamp": "ttms",
        "trade_date": "td",
        "trade_time": "ttm",
        "prev_closing_price": "pcp",
        "change": "c",
        "change_price": "cp",
        "best_ask_price": "bap",
        "best_ask_size": "bas",
        "best_bid_price": "bbp",
        "best_bid_size": "bbs",
        "stream_type": "st",
    },
):
    """A trade frame in SIMPLE format."""

    code: str
    timestamp: int
    trade_price: Decimal
    trade_volume: Decimal
    ask_bid: str
    sequential_id: int
    trade_timestamp: int | None = None
    trade_date: str | None = None
    trade_time: str | None = None
    prev_closing_price: Decimal | None = None
    change: str | None = None
    change_price: Decimal | None = None
    best_ask_price: Decimal | None = None
    best_ask_size: Decimal | None = None
    best_bid_price: Decimal | None = None
    best_bid_size: Decimal | None = None
    stream_type: str | None = None

    def parse_to_trade_tick(
        self,
        instrument_id: InstrumentId,
        price_precision: int,
        size_precision: int,
        ts_init: int,
    ) -> TradeTick:
        """Return the trade as a ``TradeTick`` (trade id = ``sequential_id``)."""
        return _trade_to_tick(self, instrument_id, price_precision, size_precision, ts_init)


# -- ticker -----------------------------------------------------------------------------------------------
class UpbitWsTicker(msgspec.Struct, frozen=True, tag_field="type", tag="ticker"):
    """A ticker frame (the fields the adapter reads: market state and a scheduled delisting)."""

    code: str
    timestamp: int
    trade_price: Decimal | None = None
    market_state: str | None = None  # PREVIEW | ACTIVE | DELISTED
    delisting_date: str | None = None  # null, "" or a date
    trade_timestamp: int | None = None
    stream_type: str | None = None


class UpbitWsTickerSimple(
    msgspec.Struct,
    frozen=True,
    tag_field="ty",
    tag="ticker",
    rename={
        "code": "cd",
        "timestamp": "tms",
        "trade_price": "tp",
        "market_state": "ms",
        "delisting_date": "dd",
        "trade_timestamp": "ttms",
        "stream_type": "st",
    },
):
    """A ticker frame in SIMPLE format."""

    code: str
    timestamp: int
    trade_price: Decimal | None = None
    market_state: str | None = None
    delisting_date: str | None = None
    trade_timestamp: int | None = None
    stream_type: str | None = None


UpbitWsPublicMsg = UpbitWsOrderbook | UpbitWsTrade | UpbitWsTicker
UpbitWsPublicMsgSimple = UpbitWsOrderbookSimple | UpbitWsTradeSimple | UpbitWsTickerSimple


# -- private ----------------------------------------------------------------------------------------------
class UpbitWsMyOrder(msgspec.Struct, frozen=True, tag_field="type", tag="myOrder"):
    """
    A ``myOrder`` event (realtime only, on every order change).

    With ``state == "trade"`` the frame is one fill: ``price``/``volume`` are the fill's price and volume,
    ``trade_uuid`` identifies it, ``trade_fee`` and ``is_maker`` are set. Otherwise ``price``/``volume`` are
    the order's.
    """

    code: str
    uuid: str
    ask_bid: str
    order_type: str
    state: str
    timestamp: int
    price: Decimal | None = None
    avg_price: Decimal | None = None
    volume: Decimal | None = None
    remaining_volume: Decimal | None = None
    executed_volume: Decimal | None = None
    trades_count: int | None = None
    reserved_fee: Decimal | None = None
    remaining_fee: Decimal | None = None
    paid_fee: Decimal | None = None
    locked: Decimal | None = None
    executed_funds: Decimal | None = None
    time_in_force: str | None = None
    trade_uuid: str | None = None
    trade_fee: Decimal | None = None
    is_maker: bool | None = None
    identifier: str | None = None
    smp_type: str | None = None
    prevented_volume: Decimal | None = None
    prevented_locked: Decimal | None = None
    trade_timestamp: int | None = None
    order_timestamp: int | None = None
    stream_type: str | None = None


class UpbitWsAsset(msgspec.Struct, frozen=True):
    """One currency of a ``myAsset`` event (balance = free, locked = in orders)."""

    currency: str
    balance: Decimal
    locked: Decimal

    def parse_to_account_balance(self) -> AccountBalance:
        """Return the asset as an ``AccountBalance``."""
        return parse_account_balance(self.currency, self.balance, self.locked)


class UpbitWsMyAsset(msgspec.Struct, frozen=True, tag_field="type", tag="myAsset"):
    """A ``myAsset`` event: balances that changed (sent on change only)."""

    assets: list[UpbitWsAsset]
    timestamp: int
    asset_uuid: str | None = None
    asset_timestamp: int | None = None
    stream_type: str | None = None


UpbitWsPrivateMsg = UpbitWsMyOrder | UpbitWsMyAsset


# -- control frames ---------------------------------------------------------------------------------------
class UpbitWsStatus(msgspec.Struct, frozen=True):
    """``{"status":"UP"}``: the keepalive answer to a text ``PING`` (not market data)."""

    status: str


class UpbitWsControl(msgspec.Struct, frozen=True):
    """A non-data frame: either a status or an error (a WS error frame is followed by a close)."""

    status: str | None = None
    error: UpbitErrorDetail | None = None
