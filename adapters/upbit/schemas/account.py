"""Exchange REST account payloads (``/v1/accounts``, ``/v1/orders/chance``); numbers are decimal strings."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from nautilus_trader.model.objects import AccountBalance
from nautilus_trader.model.objects import Currency

from adapters.upbit.parsing import parse_money


def _currency(code: str) -> Currency:
    # unknown codes become 8-decimal crypto currencies (NautilusTrader's non-strict lookup)
    return Currency.from_str(code, strict=False)


def parse_account_balance(currency_code: str, balance: Decimal, locked: Decimal) -> AccountBalance:
    """
    Return an ``AccountBalance``: Upbit's ``balance`` is the free amount, ``locked`` is in orders.

    Amounts finer than the currency's precision (sub-won KRW) are rounded half-even; ``total`` is the sum
    of the rounded parts so the balance always adds up.
    """
    currency = _currency(currency_code)
    free = parse_money(balance, currency)
    locked_money = parse_money(locked, currency)
    total = parse_money(balance + locked, currency)
    if total.raw != free.raw + locked_money.raw:
        total = free + locked_money
    return AccountBalance(total=total, locked=locked_money, free=free)


class UpbitBalance(msgspec.Struct, frozen=True):
    """One row of ``GET /v1/accounts`` (also ``bid_account``/``ask_account`` in orders/chance)."""

    currency: str
    balance: Decimal
    locked: Decimal
    avg_buy_price: Decimal | None = None
    avg_buy_price_modified: bool | None = None
    unit_currency: str | None = None

    def parse_to_account_balance(self) -> AccountBalance:
        """Return the row as an ``AccountBalance``."""
        return parse_account_balance(self.currency, self.balance, self.locked)


class UpbitChanceSide(msgspec.Struct, frozen=True):
    """``market.bid`` / ``market.ask`` of orders/chance."""

    currency: str
    min_total: Decimal
    price_unit: Decimal | None = None


class UpbitChanceMarket(msgspec.Struct, frozen=True):
    """``market`` of orders/chance: order types allowed per side and order total limits."""

    id: str
    bid: UpbitChanceSide
    ask: UpbitChanceSide
    name: str | None = None
    order_types: list[str] = []
    order_sides: list[str] = []
    bid_types: list[str] = []
    ask_types: list[str] = []
    max_total: Decimal | None = None
    state: str | None = None


class UpbitOrderChance(msgspec.Struct, frozen=True):
    """``GET /v1/orders/chance?market=``: fee rates (strings such as ``"0.0005"``), limits, both accounts."""

    bid_fee: Decimal
    ask_fee: Decimal
    market: UpbitChanceMarket
    maker_bid_fee: Decimal | None = None
    maker_ask_fee: Decimal | None = None
    bid_account: UpbitBalance | None = None
    ask_account: UpbitBalance | None = None

    @property
    def taker_fee(self) -> Decimal:
        """Return the larger of the two taker rates (bid and ask are equal on Upbit today)."""
        return max(self.bid_fee, self.ask_fee)

    @property
    def maker_fee(self) -> Decimal:
        """Return the larger of the two maker rates, or the taker rate when none is given."""
        rates = [r for r in (self.maker_bid_fee, self.maker_ask_fee) if r is not None]
        return max(rates) if rates else self.taker_fee
