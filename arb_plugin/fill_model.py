"""
Backtest fill model for bar data: fills at the close -/+ an assumed half-spread.

1-minute bars carry no bid/ask. The strategy prices a bar at ``close -/+ bar_half_spread_bps``
(:func:`arb_plugin.pricing.bar_bid_ask`); this fill model makes the simulated venue fill at the same prices,
so a backtest on bars pays the spread it assumed instead of trading at the close for free. It plugs into
NautilusTrader through ``BacktestVenueConfig(fill_model=ImportableFillModelConfig(...))``.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.backtest.models import FillModel
from nautilus_trader.config import FillModelConfig
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.model.orders import Order

from arb_plugin.pricing import bar_bid_ask


class HalfSpreadFillModelConfig(FillModelConfig, frozen=True):
    """
    Configuration for :class:`HalfSpreadFillModel`.

    Parameters
    ----------
    half_spread_bps : str
        Half the assumed bid/ask spread around the last price, in basis points (a decimal string).
    """

    half_spread_bps: str = "2"


class HalfSpreadFillModel(FillModel):
    """Fill every order against a one-level book at ``last -/+ half_spread_bps`` (unlimited size)."""

    def __init__(self, config: HalfSpreadFillModelConfig | None = None) -> None:
        config = config or HalfSpreadFillModelConfig()
        super().__init__(config=config)
        self.half_spread_bps = Decimal(config.half_spread_bps)

    def get_orderbook_for_fill_simulation(
        self,
        instrument: Instrument,
        order: Order,
        best_bid: Price,
        best_ask: Price,
    ) -> OrderBook:
        last = (best_bid.as_decimal() + best_ask.as_decimal()) / 2
        bid, ask = bar_bid_ask(instrument, last, self.half_spread_bps)
        size = Quantity(10**9, instrument.size_precision)
        book = OrderBook(instrument.id, BookType.L2_MBP)
        book.add(BookOrder(OrderSide.BUY, bid, size, 1), 0, 0)
        book.add(BookOrder(OrderSide.SELL, ask, size, 2), 0, 0)
        return book
