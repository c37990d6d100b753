"""
Exchange REST order payloads: create/get/cancel/list (``/v1/order(s)``), ``cancel_and_new``, batch cancels.

Numbers are decimal strings. ``price`` is the unit price, or the quote total for ``ord_type=price``
(market buy); ``volume`` is absent for ``ord_type=price``. A market buy normally ends in ``cancel`` with an
executed volume: that is a fill, not a cancel (upbit-api.md §1.3).
"""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_EVEN
from decimal import Decimal

import msgspec
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import FillReport
from nautilus_trader.execution.reports import OrderStatusReport
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.enums import OrderStatus
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.model.objects import Currency

from adapters.upbit.enums import UpbitEnumParser
from adapters.upbit.enums import UpbitOrderSide
from adapters.upbit.enums import UpbitOrderState
from adapters.upbit.enums import UpbitOrderType
from adapters.upbit.enums import UpbitTimeInForce
from adapters.upbit.parsing import parse_iso_to_nanos
from adapters.upbit.parsing import parse_money
from adapters.upbit.parsing import parse_price
from adapters.upbit.parsing import parse_quantity

_ENUMS = UpbitEnumParser()
_ZERO = Decimal(0)
_CTX = decimal.Context(prec=80, rounding=ROUND_HALF_EVEN)
_FEE_EXP = Decimal(1).scaleb(-16)


class UpbitOrderTrade(msgspec.Struct, frozen=True):
    """A trade inside ``GET /v1/order`` ``trades[]`` (no per-trade fee in current responses)."""

    uuid: str
    price: Decimal
    volume: Decimal
    funds: Decimal
    created_at: str
    market: str | None = None
    side: UpbitOrderSide | None = None
    trend: str | None = None


