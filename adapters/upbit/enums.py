"""Upbit protocol enums and their mapping onto NautilusTrader enums."""

from __future__ import annotations

from enum import Enum
from enum import unique

from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.enums import TimeInForce


@unique
class UpbitJwtAlgorithm(Enum):
    """JWT signing algorithm: the docs recommend HS512; HS256 still verifies."""

    HS512 = "HS512"
    HS256 = "HS256"


@unique
class UpbitOrderSide(Enum):
    """REST order side: ``bid`` buys, ``ask`` sells."""

    BID = "bid"
    ASK = "ask"


@unique
class UpbitOrderType(Enum):
    """``ord_type``: ``price`` is a market buy for a quote amount, ``market`` a market sell by volume."""

    LIMIT = "limit"
    PRICE = "price"
    MARKET = "market"
    BEST = "best"


@unique
class UpbitOrderState(Enum):
    """Order states; ``trade`` and ``prevented`` appear on the private ``myOrder`` stream only."""

    WAIT = "wait"
    WATCH = "watch"
    DONE = "done"
    CANCEL = "cancel"
    TRADE = "trade"
    PREVENTED = "prevented"


@unique
class UpbitTimeInForce(Enum):
    """``time_in_force`` of a limit or best-price order (absent means GTC)."""

    IOC = "ioc"
    FOK = "fok"
    POST_ONLY = "post_only"


@unique
class UpbitCandleInterval(Enum):
    """REST candle endpoints (path below ``/v1/candles``)."""

    SECONDS = "seconds"
    MINUTES = "minutes"
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"
    YEARS = "years"


UPBIT_MINUTE_UNITS: tuple[int, ...] = (1, 3, 5, 10, 15, 30, 60, 240)


class UpbitEnumParser:
    """Translate between Upbit and NautilusTrader enums (one home for every mapping)."""

    def parse_upbit_order_side(self, side: UpbitOrderSide | str) -> OrderSide:
        value = side.value if isinstance(side, UpbitOrderSide) else side.lower()
        if value == "bid":
            return OrderSide.BUY
        if value == "ask":
            return OrderSide.SELL
        raise ValueError(f"unknown Upbit order side {side!r} (expected bid|ask)")

    def parse_nautilus_order_side(self, side: OrderSide) -> UpbitOrderSide:
        if side == OrderSide.BUY:
            return UpbitOrderSide.BID
        if side == OrderSide.SELL:
            return UpbitOrderSide.ASK
        raise ValueError(f"cannot map order side {side} to Upbit")

    def parse_aggressor_side(self, ask_bid: str) -> AggressorSide:
        # ``ask_bid`` names the taker side: BID = someone bought at the ask [D-faq-order]
        if ask_bid == "BID":
            return AggressorSide.BUYER
        if ask_bid == "ASK":
            return AggressorSide.SELLER
        return AggressorSide.NO_AGGRESSOR

    def parse_order_type(self, ord_type: UpbitOrderType) -> OrderType:
        # ``best`` (best-price IOC/FOK) is the venue's marketable order: a MARKET order with IOC/FOK here
        return OrderType.LIMIT if ord_type == UpbitOrderType.LIMIT else OrderType.MARKET

    def parse_time_in_force(self, tif: UpbitTimeInForce | str | None) -> TimeInForce:
        value = tif.value if isinstance(tif, UpbitTimeInForce) else tif
        if value == "ioc":
            return TimeInForce.IOC
        if value == "fok":
            return TimeInForce.FOK
        return TimeInForce.GTC  # absent or post_only

    def parse_order_status(
        self,
        state: UpbitOrderState,
        executed_volume_positive: bool,
        fully_executed: bool,
    ) -> OrderStatus:
        """
        Map an order state onto an ``OrderStatus``.

        ``cancel`` with executed volume is a fill: a market buy (``ord_type=price``) normally ends in
        ``cancel`` once the leftover quote amount cannot buy one more 1e-8 unit (upbit-api.md §1.3).
        """
        if state in (UpbitOrderState.WAIT, UpbitOrderState.WATCH, UpbitOrderState.TRADE):
            return OrderStatus.PARTIALLY_FILLED if executed_volume_positive else OrderStatus.ACCEPTED
        if state == UpbitOrderState.DONE:
            return OrderStatus.FILLED
        # cancel / prevented
        if fully_executed:
            return OrderStatus.FILLED
        return OrderStatus.CANCELED
