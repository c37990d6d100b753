"""
Upbit KRW-market tick sizes (호가 단위): the table in force since 2025-07-31.

This module is the one home of the table. ``UPBIT_KRW_TICK_SCHEME`` exposes it to NautilusTrader as a
registered ``TickScheme`` (set ``tick_scheme_name="UPBIT_KRW"`` on a KRW instrument, then
``instrument.next_bid_price(...)`` / ``next_ask_price(...)`` follow the table); :func:`round_krw_price` is
the exact ``Decimal`` form used wherever a KRW order price is rounded.
"""

from __future__ import annotations

from decimal import ROUND_CEILING
from decimal import ROUND_FLOOR
from decimal import ROUND_HALF_EVEN
from decimal import Decimal
from typing import Literal

from nautilus_trader.model.objects import Price
from nautilus_trader.model.tick_scheme.base import TickScheme
from nautilus_trader.model.tick_scheme.base import get_tick_scheme
from nautilus_trader.model.tick_scheme.base import register_tick_scheme

# (lower bound of the price band, inclusive; tick), highest band first. docs.upbit.com krw-market-info,
# as transcribed in shared/reference/upbit-api.md §5.1.
KRW_TICK_TABLE: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal("2000000"), Decimal("1000")),
    (Decimal("1000000"), Decimal("1000")),
    (Decimal("500000"), Decimal("500")),
    (Decimal("100000"), Decimal("100")),
    (Decimal("50000"), Decimal("50")),
    (Decimal("10000"), Decimal("10")),
    (Decimal("5000"), Decimal("5")),
    (Decimal("1000"), Decimal("1")),
    (Decimal("100"), Decimal("1")),
    (Decimal("10"), Decimal("0.1")),
    (Decimal("1"), Decimal("0.01")),
    (Decimal("0.1"), Decimal("0.001")),
    (Decimal("0.01"), Decimal("0.0001")),
    (Decimal("0.001"), Decimal("0.00001")),
    (Decimal("0.0001"), Decimal("0.000001")),
    (Decimal("0.00001"), Decimal("0.0000001")),
    (Decimal("0"), Decimal("0.00000001")),
)

Rounding = Literal["down", "up", "nearest"]
_MODES = {"down": ROUND_FLOOR, "up": ROUND_CEILING, "nearest": ROUND_HALF_EVEN}


def krw_tick_size(price: Decimal) -> Decimal:
    """Return the tick of the band that ``price`` (KRW, >= 0) falls in."""
    if price < 0:
        raise ValueError(f"KRW price must be >= 0, was {price}")
    for lower, tick in KRW_TICK_TABLE:
        if price >= lower:
            return tick
    raise AssertionError("unreachable: the last band starts at 0")


def round_krw_price(price: Decimal, rounding: Rounding) -> Decimal:
    """
    Round a KRW price onto Upbit's grid.

    Parameters
    ----------
    price : Decimal
        The price in KRW.
    rounding : {"down", "up", "nearest"}
        ``down`` never rounds above ``price`` (a buy limit that must not exceed a bound), ``up`` never below
        (a sell limit that must not undercut a bound), ``nearest`` rounds half-even.

    Returns
    -------
    Decimal
        A price on the grid; every band's lower bound is a multiple of its own tick, so rounding up across a
        band edge lands on the grid too.
    """
    tick = krw_tick_size(price)
    out = (price / tick).quantize(Decimal(1), rounding=_MODES[rounding]) * tick
    return out.quantize(krw_tick_size(out))


def _tick_below(price: Decimal) -> Decimal:
    # the tick of the band holding the prices just below ``price`` (finer when ``price`` is a band's edge)
    for lower, tick in KRW_TICK_TABLE:
        if price > lower:
            return tick
    raise ValueError(f"no KRW price below {price}")


def _precision(tick: Decimal) -> int:
    return max(0, -tick.as_tuple().exponent)  # type: ignore[operator]


class UpbitKrwTickScheme(TickScheme):
    """NautilusTrader ``TickScheme`` over :data:`KRW_TICK_TABLE` (exact ``Decimal`` arithmetic inside)."""

    def __init__(self, name: str = "UPBIT_KRW") -> None:
        smallest = KRW_TICK_TABLE[-1][1]
        super().__init__(
            name=name,
            min_tick=Price(smallest, _precision(smallest)),
            max_tick=Price.from_str("1000000000"),
        )

    @staticmethod
    def _price(value: Decimal) -> Price:
        tick = krw_tick_size(value)
        return Price(value.quantize(tick), _precision(tick))

    def next_ask_price(self, value: float, n: int = 0) -> Price:
        """Return the price ``n`` ask ticks at or above ``value``."""
        if n < 0:
            raise ValueError(f"n must be >= 0, was {n}")
        price = round_krw_price(Decimal(repr(value)), "up")
        for _ in range(n):
            price += krw_tick_size(price)
        return self._price(price)

    def next_bid_price(self, value: float, n: int = 0) -> Price:
        """Return the price ``n`` bid ticks at or below ``value``."""
        if n < 0:
            raise ValueError(f"n must be >= 0, was {n}")
        price = round_krw_price(Decimal(repr(value)), "down")
        for _ in range(n):
            price -= _tick_below(price)
        return self._price(price)


def _register() -> UpbitKrwTickScheme:
    try:
        existing = get_tick_scheme("UPBIT_KRW")
    except KeyError:
        existing = None
    if isinstance(existing, UpbitKrwTickScheme):
        return existing
    scheme = UpbitKrwTickScheme()
    register_tick_scheme(scheme)
    return scheme


UPBIT_KRW_TICK_SCHEME = _register()
