"""
Order-price rounding onto each venue's grid, and the bid/ask assumed around a bar's close.

Upbit KRW prices follow Upbit's tick table (``adapters.upbit.tick_scheme``), which depends on the price
level; every other instrument uses its fixed ``price_increment``. Used by the strategy (order prices, bar
quotes) and by the backtest fill model, so both price a bar the same way.
"""

from __future__ import annotations

from decimal import ROUND_CEILING
from decimal import ROUND_FLOOR
from decimal import Decimal
from typing import Literal

from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import FIXED_PRECISION
from nautilus_trader.model.objects import Price

from adapters.upbit.tick_scheme import round_krw_price
from arb_plugin.spread import bar_quote

Rounding = Literal["down", "up"]


def uses_krw_tick_table(instrument: Instrument) -> bool:
    """Whether the instrument's order prices follow Upbit's KRW tick table."""
    return instrument.id.venue.value == "UPBIT" and instrument.quote_currency.code == "KRW"


def round_price(instrument: Instrument, price: Decimal, rounding: Rounding) -> Price:
    """Round ``price`` onto the instrument's grid: ``down`` never above, ``up`` never below."""
    if uses_krw_tick_table(instrument):
        value = round_krw_price(price, rounding)
    else:
        increment = instrument.price_increment.as_decimal()
        mode = ROUND_FLOOR if rounding == "down" else ROUND_CEILING
        value = (price / increment).to_integral_value(rounding=mode) * increment
    return Price(value, instrument.price_precision)


def bar_bid_ask(instrument: Instrument, close: Decimal, half_spread_bps: Decimal) -> tuple[Price, Price]:
    """The bid (rounded down) and ask (rounded up) assumed around ``close`` with ``half_spread_bps``."""
    bid, ask = bar_quote(close, half_spread_bps)
    return round_price(instrument, bid, "down"), round_price(instrument, ask, "up")


def raw_to_decimal(raw: int) -> Decimal:
    """A NautilusTrader raw fixed-point value as an exact ``Decimal``."""
    return Decimal(raw).scaleb(-FIXED_PRECISION)
