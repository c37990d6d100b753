"""
Instrument definitions for backtests and catalogs (one source of truth for each spec).

Live nodes take their instruments from the venue providers (NautilusTrader's Binance provider and
``adapters.upbit``); the backtest catalog is written from the definitions below, built the way those
providers build them so that catalogued data and live data have the same precisions (reference §9 P1):

- ``BTCUSDT.BINANCE``: parsed from a Binance ``/api/v3/exchangeInfo`` symbol entry exactly as
  NautilusTrader's ``BinanceSpotInstrumentProvider`` does (precision from the filter strings, so price
  precision 8 for ``tickSize="0.01000000"``); fees are Binance's public spot schedule (0.1 %), which the
  live provider only learns with API keys.
- ``KRW-BTC.UPBIT``: built by the Upbit adapter's own ``upbit_currency_pair`` (the live provider's
  builder) with Upbit's documented KRW-market terms: the KRW tick table (``adapters.upbit.tick_scheme``,
  scheme ``UPBIT_KRW``), 0.05 % maker/taker fee, 5,000 KRW minimum order.
- ``KRW-USDT.UPBIT``: the FX instrument pricing USDT in KRW. Live it is Upbit's KRW-USDT market; the
  shipped catalog fills it with the Bank of Korea's daily USD/KRW rate as a proxy (no public Upbit
  KRW-USDT minute history exists, see ``catalog/SOURCES.md``), hence its 4-decimal precision.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from nautilus_trader.model.currencies import KRW
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Symbol
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.instruments import CurrencyPair
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Currency
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.upbit.constants import UPBIT_DEFAULT_FEES
from adapters.upbit.constants import UPBIT_DEFAULT_MIN_TOTAL
from adapters.upbit.constants import UPBIT_SIZE_PRECISION
from adapters.upbit.providers import upbit_currency_pair
from adapters.upbit.tick_scheme import krw_tick_size

BINANCE = Venue("BINANCE")
UPBIT = Venue("UPBIT")

BINANCE_SPOT_FEE = Decimal("0.001")  # Binance spot regular tier, maker = taker (binance.com/en/fee/schedule)
FX_PROXY_PRECISION = 4


def _precision(text: str) -> int:
    return abs(int(Decimal(text).as_tuple().exponent))


@cache
def binance_spot_symbol_info(symbol: str = "BTCUSDT") -> dict[str, Any]:
    """Return the shipped ``exchangeInfo`` symbol entry (``arb_plugin/resources/binance_spot_<sym>.json``)."""
    name = f"binance_spot_{symbol.lower()}.json"
    text = resources.files("arb_plugin.resources").joinpath(name).read_text(encoding="utf-8")
    info: dict[str, Any] = json.loads(text)
    return info


def binance_spot_instrument(symbol_info: dict[str, Any], fee: Decimal = BINANCE_SPOT_FEE) -> CurrencyPair:
    """
    Build a Binance spot ``CurrencyPair`` the way NautilusTrader's live Binance spot provider does.

    Parameters
    ----------
    symbol_info : dict
        One entry of ``GET /api/v3/exchangeInfo`` ``symbols`` as Binance sends it.
    fee : Decimal
        Maker and taker fee rate.
    """
    filters = {f["filterType"]: f for f in symbol_info["filters"]}
    price_filter = filters["PRICE_FILTER"]
    lot_size = filters["LOT_SIZE"]
    notional = filters.get("MIN_NOTIONAL") or filters.get("NOTIONAL") or {}
    price_precision = _precision(price_filter["tickSize"])
    size_precision = _precision(lot_size["stepSize"])
    base = Currency.from_str(symbol_info["baseAsset"])
    quote = Currency.from_str(symbol_info["quoteAsset"])
    symbol = Symbol(symbol_info["symbol"])
    return CurrencyPair(
        instrument_id=InstrumentId(symbol, BINANCE),
        raw_symbol=symbol,
        base_currency=base,
        quote_currency=quote,
        price_precision=price_precision,
        size_precision=size_precision,
        price_increment=Price.from_str(price_filter["tickSize"]),
        size_increment=Quantity.from_str(lot_size["stepSize"]),
        lot_size=Quantity.from_str(lot_size["stepSize"]),
        max_quantity=Quantity(Decimal(lot_size["maxQty"]), size_precision),
        min_quantity=Quantity(Decimal(lot_size["minQty"]), size_precision),
        max_notional=Money(notional["maxNotional"], quote) if "maxNotional" in notional else None,
        min_notional=Money(notional["minNotional"], quote) if "minNotional" in notional else None,
        max_price=Price(min(Decimal(price_filter["maxPrice"]), Decimal(4294967296)), price_precision),
        min_price=Price(max(Decimal(price_filter["minPrice"]), Decimal(0)), price_precision),
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=fee,
        taker_fee=fee,
        ts_event=0,
        ts_init=0,
    )


def upbit_krw_instrument(base_code: str, reference_price: Decimal) -> CurrencyPair:
    """
    Build an Upbit KRW-market ``CurrencyPair`` (``KRW-{base}.UPBIT``) with Upbit's documented terms.

    Parameters
    ----------
    base_code : str
        The base asset, e.g. ``"BTC"``.
    reference_price : Decimal
        A typical price in KRW: sets ``price_increment`` to the tick of its band. Order prices are rounded
        with the full tick table (tick scheme ``UPBIT_KRW``), which follows the price level.
    """
    return upbit_currency_pair(f"KRW-{base_code}", krw_tick_size(reference_price), reference_price)


def fx_proxy_instrument(instrument_id: str = "KRW-USDT.UPBIT") -> CurrencyPair:
    """
    Build the backtest FX instrument (USDT priced in KRW) carrying the daily USD/KRW proxy series.

    It is a price source only (never traded in a backtest); precision 4 keeps the proxy's values exact.
    """
    iid = InstrumentId.from_str(instrument_id)
    increment = Price(Decimal(1).scaleb(-FX_PROXY_PRECISION), FX_PROXY_PRECISION)
    return CurrencyPair(
        instrument_id=iid,
        raw_symbol=iid.symbol,
        base_currency=USDT,
        quote_currency=KRW,
        price_precision=FX_PROXY_PRECISION,
        size_precision=UPBIT_SIZE_PRECISION,
        price_increment=increment,
        size_increment=Quantity(Decimal(1).scaleb(-UPBIT_SIZE_PRECISION), UPBIT_SIZE_PRECISION),
        lot_size=None,
        max_quantity=None,
        min_quantity=None,
        max_notional=None,
        min_notional=Money(UPBIT_DEFAULT_MIN_TOTAL["KRW"], KRW),
        max_price=None,
        min_price=None,
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=UPBIT_DEFAULT_FEES["KRW"],
        taker_fee=UPBIT_DEFAULT_FEES["KRW"],
        ts_event=0,
        ts_init=0,
    )


def btcusdt_binance() -> CurrencyPair:
    """``BTCUSDT.BINANCE`` spot."""
    return binance_spot_instrument(binance_spot_symbol_info("BTCUSDT"))


def krw_btc_upbit() -> CurrencyPair:
    """``KRW-BTC.UPBIT`` (tick 1,000 KRW: BTC trades far above 2,000,000 KRW)."""
    return upbit_krw_instrument("BTC", reference_price=Decimal(100_000_000))


def default_instruments() -> list[Instrument]:
    """The instruments of the shipped catalog: both legs of the BTC pair and the FX instrument."""
    return [btcusdt_binance(), krw_btc_upbit(), fx_proxy_instrument()]
