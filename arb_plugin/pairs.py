"""
Pair definitions: which Binance instrument, Upbit instrument and FX instrument make one arbitrage pair.

A pair's ``symbol`` (the Binance raw symbol, e.g. ``BTCUSDT``) names it everywhere: in the Redis keyspace,
in order tags and in reports.
"""

from __future__ import annotations

from nautilus_trader.config import NautilusConfig
from nautilus_trader.model.identifiers import InstrumentId


class ArbitragePairConfig(NautilusConfig, frozen=True):
    """
    One arbitrage pair.

    Parameters
    ----------
    binance_instrument_id : InstrumentId
        The USDT-quoted leg, e.g. ``BTCUSDT.BINANCE``.
    upbit_instrument_id : InstrumentId
        The KRW-quoted leg, e.g. ``KRW-BTC.UPBIT``.
    fx_instrument_id : InstrumentId
        USDT priced in KRW, e.g. ``KRW-USDT.UPBIT``.
    """

    binance_instrument_id: InstrumentId
    upbit_instrument_id: InstrumentId
    fx_instrument_id: InstrumentId

    @property
    def symbol(self) -> str:
        """The pair's name: the Binance leg's symbol."""
        return self.binance_instrument_id.symbol.value


def upbit_symbol_for(binance_symbol: str, quote: str = "USDT") -> str:
    """Map a Binance spot symbol to the Upbit KRW market of the same base (``BTCUSDT`` -> ``KRW-BTC``)."""
    if not binance_symbol.endswith(quote) or len(binance_symbol) == len(quote):
        raise ValueError(f"{binance_symbol!r} is not a {quote}-quoted Binance symbol")
    return f"KRW-{binance_symbol[: -len(quote)]}"


def make_pair(base: str, fx_instrument_id: str = "KRW-USDT.UPBIT") -> ArbitragePairConfig:
    """The pair ``{base}USDT.BINANCE`` / ``KRW-{base}.UPBIT`` priced through ``fx_instrument_id``."""
    return ArbitragePairConfig(
        binance_instrument_id=InstrumentId.from_str(f"{base}USDT.BINANCE"),
        upbit_instrument_id=InstrumentId.from_str(f"KRW-{base}.UPBIT"),
        fx_instrument_id=InstrumentId.from_str(fx_instrument_id),
    )
