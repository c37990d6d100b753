"""
Exact number and time parsing for Upbit payloads.

Upbit writes numbers three ways (upbit-api.md §1): quotation REST as JSON numbers, exchange REST as decimal
strings, WebSocket as JSON numbers that may be in exponent form (``1.16539E8``, ``7.9276E-4``) or carry more
digits than a float64 holds (``1386929.37231066771348207123``). The schemas decode all of them into
``Decimal`` (msgspec keeps the digits); this module turns a ``Decimal`` into ``Price``/``Quantity``/``Money``
through their raw fixed-point integers, never through ``float``. ``Price(float)`` would round, and
``Price.from_str("7.9276E-4")`` gives ``0.0008`` in NautilusTrader 1.231 (it does not read exponents).
"""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_EVEN
from decimal import Decimal

import pandas as pd
from nautilus_trader.model.objects import FIXED_PRECISION
from nautilus_trader.model.objects import Currency
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

# Wide enough that shifting the exponent of any Upbit number never rounds (myAsset has 27 digits).
_CTX = decimal.Context(prec=80, rounding=ROUND_HALF_EVEN)
SCALE: tuple[int, ...] = tuple(10 ** (FIXED_PRECISION - p) for p in range(FIXED_PRECISION + 1))
POW10: tuple[Decimal, ...] = tuple(Decimal(10) ** p for p in range(FIXED_PRECISION + 1))
_MS_TO_NS = 1_000_000


def round_units(value: Decimal, precision: int) -> int:
    """Return ``value * 10**precision`` rounded half-even to an integer, exactly (80-digit context)."""
    scaled = _CTX.scaleb(value, precision)
    return int(scaled.to_integral_value(rounding=ROUND_HALF_EVEN, context=_CTX))


def decimal_to_raw(value: Decimal, precision: int) -> int:
    """
    Return ``value`` as a NautilusTrader raw fixed-point integer at ``precision``.

    Exact: ``value * 10**precision`` only shifts the exponent, so it is exact for any value whose integer part
    at that precision has fewer than 28 digits (and if rounding at 28 significant digits ever made the
    product integral, the correctly rounded integer is the same). Values with more decimals than
    ``precision`` are rounded half-even in an 80-digit context. The hot paths inline the same steps.
    """
    scaled = value * POW10[precision]
    units = int(scaled)
    if units != scaled:
        units = round_units(value, precision)
    return units * SCALE[precision]


def parse_price(value: Decimal, precision: int) -> Price:
    """Return ``value`` as a ``Price`` at ``precision`` (exact; half-even beyond the precision)."""
    return Price.from_raw(decimal_to_raw(value, precision), precision)


def parse_quantity(value: Decimal, precision: int) -> Quantity:
    """Return ``value`` as a ``Quantity`` at ``precision`` (exact; half-even beyond the precision)."""
    return Quantity.from_raw(decimal_to_raw(value, precision), precision)


def parse_money(value: Decimal, currency: Currency) -> Money:
    """
    Return ``value`` as ``Money`` in ``currency``.

    Upbit carries sub-unit fractions of KRW (balances, fees, ``"50000.47088291"``) while NautilusTrader's
    KRW has precision 0 (ISO 4217): such amounts are rounded half-even to the currency's precision.
    """
    return Money.from_raw(decimal_to_raw(value, currency.precision), currency)


def decimal_precision(value: Decimal) -> int:
    """Return the number of decimals ``value`` is written with (0 for integers and exponent forms)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    return max(0, -exponent)


def format_decimal(value: Decimal) -> str:
    """Return ``value`` as a plain decimal string without exponent or trailing zeros (``"0.0005"``)."""
    return format(value.normalize(), "f")


def millis_to_nanos(ms: int) -> int:
    """Return Unix milliseconds as nanoseconds."""
    return ms * _MS_TO_NS


def parse_iso_to_nanos(value: str) -> int:
    """
    Return an ISO-8601 timestamp as Unix nanoseconds.

    Upbit order times carry an offset (``2026-03-22T21:42:22+09:00``) and sometimes microseconds;
    candle times are naive UTC (``candle_date_time_utc``).
    """
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.value)


def nanos_to_iso(ns: int) -> str:
    """Return Unix nanoseconds as an ISO-8601 UTC string with seconds (for ``to``/``start_time`` params)."""
    return pd.Timestamp(ns, unit="ns", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