class UpbitOrder(msgspec.Struct, frozen=True):
    """An order snapshot as returned by create, get, cancel and the order lists."""

    uuid: str
    side: UpbitOrderSide
    ord_type: UpbitOrderType
    state: UpbitOrderState
    market: str
    created_at: str
    executed_volume: Decimal = _ZERO
    price: Decimal | None = None
    volume: Decimal | None = None
    remaining_volume: Decimal | None = None
    executed_funds: Decimal | None = None
    reserved_fee: Decimal | None = None
    remaining_fee: Decimal | None = None
    paid_fee: Decimal = _ZERO
    locked: Decimal | None = None
    prevented_volume: Decimal | None = None
    prevented_locked: Decimal | None = None
    trades_count: int = 0
    time_in_force: UpbitTimeInForce | None = None
    identifier: str | None = None
    smp_type: str | None = None
    trades: list[UpbitOrderTrade] | None = None

    @property
    def is_quote_amount(self) -> bool:
        """Return whether ``price`` is a quote total (market buy, or best-price buy) and ``volume`` absent."""
        return self.side == UpbitOrderSide.BID and self.ord_type in (
            UpbitOrderType.PRICE,
            UpbitOrderType.BEST,
        )

    @property
    def is_open(self) -> bool:
        """Return whether the order can still trade."""
        return self.state in (UpbitOrderState.WAIT, UpbitOrderState.WATCH)

    @property
    def is_fully_executed(self) -> bool:
        """
        Return whether the order executed everything it could.

        A quote-amount buy that executed anything and ended (``cancel`` returns the dust) is fully executed.
        """
        if self.state == UpbitOrderState.DONE:
            return True
        if self.executed_volume <= 0:
            return False
        if self.is_quote_amount:
            return not self.is_open
        return self.remaining_volume is not None and self.remaining_volume == 0

    def order_status(self) -> OrderStatus:
        """Return the order's ``OrderStatus`` (``cancel`` with everything executed is ``FILLED``)."""
        return _ENUMS.parse_order_status(self.state, self.executed_volume > 0, self.is_fully_executed)

    def order_type(self) -> OrderType:
        """Return the NautilusTrader order type (``limit`` -> LIMIT, otherwise MARKET)."""
        return _ENUMS.parse_order_type(self.ord_type)

    def time_in_force_nautilus(self) -> TimeInForce:
        """Return the order's time in force (market orders never rest: IOC)."""
        if self.ord_type in (UpbitOrderType.PRICE, UpbitOrderType.MARKET):
            return TimeInForce.IOC
        return _ENUMS.parse_time_in_force(self.time_in_force)

    def average_price(self) -> Decimal | None:
        """Return the volume-weighted fill price from ``executed_funds`` or ``trades[]``."""
        if self.executed_volume <= 0:
            return None
        if self.executed_funds is not None and self.executed_funds > 0:
            return self.executed_funds / self.executed_volume
        if self.trades:
            funds = sum((t.funds for t in self.trades), _ZERO)
            volume = sum((t.volume for t in self.trades), _ZERO)
            if volume > 0:
                return funds / volume
        return None

    def ts_last(self) -> int:
        """Return the time of the last trade, else the creation time (ns)."""
        ts = parse_iso_to_nanos(self.created_at)
        for trade in self.trades or ():
            ts = max(ts, parse_iso_to_nanos(trade.created_at))
        return ts

    def parse_to_order_status_report(
        self,
        account_id: AccountId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId | None,
        price_precision: int,
        size_precision: int,
        ts_init: int,
    ) -> OrderStatusReport:
        """
        Return the order as an ``OrderStatusReport``.

        For a quote-amount buy (no ``volume``) the quantity is the executed volume, or the quote amount
        when nothing executed (there is no base quantity to report then).
        """
        if self.volume is not None and self.volume > 0:
            quantity = self.volume
        elif self.executed_volume > 0:
            quantity = self.executed_volume
        else:
            quantity = self.price or _ZERO
        avg_px = self.average_price()
        return OrderStatusReport(
            account_id=account_id,
            instrument_id=instrument_id,
            client_order_id=client_order_id,
            venue_order_id=VenueOrderId(self.uuid),
            order_side=_ENUMS.parse_upbit_order_side(self.side),
            order_type=self.order_type(),
            time_in_force=self.time_in_force_nautilus(),
            order_status=self.order_status(),
            price=(
                parse_price(self.price, price_precision)
                if self.ord_type == UpbitOrderType.LIMIT and self.price is not None
                else None
            ),
            quantity=parse_quantity(quantity, size_precision),
            filled_qty=parse_quantity(self.executed_volume, size_precision),
            avg_px=avg_px,
            post_only=self.time_in_force == UpbitTimeInForce.POST_ONLY,
            report_id=UUID4(),
            ts_accepted=parse_iso_to_nanos(self.created_at),
            ts_last=self.ts_last(),
            ts_init=ts_init,
        )

    def parse_to_fill_reports(
        self,
        account_id: AccountId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId | None,
        price_precision: int,
        size_precision: int,
        commission_currency: Currency,
        ts_init: int,
    ) -> list[FillReport]:
        """
        Return one ``FillReport`` per trade in ``trades[]``.

        REST trades carry no fee: ``paid_fee`` is split across them in proportion to their funds (the last
        trade takes the remainder, so the commissions add up to ``paid_fee`` exactly before rounding to the
        currency). Market, quote-amount and best-price orders are takers; for limit orders REST does not say.
        """
        trades = self.trades or []
        if not trades:
            return []
        total_funds = sum((t.funds for t in trades), _ZERO)
        liquidity = LiquiditySide.NO_LIQUIDITY_SIDE if self.ord_type == UpbitOrderType.LIMIT else LiquiditySide.TAKER
        order_side = _ENUMS.parse_upbit_order_side(self.side)
        reports: list[FillReport] = []
        allocated = _ZERO
        for i, trade in enumerate(trades):
            if i == len(trades) - 1:
                fee = self.paid_fee - allocated
            elif total_funds > 0:
                fee = _CTX.quantize(self.paid_fee * trade.funds / total_funds, _FEE_EXP)
            else:
                fee = _ZERO
            allocated += fee
            reports.append(
                FillReport(
                    account_id=account_id,
                    instrument_id=instrument_id,
                    venue_order_id=VenueOrderId(self.uuid),
                    client_order_id=client_order_id,
                    trade_id=TradeId(trade.uuid),
                    order_side=order_side,
                    last_qty=parse_quantity(trade.volume, size_precision),
                    last_px=parse_price(trade.price, price_precision),
                    commission=parse_money(fee, commission_currency),
                    liquidity_side=liquidity,
                    report_id=UUID4(),
                    ts_event=parse_iso_to_nanos(trade.created_at),
                    ts_init=ts_init,
                ),
            )
        return reports


class UpbitCancelAndNewResult(UpbitOrder, frozen=True):
    """``POST /v1/orders/cancel_and_new`` (HTTP 200): the **old** order's snapshot plus the new ids."""

    new_order_uuid: str | None = None
    new_order_identifier: str | None = None


class UpbitOrderRef(msgspec.Struct, frozen=True):
    """An order reference inside a batch cancel result."""

    uuid: str
    market: str | None = None
    identifier: str | None = None


class UpbitBatchCancelPart(msgspec.Struct, frozen=True):
    """``success`` / ``failed`` half of a batch cancel result."""

    count: int = 0
    orders: list[UpbitOrderRef] = []


class UpbitBatchCancelResult(msgspec.Struct, frozen=True):
    """``DELETE /v1/orders/open`` and ``DELETE /v1/orders/uuids`` result."""

    success: UpbitBatchCancelPart = UpbitBatchCancelPart()
    failed: UpbitBatchCancelPart = UpbitBatchCancelPart()
