"""
Exposure and PnL book: per-instrument figures kept current incrementally, summed per currency.

Pure bookkeeping (no NautilusTrader state, no I/O). The gate feeds it from NautilusTrader events: positions
and open orders set a leg's quantities, market data sets its price, the portfolio sets its PnL. Sums are kept
per quote currency and converted to the reporting currency only when read, so a check costs O(currencies),
not O(instruments), and an FX move needs no re-summing.

Exposure of a leg is its *worst-case* absolute position, ``max(|pos + pending buys|, |pos - pending sells|)``,
valued at its latest price: in-flight orders count before they fill.
"""

from __future__ import annotations

from collections.abc import Hashable
from collections.abc import Mapping
from decimal import Decimal

from arb_plugin.risk.rules import worst_case_quantity

ZERO = Decimal(0)


class Leg:
    """One instrument's position, pending orders, price and PnL (in its own currencies)."""

    __slots__ = (
        "currency",
        "instrument_id",
        "notional",
        "pending_buys",
        "pending_sells",
        "pnl",
        "pnl_currency",
        "pnl_ts",
        "position",
        "price",
        "price_ts",
        "symbol",
        "worst",
    )

    def __init__(self, instrument_id: Hashable, symbol: str, currency: str) -> None:
        self.instrument_id = instrument_id
        self.symbol = symbol
        self.currency = currency  # quote currency: the currency of price and notional
        self.position = ZERO  # signed base units
        self.pending_buys = ZERO
        self.pending_sells = ZERO
        self.worst = ZERO  # worst-case absolute position, base units
        self.price: Decimal | None = None
        self.price_ts = 0
        self.notional = ZERO  # worst * price, in `currency` (0 while unpriced)
        self.pnl = ZERO  # realized + unrealized, in `pnl_currency`
        self.pnl_currency = currency
        self.pnl_ts = 0  # when the PnL was last taken from the portfolio

    def worst_after(self, signed_qty: Decimal) -> Decimal:
        """Worst-case absolute position if an order of ``signed_qty`` (+ buy, - sell) is added."""
        if signed_qty >= 0:
            return worst_case_quantity(self.position, self.pending_buys + signed_qty, self.pending_sells)
        return worst_case_quantity(self.position, self.pending_buys, self.pending_sells - signed_qty)

    def __repr__(self) -> str:
        return (
            f"Leg({self.instrument_id}, pos={self.position}, buys={self.pending_buys}, "
            f"sells={self.pending_sells}, price={self.price}, pnl={self.pnl} {self.pnl_currency})"
        )


class ExposureBook:
    """Every guarded instrument's :class:`Leg`, with per-currency sums of notional and PnL."""

    def __init__(self) -> None:
        self.legs: dict[Hashable, Leg] = {}
        self.notional_by_ccy: dict[str, Decimal] = {}
        self.pnl_by_ccy: dict[str, Decimal] = {}
        self._unpriced: set[Hashable] = set()  # legs with exposure but no price yet

    def leg(self, instrument_id: Hashable) -> Leg | None:
        return self.legs.get(instrument_id)

    def add_leg(self, instrument_id: Hashable, symbol: str, currency: str) -> Leg:
        leg = self.legs.get(instrument_id)
        if leg is None:
            leg = Leg(instrument_id, symbol, currency)
            self.legs[instrument_id] = leg
        return leg

    @property
    def unpriced(self) -> set[Hashable]:
        """Instruments holding exposure whose price is unknown (their notional is not counted)."""
        return self._unpriced

    def set_quantities(
        self,
        leg: Leg,
        position: Decimal,
        pending_buys: Decimal,
        pending_sells: Decimal,
    ) -> None:
        """Set a leg's position and pending orders; update its notional and the currency sum."""
        leg.position = position
        leg.pending_buys = pending_buys
        leg.pending_sells = pending_sells
        leg.worst = worst_case_quantity(position, pending_buys, pending_sells)
        self._revalue(leg)

    def set_price(self, leg: Leg, price: Decimal, ts: int) -> None:
        """Set a leg's latest price; update its notional and the currency sum."""
        leg.price = price
        leg.price_ts = ts
        self._revalue(leg)

    def set_pnl(self, leg: Leg, pnl: Decimal, currency: str) -> None:
        """Set a leg's PnL (realized + unrealized) and update the currency sum."""
        if currency != leg.pnl_currency:
            self._add(self.pnl_by_ccy, leg.pnl_currency, -leg.pnl)
            leg.pnl = ZERO
            leg.pnl_currency = currency
        delta = pnl - leg.pnl
        if delta:
            leg.pnl = pnl
            self._add(self.pnl_by_ccy, currency, delta)

    def _revalue(self, leg: Leg) -> None:
        if leg.price is None:
            notional = ZERO
            if leg.worst:
                self._unpriced.add(leg.instrument_id)
            else:
                self._unpriced.discard(leg.instrument_id)
        else:
            notional = leg.worst * leg.price
            self._unpriced.discard(leg.instrument_id)
        delta = notional - leg.notional
        if delta:
            leg.notional = notional
            self._add(self.notional_by_ccy, leg.currency, delta)

    @staticmethod
    def _add(sums: dict[str, Decimal], currency: str, delta: Decimal) -> None:
        sums[currency] = sums.get(currency, ZERO) + delta

    @staticmethod
    def convert(sums: Mapping[str, Decimal], xrates: Mapping[str, Decimal]) -> Decimal:
        """Sum per-currency amounts in the reporting currency; ``xrates`` maps currency -> rate."""
        total = ZERO
        for currency, amount in sums.items():
            if amount:
                total += amount * xrates[currency]
        return total
